"""The learned head: one logistic regression per focus area over the classifier's
features (the embedding, the centred similarity to each area, vocabulary matched in the
text and in the title), each with its own threshold chosen by cross-validation.

Format 2 calibrates: each area's regression output is mapped by a Platt scaling fitted on
out-of-fold scores over the careful and the weak documents (a weak label counts as the
probability that it is right, measured by reading a sample), so a label's score is the
probability that a careful reader gives the document that area. Thresholds are chosen on
the same out-of-fold probabilities, the careful and the weak half weighed alike, and
never below the floor: the probability of an ordinary document whose only evidence is
one vocabulary word (in its title too). Format 1 (uncalibrated, thresholds from the
careful documents alone, furniture and names counted as terms) still loads.

It is trained by `omvarld train` from careful labels (the development set, analysts'
corrections) and, weighed lower, from weak labels (publishers' own topic tags). The file
it is saved to records its version, the hash of its training set and its cross-validated
scores, so a label can always be traced to the head that gave it."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from omvarld.nlp.classifier import DocFeatures

log = logging.getLogger(__name__)

HEAD_FORMAT = 2
FORMATS = (1, 2)
DEFAULT_HEAD = Path(__file__).resolve().parent / "data" / "head.json"
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)
# Format 2's thresholds weigh recall a little above precision (F-beta, beta 1.25): a missed
# area hides a document from the strategists who follow it, and a document left as "none
# of the six" should truly be none. Set on principle; F1 (beta 1) and beta 1.5 are the
# variants measured beside it in nlp/data/training/README.md.
THRESHOLD_BETA = 1.25


def feature_matrix(feats: Sequence[DocFeatures], margin_scale: float,
                   raw_terms: bool = False) -> np.ndarray:
    """One row per document: embedding, margins (in units of margin_scale), ln(1+terms),
    title terms. `raw_terms` counts furniture and names as terms (format 1 heads)."""
    if not feats:
        return np.zeros((0, 0), dtype=np.float32)

    def terms(f: DocFeatures) -> tuple[np.ndarray, np.ndarray]:
        if raw_terms and f.vocab_raw is not None and f.title_raw is not None:
            return f.vocab_raw, f.title_raw
        return f.vocab, f.title

    return np.stack([
        np.concatenate([f.vector, f.margins / margin_scale, np.log1p(terms(f)[0]),
                        terms(f)[1]])
        for f in feats
    ]).astype(np.float32)


@dataclass
class TrainingSet:
    """Features, labels (documents × areas, 0/1) and a weight per document."""

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray
    careful: np.ndarray  # True where the label was set by a person
    keys: list[str]
    # per document and area, the probability that the area is right: Y for careful
    # labels, the measured label precision (or miss rate) for weak ones; None: Y
    targets: np.ndarray | None = None

    def soft(self) -> np.ndarray:
        return self.Y.astype(np.float64) if self.targets is None else self.targets

    def digest(self) -> str:
        h = hashlib.sha256()
        for key, row, w in zip(self.keys, self.Y, self.weights, strict=True):
            h.update(f"{key}:{''.join(map(str, row.astype(int)))}:{w:.3f}\n".encode())
        return h.hexdigest()


@dataclass
class LearnedHead:
    areas: list[str]
    model_id: str
    margin_scale: float
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray  # areas × features
    intercept: np.ndarray
    thresholds: dict[str, float]
    meta: dict = field(default_factory=dict)
    calibration: np.ndarray | None = None  # areas × (slope, offset) on the logit; format 2
    format: int = HEAD_FORMAT

    @property
    def version(self) -> str:
        return f"head-v{self.format}:{self.meta.get('training_set', 'unknown')[:10]}"

    @property
    def raw_terms(self) -> bool:
        return self.format == 1

    def logits(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean) / self.scale) @ self.coef.T + self.intercept

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        z = self.logits(X)
        if self.calibration is not None:
            z = z * self.calibration[:, 0] + self.calibration[:, 1]
        return _sigmoid(z)

    def scores(self, feats: DocFeatures) -> np.ndarray:
        return self.probabilities(feature_matrix([feats], self.margin_scale,
                                                 self.raw_terms))[0]

    def threshold(self, area: str) -> float:
        return self.thresholds[area]

    def save(self, path: Path) -> None:
        data = {
            "format": self.format, "areas": self.areas, "model_id": self.model_id,
            "margin_scale": self.margin_scale, "mean": _floats(self.mean),
            "scale": _floats(self.scale), "coef": [_floats(r) for r in self.coef],
            "intercept": _floats(self.intercept), "thresholds": self.thresholds,
            "meta": self.meta,
        }
        if self.calibration is not None:
            data["calibration"] = [_floats(r) for r in self.calibration]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LearnedHead:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") not in FORMATS:
            raise ValueError(f"{path}: head format {data.get('format')}, expected one of "
                             f"{FORMATS}")
        calibration = data.get("calibration")
        return cls(
            areas=list(data["areas"]), model_id=data["model_id"],
            margin_scale=float(data["margin_scale"]),
            mean=np.array(data["mean"], dtype=np.float32),
            scale=np.array(data["scale"], dtype=np.float32),
            coef=np.array(data["coef"], dtype=np.float32),
            intercept=np.array(data["intercept"], dtype=np.float32),
            thresholds={k: float(v) for k, v in data["thresholds"].items()},
            meta=data.get("meta", {}),
            calibration=None if calibration is None else np.array(calibration, dtype=np.float64),
            format=int(data["format"]),
        )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))


def _floats(values: np.ndarray) -> list[float]:
    return [round(float(v), 6) for v in values]


def _fit_models(X: np.ndarray, Y: np.ndarray, w: np.ndarray, C: float,
                embedding_dims: int = 0, embedding_weight: float = 1.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardise, then fit one regression per area. The embedding's many dimensions
    are shrunk by `embedding_weight` so that, under the same L2 penalty, the few
    interpretable features (margins, vocabulary) are not drowned by them."""
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-6] = 1.0
    scale[:embedding_dims] /= embedding_weight
    Z = (X - mean) / scale
    coefs, intercepts = [], []
    for j in range(Y.shape[1]):
        y = Y[:, j]
        if y.min() == y.max():  # an area without positive (or negative) examples
            coefs.append(np.zeros(X.shape[1]))
            intercepts.append(-10.0 if y.max() == 0 else 10.0)
            continue
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
        model.fit(Z, y, sample_weight=w)
        coefs.append(model.coef_[0])
        intercepts.append(float(model.intercept_[0]))
    return mean, scale, np.array(coefs), np.array(intercepts)


def _best_threshold(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None,
                    beta: float = 1.0) -> float:
    """The threshold with the best F-beta (F1 by default) on out-of-fold probabilities;
    ties go to the middle of the best range (less fitted to the particular folds). `y` may
    be soft (the probability that the label is right) and documents weighted by `w`."""
    best, best_f1 = [], -1.0
    y = np.asarray(y, dtype=np.float64)
    w = np.ones(len(y)) if w is None else w
    for t in THRESHOLD_GRID:
        pred = (p >= t).astype(np.float64)
        tp = float((w * pred * y).sum())
        fp = float((w * pred * (1 - y)).sum())
        fn = float((w * (1 - pred) * y).sum())
        b2 = beta * beta
        f1 = (1 + b2) * tp / ((1 + b2) * tp + b2 * fn + fp) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = [t], f1
        elif abs(f1 - best_f1) <= 1e-9:
            best.append(t)
    return float(best[len(best) // 2]) if best else 0.5


def train_head(data: TrainingSet, areas: Sequence[str], *, model_id: str,
               margin_scale: float, C: float = 0.2, embedding_weight: float = 0.1,
               folds: int = 5, seed: int = 7, format: int = HEAD_FORMAT) -> LearnedHead:
    """Fit the head on everything. Format 2: calibration and thresholds from `folds`-fold
    out-of-fold scores over all documents (see the module's docstring). Format 1: raw
    probabilities, thresholds with the best F1 on the careful documents' out-of-fold
    probabilities (all documents if none are careful)."""
    X, Y, w = data.X.astype(np.float64), data.Y, data.weights
    dims = X.shape[1] - 3 * len(areas)  # the embedding comes first, then 3 per area
    fit = {"C": C, "embedding_dims": dims, "embedding_weight": embedding_weight}
    oof = np.zeros(Y.shape, dtype=np.float64)  # out-of-fold logits
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X):
        mean, scale, coef, icpt = _fit_models(X[train], Y[train], w[train], **fit)
        oof[test] = ((X[test] - mean) / scale) @ coef.T + icpt
    judge = data.careful if data.careful.any() else np.ones(len(Y), dtype=bool)
    mean, scale, coef, icpt = _fit_models(X, Y, w, **fit)
    calibration = None
    if format == 1:
        P = _sigmoid(oof)
        thresholds = {a: _best_threshold(Y[judge, j], P[judge, j]) for j, a in enumerate(areas)}
        floors: dict[str, float] = {}
    else:
        T = data.soft()
        halves = _balanced_weights(data.careful, w)
        calibration = np.array([_platt(oof[:, j], T[:, j], halves) for j in range(len(areas))])
        P = _sigmoid(oof * calibration[:, 0] + calibration[:, 1])
        floors = {a: _one_word_floor(X, Y[:, j], j, len(areas), mean, scale, coef[j],
                                     icpt[j], calibration[j], dims)
                  for j, a in enumerate(areas)}
        thresholds = {}
        for j, a in enumerate(areas):
            best = _best_threshold(T[:, j], P[:, j], halves, beta=THRESHOLD_BETA)
            thresholds[a] = float(max(best, np.ceil((floors[a] + 1e-6) * 100) / 100))
    cv = _cv_scores(Y[judge], P[judge], [thresholds[a] for a in areas], areas)
    meta = {
        "training_set": data.digest(), "documents": len(Y),
        "careful_documents": int(data.careful.sum()),
        "weak_documents": int((~data.careful).sum()), "C": C,
        "embedding_weight": embedding_weight, "folds": folds,
        "cross_validated": cv, "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    if floors:
        meta["one_word_floor"] = {a: round(v, 4) for a, v in floors.items()}
    return LearnedHead(areas=list(areas), model_id=model_id, margin_scale=margin_scale,
                       mean=mean.astype(np.float32), scale=scale.astype(np.float32),
                       coef=coef.astype(np.float32), intercept=icpt.astype(np.float32),
                       thresholds=thresholds, meta=meta, calibration=calibration,
                       format=format)


def _balanced_weights(careful: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weights under which the careful and the weak documents count as much as each other
    (the 72 careful ones would otherwise vanish among thousands of weak ones)."""
    out = np.asarray(w, dtype=np.float64).copy()
    if careful.any() and (~careful).any():
        out[careful] *= out[~careful].sum() / out[careful].sum()
    return out


def _platt(z: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Slope and offset of sigmoid(a·z + b) fitted to the probabilities `t` (soft labels:
    each document counts as positive with weight t, negative with 1 − t)."""
    if t.max() <= 0 or t.min() >= 1:
        return 1.0, 0.0
    Z = np.concatenate([z, z])[:, None]
    y = np.concatenate([np.ones(len(z)), np.zeros(len(z))])
    sw = np.concatenate([w * t, w * (1 - t)])
    model = LogisticRegression(C=1e4, max_iter=1000)
    model.fit(Z, y, sample_weight=sw)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def _one_word_floor(X: np.ndarray, y: np.ndarray, j: int, n_areas: int, mean: np.ndarray,
                    scale: np.ndarray, coef: np.ndarray, icpt: float,
                    calibration: np.ndarray, dims: int) -> float:
    """The calibrated probability of an ordinary document that is not about area `j` (the
    mean of its negatives) given one vocabulary word of the area, in its title too."""
    neg = X[y == 0] if (y == 0).any() else X
    row = neg.mean(axis=0)
    row[dims + n_areas + j] = np.log1p(1.0)  # ln(1 + one term) in the text
    row[dims + 2 * n_areas + j] = 1.0  # and the same word in the title
    z = float(((row - mean) / scale) @ coef + icpt)
    return float(_sigmoid(np.array(z * calibration[0] + calibration[1])))


def _cv_scores(Y: np.ndarray, P: np.ndarray, thresholds: Sequence[float],
               areas: Sequence[str]) -> dict:
    from omvarld.nlp.evaluate import score

    gold = [[a for j, a in enumerate(areas) if Y[i, j]] for i in range(len(Y))]
    pred = [[a for j, a in enumerate(areas) if P[i, j] >= thresholds[j]] for i in range(len(Y))]
    ev = score(gold, pred, areas)
    return {"macro_f1": round(ev.macro_f1, 4),
            "none_precision": round(ev.none.precision, 4),
            "none_recall": round(ev.none.recall, 4),
            "f1": {a: round(s.f1, 4) for a, s in ev.areas.items()},
            "note": "out-of-fold on the carefully labelled documents; thresholds chosen "
                    "on the same folds, so slightly optimistic"}


def load_default_head(areas: Sequence[str], model_id: str,
                      path: Path = DEFAULT_HEAD) -> LearnedHead | None:
    """The shipped head, if it fits the configured areas and the model; else None (the
    classifier then falls back to the zero-shot combination)."""
    if not path.is_file():
        return None
    try:
        head = LearnedHead.load(path)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        log.warning("ignoring the learned head %s: %s", path, exc)
        return None
    if head.areas != list(areas) or head.model_id != model_id:
        log.warning("the learned head %s was trained for other areas or another model; "
                    "using the zero-shot combination", path)
        return None
    return head
