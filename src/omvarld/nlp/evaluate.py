"""Measure the classifier against labelled documents (the format of dev.jsonl: one JSON
object a line with `title`, `text`, `labels`, optionally `language` and `id`)."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from omvarld.core.errors import OmvarldError
from omvarld.core.model import LabelledDoc
from omvarld.nlp.classifier import ClassifierInput, FocusAreaClassifier


@dataclass
class AreaScores:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass
class Evaluation:
    areas: dict[str, AreaScores]
    none: AreaScores  # "none of the six" treated as a class of its own
    documents: int
    confusions: dict[tuple[str, str], int] = field(default_factory=dict)
    ece: float | None = None  # expected calibration error of the scores, where measured

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.areas.values()) / len(self.areas) if self.areas else 0.0


def read_labelled(path: Path, known_areas: Sequence[str]) -> list[LabelledDoc]:
    """Read a JSONL file of labelled documents; a bad line names the file and line."""
    docs = []
    path = Path(path)
    if not path.is_file():
        raise OmvarldError(f"{path}: no such file")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    for number, line in enumerate(raw.decode("utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels = list(row["labels"])
            unknown = set(labels) - set(known_areas)
            if unknown:
                raise ValueError(f"unknown areas {sorted(unknown)}")
            docs.append(LabelledDoc(
                id=str(row.get("id") or number), title=row.get("title") or "",
                text=row.get("text") or "", labels=labels, language=row.get("language"),
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise OmvarldError(f"{path}:{number}: {exc}") from exc
    return docs


def score(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
          areas: Sequence[str]) -> Evaluation:
    per = {a: AreaScores() for a in areas}
    none = AreaScores()
    confusions: dict[tuple[str, str], int] = {}
    for g, p in zip(gold, predicted, strict=True):
        gs, ps = set(g), set(p)
        for a in areas:
            if a in gs and a in ps:
                per[a].tp += 1
            elif a in ps:
                per[a].fp += 1
            elif a in gs:
                per[a].fn += 1
        if not gs and not ps:
            none.tp += 1
        elif not ps:
            none.fp += 1
        elif not gs:
            none.fn += 1
        for missed in gs - ps:
            for extra in ps - gs or {"(none)"}:
                confusions[(missed, extra)] = confusions.get((missed, extra), 0) + 1
        if not gs:
            for extra in ps:
                confusions[("(none)", extra)] = confusions.get(("(none)", extra), 0) + 1
    return Evaluation(areas=per, none=none, documents=len(gold), confusions=confusions)


def calibration_error(Y: np.ndarray, P: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over every (document, area) pair: in each of `bins`
    equal-width bins of the score, |share of true labels − mean score|, weighted by the
    bin's share of pairs. 0 is perfectly calibrated."""
    y, p = np.asarray(Y, dtype=float).ravel(), np.asarray(P, dtype=float).ravel()
    if not len(y):
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() / len(y) * abs(y[inside].mean() - p[inside].mean())
    return float(total)


def as_input(doc: LabelledDoc) -> ClassifierInput:
    """A labelled document as the classifier reads it; the key is the text's hash, so its
    vector is found again in any cache."""
    return ClassifierInput(
        key=hashlib.sha256(f"{doc.title}\x1f{doc.text}".encode()).hexdigest(),
        title=doc.title, summary="", text=doc.text, language=doc.language,
    )


def evaluate(classifier: FocusAreaClassifier, docs: Sequence[LabelledDoc],
             progress: Callable[[int, int], None] | None = None,
             batch: int = 16) -> Evaluation:
    predicted: list[list[str]] = []
    for start in range(0, len(docs), batch):
        chunk = docs[start : start + batch]
        inputs = [as_input(d) for d in chunk]
        for result in classifier.classify(inputs):
            predicted.append([label.area for label in result.accepted])
        if progress:
            progress(min(start + batch, len(docs)), len(docs))
    return score([d.labels for d in docs], predicted, classifier.areas.ids)
