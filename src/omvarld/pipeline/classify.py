"""The classify stage: new and changed documents in the store get labels.

Idempotent: a document is classified again only when its content hash differs from the
one its labels were computed from; vectors are cached by content hash in the store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from omvarld.config.load import load_focus_areas
from omvarld.core.areas import FocusAreas
from omvarld.core.errors import ConfigError
from omvarld.nlp.classifier import ClassifierConfig, ClassifierInput, FocusAreaClassifier
from omvarld.nlp.encoder import load_encoder
from omvarld.nlp.head import LearnedHead, load_default_head
from omvarld.nlp.text import summarize
from omvarld.pipeline.stories import annotate, link_stories
from omvarld.store import Store

log = logging.getLogger(__name__)


@dataclass
class ClassifyReport:
    documents: int = 0
    labelled: int = 0  # documents with at least one accepted area
    failed: int = 0
    linked: int = 0  # documents that joined a story of near-duplicates

    def summary(self) -> str:
        return (f"{self.documents} documents classified, {self.labelled} in a focus area, "
                f"{self.linked} linked to a story, {self.failed} failed")


def load_head(spec: str, areas: FocusAreas, model_id: str) -> LearnedHead | None:
    """'default' → the shipped head (if it fits), 'none' → None, else a head file."""
    if spec == "none":
        return None
    if spec == "default":
        return load_default_head(areas.ids, model_id)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError("environment", "OMVARLD_HEAD", f"no head file at {path}")
    head = load_default_head(areas.ids, model_id, path)
    if head is None:
        raise ConfigError("environment", "OMVARLD_HEAD",
                          f"{path} was trained for other areas or another model")
    return head


@lru_cache(maxsize=4)
def build_classifier(config_dir: Path, backend: str, model_dir: Path | None,
                     batch_size: int, head: str = "default") -> FocusAreaClassifier:
    """One classifier per configuration and process: loading the model, building the
    vocabulary matcher and embedding the area descriptions cost seconds. It has no
    vector cache of its own; `with_cache` gives it one per store."""
    encoder = load_encoder(backend, model_dir, batch_size=batch_size)
    areas = load_focus_areas(config_dir)
    return FocusAreaClassifier(areas, ClassifierConfig.load(config_dir), encoder,
                               head=load_head(head, areas, encoder.model_id))


def classifier_for(store: Store | None = None, head: str | None = None
                   ) -> FocusAreaClassifier:
    from omvarld.core.settings import get_settings

    s = get_settings()
    classifier = build_classifier(Path(s.config_dir), s.model_backend, s.model_dir,
                                  s.batch_size, head or s.head)
    return classifier.with_cache(store) if store is not None else classifier


def classify_pending(
    store: Store,
    classifier: FocusAreaClassifier | None = None,
    *,
    batch: int = 32,
    everything: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ClassifyReport:
    """Label every new or changed document (or every document, with `everything`)."""
    classifier = classifier or classifier_for(store)
    ids = store.classification_ids(everything)
    report = ClassifyReport()
    total = len(ids)
    for start in range(0, total, batch):
        chunk = store.documents_by_ids(ids[start : start + batch])
        inputs = [
            ClassifierInput(key=r.content_hash, title=r.title, summary=r.summary or "",
                            text=r.text or "", language=r.language)
            for r in chunk
        ]
        try:
            results = classifier.classify(inputs)
        except Exception:  # one bad batch must not stop the stage: retry one by one
            log.exception("batch of %d failed; classifying its documents one by one", len(chunk))
            results = []
            for item in inputs:
                try:
                    results.extend(classifier.classify([item]))
                except Exception as exc:
                    log.error("could not classify %s: %s", item.title[:80], exc)
                    results.append(None)
        for row, result in zip(chunk, results, strict=True):
            if result is None:
                report.failed += 1
                continue
            store.save_labels(row.id, row.content_hash, result.labels,
                              summary=summarize(row.title, row.summary or "", row.text or ""))
            report.documents += 1
            report.labelled += bool(result.accepted)
        done = [row.id for row, result in zip(chunk, results, strict=True) if result]
        try:  # stakeholders, references, then stories (which use the references)
            annotate(store, done)
            report.linked += link_stories(store, done)
        except Exception:  # linking is an extra: its failure must not lose the labels
            log.exception("could not annotate or link %d documents", len(done))
        if progress:
            progress(min(start + batch, total), total)
    log.info("%s", report.summary())
    return report
