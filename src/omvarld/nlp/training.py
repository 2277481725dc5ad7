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
from omvarld.nlp.evaluate import (
    AreaScores,
    Evaluation,
    LabelledDoc,
    as_input,
    calibration_error,
    read_labelled,
    score,
)
from omvarld.nlp.head import DEFAULT_HEAD, LearnedHead, TrainingSet, feature_matrix, train_head
from omvarld.nlp.vectorcache import VectorFile

log = logging.getLogger(__name__)

TRAINING_DIR = Path(__file__).resolve().parent / "data" / "training"
DEFAULT_CAREFUL = [TRAINING_DIR / "dev.jsonl.gz"]
DEFAULT_WEAK = [TRAINING_DIR / "weak-regeringen.jsonl.gz"]
DEFAULT_VECTORS = TRAINING_DIR / "vectors.npz"
DEFAULT_CHECK = TRAINING_DIR / "check-riksdagen.jsonl.gz"
DEFAULT_WEAK_WEIGHT = 0.3
VOCAB_RULE_MIN_TERMS = 2


@dataclass(frozen=True)
class LabelQuality:
    """How far a weak corpus's labels can be trusted, measured by reading a sample (see
    the corpus's README): the share of its positive labels a reader agrees with, and the
    chance that a negative document hides a given area."""

    precision: float
    miss: float

    def targets(self, Y: np.ndarray) -> np.ndarray:
        return np.where(Y == 1, self.precision, self.miss)


# regeringen.jsonl: 25 of 30 positives right; 1 in 10 negatives hides one of six areas.
# riksdagen.jsonl: 26 of 28 positives right; 2 of 33 negatives hide an area.
LABEL_QUALITY = {
    "weak-regeringen": LabelQuality(precision=0.83, miss=0.017),
    "regeringen": LabelQuality(precision=0.83, miss=0.017),
    "check-riksdagen": LabelQuality(precision=0.93, miss=0.01),
    "riksdagen": LabelQuality(precision=0.93, miss=0.01),
}
UNKNOWN_QUALITY = LabelQuality(precision=0.8, miss=0.02)


def label_quality(path: Path) -> LabelQuality:
    """The measured label quality of a weak file, by its name; unknown files get a
    cautious default."""
    name = Path(path).name.split(".")[0]
    return LABEL_QUALITY.get(name, UNKNOWN_QUALITY)

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
    weak_quality: list[LabelQuality] = field(default_factory=list)  # one per weak doc

    def quality(self) -> list[LabelQuality]:
        return self.weak_quality or [UNKNOWN_QUALITY] * len(self.weak)


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
    weak, quality = [], []
    for f in weak_files:
        docs = read_labelled(Path(f), areas)
        weak += docs
        quality += [label_quality(Path(f))] * len(docs)
    files = {Path(f).name: text_sha256(Path(f)) for f in [*careful_files, *weak_files]}
    return Corpus(careful=careful, weak=weak, files=files, weak_quality=quality)


def soft_targets(Y: np.ndarray, careful: np.ndarray,
                 quality: Sequence[LabelQuality]) -> np.ndarray:
    """Careful labels as they are; each weak label as the probability that it is right."""
    T = Y.astype(np.float64)
    weak_rows = np.flatnonzero(~careful)
    for row, q in zip(weak_rows, quality, strict=True):
        T[row] = q.targets(Y[row])
    return T


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
    Y = _label_matrix(docs, areas)
    data = TrainingSet(
        X=feature_matrix(feats, classifier.config.margin_scale),
        Y=Y,
        weights=np.where(careful, 1.0, weak_weight),
        careful=careful,
        keys=[as_input(d).key for d in docs],
        targets=soft_targets(Y, careful, corpus.quality()),
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


EARLIER = "earlier head (format 1, careful + weak)"


def earlier_name(weak: bool) -> str:
    return EARLIER if weak else EARLIER.replace("careful + weak", "careful only")


def _fit_variant(X: np.ndarray, Y: np.ndarray, careful: np.ndarray, T: np.ndarray,
                 weak_weight: float, areas: Sequence[str], model_id: str,
                 margin_scale: float, format: int = 2) -> LearnedHead:
    data = TrainingSet(X=X, Y=Y, weights=np.where(careful, 1.0, weak_weight),
                       careful=careful, keys=[str(i) for i in range(len(Y))], targets=T)
    return train_head(data, areas, model_id=model_id, margin_scale=margin_scale,
                      folds=min(5, max(2, int(careful.sum()) // 10)), format=format)


def cross_validate(classifier: FocusAreaClassifier, docs: Sequence[LabelledDoc],
                   weak: Sequence[LabelledDoc] = (), *, folds: int = 5,
                   weak_weight: float = DEFAULT_WEAK_WEIGHT, seed: int = 0,
                   weak_quality: Sequence[LabelQuality] | None = None,
                   earlier: bool = False, check: Sequence[LabelledDoc] = (),
                   progress: Progress | None = None) -> dict[str, Evaluation]:
    """Out-of-fold predictions on `docs` for the product and the baselines. Weak
    documents only ever join the training side of a fold. With `earlier`, the earlier
    head's recipe (format 1: furniture and names counted, thresholds from the careful
    folds alone, uncalibrated) is cross-validated beside it. A head's Evaluation carries
    the expected calibration error of its out-of-fold probabilities."""
    areas = classifier.areas.ids
    all_docs = list(docs) + list(weak)
    feats = compute_features(classifier, all_docs, progress)
    scale = classifier.config.margin_scale
    X = feature_matrix(feats, scale)
    X_raw = feature_matrix(feats, scale, raw_terms=True) if earlier else X
    Y = _label_matrix(all_docs, areas)
    n = len(docs)
    careful_all = np.arange(len(all_docs)) < n
    T = soft_targets(Y, careful_all, weak_quality or [UNKNOWN_QUALITY] * len(weak))
    texts = [f"{d.title}\n\n{d.text}" for d in all_docs]
    weak_idx = np.arange(n, len(all_docs))
    gold = [d.labels for d in docs]
    preds: dict[str, list[list[str] | None]] = {}
    probs: dict[str, np.ndarray] = {}
    model_id = classifier.encoder.model_id

    def put(name: str, idx: np.ndarray, labels: list[list[str]],
            P: np.ndarray | None = None) -> None:
        slot = preds.setdefault(name, [None] * n)
        for i, lab in zip(idx, labels, strict=True):
            slot[i] = lab
        if P is not None:
            probs.setdefault(name, np.zeros((n, len(areas))))[idx] = P

    put("zero-shot (embedding margin + vocabulary)", np.arange(n),
        _zero_shot(classifier, feats[:n]))
    put(f"vocabulary rules (>= {VOCAB_RULE_MIN_TERMS} terms)", np.arange(n),
        _vocab_rules(feats[:n], areas))

    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.arange(n)):
        variants = {"careful only": train_idx}
        if len(weak_idx):
            variants = {"careful + weak": np.concatenate([train_idx, weak_idx]), **variants}
        for variant, idx in variants.items():
            head = _fit_variant(X[idx], Y[idx], idx < n, T[idx], weak_weight, areas,
                                model_id, scale)
            P = head.probabilities(X[test_idx])
            put(f"learned head ({variant})", test_idx,
                _predict(P, [head.thresholds[a] for a in areas], areas), P)
        idx = variants[next(iter(variants))]
        if earlier:
            head = _fit_variant(X_raw[idx], Y[idx], idx < n, T[idx], weak_weight, areas,
                                model_id, scale, format=1)
            P = head.probabilities(X_raw[test_idx])
            put(earlier_name(len(weak_idx) > 0), test_idx,
                _predict(P, [head.thresholds[a] for a in areas], areas), P)
        w = np.where(idx < n, 1.0, weak_weight)
        put(f"TF-IDF + logistic regression ({next(iter(variants))})", test_idx, _predict(
            _tfidf_lr([texts[i] for i in idx], Y[idx], w, [texts[i] for i in test_idx]),
            [0.5] * len(areas), areas))
        dim = feats[0].vector.shape[0]
        put(f"logistic regression on embeddings ({next(iter(variants))})", test_idx, _predict(
            _embedding_lr(X[idx, :dim], Y[idx], w, X[test_idx, :dim]), [0.5] * len(areas),
            areas))
    out = {name: score(gold, p, areas) for name, p in preds.items()}
    for name, P in probs.items():
        out[name].ece = calibration_error(Y[:n], P)
    return out


def _zero_shot(classifier: FocusAreaClassifier, feats: Sequence[DocFeatures]
               ) -> list[list[str]]:
    areas = classifier.areas.ids
    limits = [classifier.config.threshold_for(a) for a in areas]
    return [[a for a, s, t in zip(areas, classifier.zero_shot_scores(f), limits, strict=True)
             if s >= t] for f in feats]


def _vocab_rules(feats: Sequence[DocFeatures], areas: Sequence[str]) -> list[list[str]]:
    return [[a for a, v in zip(areas, f.vocab, strict=True) if v >= VOCAB_RULE_MIN_TERMS]
            for f in feats]


@dataclass
class HeldOutCheck:
    """Methods trained on all the training data, scored on documents none of them saw,
    whose labels are weak: `ceiling` is what a method that labels exactly as a careful
    reader would score against those labels, given their measured quality."""

    documents: int
    results: dict[str, Evaluation]
    ceiling: Evaluation


def held_out_check(classifier: FocusAreaClassifier, corpus: Corpus,
                   check: Sequence[LabelledDoc], quality: LabelQuality, *,
                   weak_weight: float = DEFAULT_WEAK_WEIGHT, earlier: bool = True,
                   progress: Progress | None = None) -> HeldOutCheck:
    """The second check: train on the careful and weak corpus, test on `check` (data
    unlike the development set, never trained on)."""
    areas = classifier.areas.ids
    train_docs = corpus.careful + corpus.weak
    feats = compute_features(classifier, [*train_docs, *check], progress)
    scale, model_id = classifier.config.margin_scale, classifier.encoder.model_id
    n = len(train_docs)
    X, X_raw = (feature_matrix(feats, scale, raw_terms=r) for r in (False, True))
    Y = _label_matrix([*train_docs, *check], areas)
    careful = np.arange(n) < len(corpus.careful)
    T = soft_targets(Y[:n], careful, corpus.quality())
    gold = [d.labels for d in check]
    results: dict[str, Evaluation] = {}
    head = _fit_variant(X[:n], Y[:n], careful, T, weak_weight, areas, model_id, scale)
    P = head.probabilities(X[n:])
    variant = "careful + weak" if corpus.weak else "careful only"
    results[f"learned head ({variant})"] = score(
        gold, _predict(P, [head.thresholds[a] for a in areas], areas), areas)
    if earlier:
        old = _fit_variant(X_raw[:n], Y[:n], careful, T, weak_weight, areas, model_id,
                           scale, format=1)
        Po = old.probabilities(X_raw[n:])
        results[earlier_name(bool(corpus.weak))] = score(
            gold, _predict(Po, [old.thresholds[a] for a in areas], areas), areas)
    results["zero-shot (embedding margin + vocabulary)"] = score(
        gold, _zero_shot(classifier, feats[n:]), areas)
    results[f"vocabulary rules (>= {VOCAB_RULE_MIN_TERMS} terms)"] = score(
        gold, _vocab_rules(feats[n:], areas), areas)
    texts = [f"{d.title}\n\n{d.text}" for d in [*train_docs, *check]]
    w = np.where(careful, 1.0, weak_weight)
    results[f"TF-IDF + logistic regression ({variant})"] = score(gold, _predict(
        _tfidf_lr(texts[:n], Y[:n], w, texts[n:]), [0.5] * len(areas), areas), areas)
    dim = feats[0].vector.shape[0]
    results[f"logistic regression on embeddings ({variant})"] = score(gold, _predict(
        _embedding_lr(X[:n, :dim], Y[:n], w, X[n:, :dim]), [0.5] * len(areas), areas),
        areas)
    return HeldOutCheck(documents=len(check), results=results,
                        ceiling=_ceiling(Y[n:], quality, areas))


def _ceiling(Y: np.ndarray, quality: LabelQuality, areas: Sequence[str]) -> Evaluation:
    """Expected counts of a reader-perfect method against weak labels of this quality:
    of a weak positive, `precision` is truly positive (a hit), the rest a false alarm of
    the weak label (the method says no: a miss against it); of a weak negative, `miss`
    hides the area (the method says yes: a false positive against it)."""
    per = {}
    for j, a in enumerate(areas):
        pos = int(Y[:, j].sum())
        neg = len(Y) - pos
        tp = round(pos * quality.precision)
        per[a] = AreaScores(tp=tp, fn=pos - tp, fp=round(neg * quality.miss))
    return Evaluation(areas=per, none=AreaScores(), documents=len(Y))
