"""The learned head: one logistic regression per focus area over the classifier's
features (the embedding, the centred similarity to each area, vocabulary matched in the
text and in the title), each with its own threshold chosen by cross-validation.

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

HEAD_FORMAT = 1
DEFAULT_HEAD = Path(__file__).resolve().parent / "data" / "head.json"
THRESHOLD_GRID = np.round(np.arange(0.05, 0.96, 0.01), 2)


def feature_matrix(feats: Sequence[DocFeatures], margin_scale: float) -> np.ndarray:
    """One row per document: embedding, margins (in units of margin_scale), ln(1+terms),
    title terms."""
    if not feats:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([
        np.concatenate([f.vector, f.margins / margin_scale, np.log1p(f.vocab), f.title])
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

    @property
    def version(self) -> str:
        return f"head-v{HEAD_FORMAT}:{self.meta.get('training_set', 'unknown')[:10]}"

    def probabilities(self, X: np.ndarray) -> np.ndarray:
        z = ((X - self.mean) / self.scale) @ self.coef.T + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    def scores(self, feats: DocFeatures) -> np.ndarray:
        return self.probabilities(feature_matrix([feats], self.margin_scale))[0]

    def threshold(self, area: str) -> float:
        return self.thresholds[area]

    def save(self, path: Path) -> None:
        data = {
            "format": HEAD_FORMAT, "areas": self.areas, "model_id": self.model_id,
            "margin_scale": self.margin_scale, "mean": _floats(self.mean),
            "scale": _floats(self.scale), "coef": [_floats(r) for r in self.coef],
            "intercept": _floats(self.intercept), "thresholds": self.thresholds,
            "meta": self.meta,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> LearnedHead:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("format") != HEAD_FORMAT:
            raise ValueError(f"{path}: head format {data.get('format')}, expected {HEAD_FORMAT}")
        return cls(
            areas=list(data["areas"]), model_id=data["model_id"],
            margin_scale=float(data["margin_scale"]),
            mean=np.array(data["mean"], dtype=np.float32),
            scale=np.array(data["scale"], dtype=np.float32),
            coef=np.array(data["coef"], dtype=np.float32),
            intercept=np.array(data["intercept"], dtype=np.float32),
            thresholds={k: float(v) for k, v in data["thresholds"].items()},
            meta=data.get("meta", {}),
        )


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


def _best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The threshold with the best F1 on out-of-fold probabilities; ties go to the
    middle of the best range (less fitted to the particular folds)."""
    best, best_f1 = [], -1.0
    for t in THRESHOLD_GRID:
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        fp = float((pred & (y == 0)).sum())
        fn = float((~pred & (y == 1)).sum())
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        if f1 > best_f1 + 1e-9:
            best, best_f1 = [t], f1
        elif abs(f1 - best_f1) <= 1e-9:
            best.append(t)
    return float(best[len(best) // 2]) if best else 0.5


def train_head(data: TrainingSet, areas: Sequence[str], *, model_id: str,
               margin_scale: float, C: float = 0.2, embedding_weight: float = 0.1,
               folds: int = 5, seed: int = 7) -> LearnedHead:
    """Fit the head on everything, with thresholds from `folds`-fold out-of-fold
    probabilities on the carefully labelled documents (all documents if none are)."""
    X, Y, w = data.X.astype(np.float64), data.Y, data.weights
    dims = X.shape[1] - 3 * len(areas)  # the embedding comes first, then 3 per area
    fit = {"C": C, "embedding_dims": dims, "embedding_weight": embedding_weight}
    oof = np.zeros(Y.shape, dtype=np.float64)
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(X):
        mean, scale, coef, icpt = _fit_models(X[train], Y[train], w[train], **fit)
        oof[test] = 1 / (1 + np.exp(-(((X[test] - mean) / scale) @ coef.T + icpt)))
    judge = data.careful if data.careful.any() else np.ones(len(Y), dtype=bool)
    thresholds = {a: _best_threshold(Y[judge, j], oof[judge, j]) for j, a in enumerate(areas)}
    mean, scale, coef, icpt = _fit_models(X, Y, w, **fit)
    cv = _cv_scores(Y[judge], oof[judge], [thresholds[a] for a in areas], areas)
    meta = {
        "training_set": data.digest(), "documents": len(Y),
        "careful_documents": int(data.careful.sum()),
        "weak_documents": int((~data.careful).sum()), "C": C,
        "embedding_weight": embedding_weight, "folds": folds,
        "cross_validated": cv, "trained": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    return LearnedHead(areas=list(areas), model_id=model_id, margin_scale=margin_scale,
                       mean=mean.astype(np.float32), scale=scale.astype(np.float32),
                       coef=coef.astype(np.float32), intercept=icpt.astype(np.float32),
                       thresholds=thresholds, meta=meta)


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
