"""Training the learned head, and cross-validated comparison with the baselines.

`train()` reads carefully labelled documents (weight 1), analysts' corrections from the
store (weight 1) and weakly labelled documents (weight `weak_weight`), computes the
classifier's features (vectors cached in a file beside the training data) and fits the
head. `cross_validate()` answers "is it better than the simple alternatives, and do the
weak labels help?" on held-out folds of the careful labels."""

from __future__ import annotations

import gzip
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from omvarld.nlp.classifier import DocFeatures, FocusAreaClassifier
from omvarld.nlp.evaluate import Evaluation, LabelledDoc, as_input, read_labelled, score
from omvarld.nlp.head import DEFAULT_HEAD, LearnedHead, TrainingSet, feature_matrix, train_head
from omvarld.nlp.vectorcache import VectorFile

log = logging.getLogger(__name__)

TRAINING_DIR = Path(__file__).resolve().parent / "data" / "training"
DEFAULT_CAREFUL = [TRAINING_DIR / "dev.jsonl.gz"]
DEFAULT_WEAK = [TRAINING_DIR / "weak-regeringen.jsonl.gz"]
DEFAULT_VECTORS = TRAINING_DIR / "vectors.npz"
DEFAULT_WEAK_WEIGHT = 0.3
VOCAB_RULE_MIN_TERMS = 2

Progress = Callable[[int, int], None]


def compute_features(classifier: FocusAreaClassifier, docs: Sequence[LabelledDoc],
                     progress: Progress | None = None, batch: int = 64) -> list[DocFeatures]:
    out: list[DocFeatures] = []
    for start in range(0, len(docs), batch):
        out.extend(classifier.features([as_input(d) for d in docs[start : start + batch]]))
        if progress:
            progress(min(start + batch, len(docs)), len(docs))
    return out


def _label_matrix(docs: Sequence[LabelledDoc], areas: Sequence[str]) -> np.ndarray:
    return np.array([[int(a in d.labels) for a in areas] for d in docs], dtype=np.int64)


@dataclass
class Corpus:
    careful: list[LabelledDoc]
    weak: list[LabelledDoc]
    files: dict[str, str] = field(default_factory=dict)  # file name → sha256 of its text


def text_sha256(path: Path) -> str:
    """The hash of a file's text, the same whether it is stored gzipped or not."""
    raw = Path(path).read_bytes()
    return hashlib.sha256(gzip.decompress(raw) if str(path).endswith(".gz") else raw
                          ).hexdigest()


def load_corpus(careful_files: Sequence[Path], weak_files: Sequence[Path],
                areas: Sequence[str], corrections: Sequence[LabelledDoc] = ()) -> Corpus:
    """The training corpus: the careful files, then `corrections` (analysts' corrected
    documents, careful too), and the weakly labelled files."""
    careful = [d for f in careful_files for d in read_labelled(Path(f), areas)]
    careful += corrections
    weak = [d for f in weak_files for d in read_labelled(Path(f), areas)]
    files = {Path(f).name: text_sha256(Path(f)) for f in [*careful_files, *weak_files]}
    return Corpus(careful=careful, weak=weak, files=files)


def train(classifier: FocusAreaClassifier, corpus: Corpus, *,
          weak_weight: float = DEFAULT_WEAK_WEIGHT, vectors: Path | None = DEFAULT_VECTORS,
          out: Path = DEFAULT_HEAD, progress: Progress | None = None) -> LearnedHead:
    """Fit the head on the corpus and save it to `out`."""
    if not corpus.careful and not corpus.weak:
        raise ValueError("no labelled documents to train from")
    docs = corpus.careful + corpus.weak
    cache = VectorFile(vectors) if vectors else None
    if cache is not None:
        classifier = classifier.with_cache(cache)
    try:
        feats = compute_features(classifier, docs, progress)
    finally:
        if cache is not None:
            cache.save()
    areas = classifier.areas.ids
    careful = np.array([True] * len(corpus.careful) + [False] * len(corpus.weak))
    data = TrainingSet(
        X=feature_matrix(feats, classifier.config.margin_scale),
        Y=_label_matrix(docs, areas),
        weights=np.where(careful, 1.0, weak_weight),
        careful=careful,
        keys=[as_input(d).key for d in docs],
    )
    head = train_head(data, areas, model_id=classifier.encoder.model_id,
                      margin_scale=classifier.config.margin_scale)
    head.meta["weak_weight"] = weak_weight
    head.meta["files"] = corpus.files
    head.save(out)
    log.info("saved %s to %s", head.version, out)
    return head


# -- cross-validation against baselines ---------------------------------------------------


def _predict(P: np.ndarray, thresholds: Sequence[float], areas: Sequence[str]
             ) -> list[list[str]]:
    return [[a for j, a in enumerate(areas) if row[j] >= thresholds[j]] for row in P]


def _tfidf_lr(train_texts: list[str], Y: np.ndarray, w: np.ndarray, test_texts: list[str],
              C: float = 4.0) -> np.ndarray:
    vec = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2, max_features=200_000)
    Xtr, Xte = vec.fit_transform(train_texts), vec.transform(test_texts)
    P = np.zeros((len(test_texts), Y.shape[1]))
    for j in range(Y.shape[1]):
        if Y[:, j].min() == Y[:, j].max():
            continue
        m = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        m.fit(Xtr, Y[:, j], sample_weight=w)
        P[:, j] = m.predict_proba(Xte)[:, 1]
    return P


def _embedding_lr(Xtr: np.ndarray, Y: np.ndarray, w: np.ndarray, Xte: np.ndarray,
                  C: float = 1.0) -> np.ndarray:
    mean, std = Xtr.mean(0), Xtr.std(0) + 1e-6
    P = np.zeros((len(Xte), Y.shape[1]))
    for j in range(Y.shape[1]):
        if Y[:, j].min() == Y[:, j].max():
            continue
        m = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        m.fit((Xtr - mean) / std, Y[:, j], sample_weight=w)
        P[:, j] = m.predict_proba((Xte - mean) / std)[:, 1]
    return P


def cross_validate(classifier: FocusAreaClassifier, docs: Sequence[LabelledDoc],
                   weak: Sequence[LabelledDoc] = (), *, folds: int = 5,
                   weak_weight: float = DEFAULT_WEAK_WEIGHT, seed: int = 0,
                   progress: Progress | None = None) -> dict[str, Evaluation]:
    """Out-of-fold predictions on `docs` for the product and the baselines. Weak
    documents only ever join the training side of a fold."""
    areas = classifier.areas.ids
    all_docs = list(docs) + list(weak)
    feats = compute_features(classifier, all_docs, progress)
    X = feature_matrix(feats, classifier.config.margin_scale)
    Y = _label_matrix(all_docs, areas)
    texts = [f"{d.title}\n\n{d.text}" for d in all_docs]
    n = len(docs)
    weak_idx = np.arange(n, len(all_docs))
    gold = [d.labels for d in docs]
    preds: dict[str, list[list[str] | None]] = {}

    def put(name: str, idx: np.ndarray, labels: list[list[str]]) -> None:
        slot = preds.setdefault(name, [None] * n)
        for i, lab in zip(idx, labels, strict=True):
            slot[i] = lab

    # rules that learn nothing: the same on every fold
    put("zero-shot (embedding margin + vocabulary)", np.arange(n), [
        [a for a, s, t in zip(areas, classifier.zero_shot_scores(f),
                              [classifier.config.threshold_for(a) for a in areas], strict=True)
         if s >= t] for f in feats[:n]])
    put(f"vocabulary rules (>= {VOCAB_RULE_MIN_TERMS} terms)", np.arange(n), [
        [a for a, v in zip(areas, f.vocab, strict=True) if v >= VOCAB_RULE_MIN_TERMS]
        for f in feats[:n]])

    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.arange(n)):
        variants = {"careful only": train_idx}
        if len(weak_idx):
            variants = {"careful + weak": np.concatenate([train_idx, weak_idx]), **variants}
        for variant, idx in variants.items():
            careful = idx < n
            data = TrainingSet(X=X[idx], Y=Y[idx], weights=np.where(careful, 1.0, weak_weight),
                               careful=careful, keys=[str(i) for i in idx])
            head = train_head(data, areas, model_id=classifier.encoder.model_id,
                              margin_scale=classifier.config.margin_scale,
                              folds=min(5, max(2, int(careful.sum()) // 10)))
            put(f"learned head ({variant})", test_idx, _predict(
                head.probabilities(X[test_idx]), [head.thresholds[a] for a in areas], areas))
        idx = variants[next(iter(variants))]
        w = np.where(idx < n, 1.0, weak_weight)
        put(f"TF-IDF + logistic regression ({next(iter(variants))})", test_idx, _predict(
            _tfidf_lr([texts[i] for i in idx], Y[idx], w, [texts[i] for i in test_idx]),
            [0.5] * len(areas), areas))
        dim = feats[0].vector.shape[0]
        put(f"logistic regression on embeddings ({next(iter(variants))})", test_idx, _predict(
            _embedding_lr(X[idx, :dim], Y[idx], w, X[test_idx, :dim]), [0.5] * len(areas),
            areas))
    return {name: score(gold, p, areas) for name, p in preds.items()}
