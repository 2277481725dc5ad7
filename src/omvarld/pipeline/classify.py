"""The classify stage: new and changed documents in the store get labels.

Idempotent: a document is classified again only when its content hash differs from the
one its labels were computed from; vectors are cached by content hash in the store.

Crash-consistent: a document's labels, stakeholders and references are written in one
transaction (`classify_rows`, the loop the flows and the Dask backfill share), then its
story; a run killed in between leaves the document listed by
`Store.unlinked_documents()`, and the next run links it first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from omvarld.config.load import load_focus_areas
from omvarld.core.areas import FocusAreas
from omvarld.core.errors import ConfigError
from omvarld.core.failpoints import failpoint
from omvarld.nlp.classifier import ClassifierConfig, ClassifierInput, FocusAreaClassifier
from omvarld.nlp.encoder import load_encoder
from omvarld.nlp.head import LearnedHead, load_default_head
from omvarld.nlp.text import summarize
from omvarld.pipeline.stories import annotations_of, link_stories
from omvarld.store import Store
from omvarld.store.tables import DocumentRow

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


@dataclass
class RowsOutcome:
    """What `classify_rows` did with one batch."""

    classified: list[int] = field(default_factory=list)  # ids, labels and annotations saved
    labelled: int = 0
    failed: list[int] = field(default_factory=list)  # left pending for the next run


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


def classify_rows(store: Store, classifier: FocusAreaClassifier,
                  rows: list[DocumentRow]) -> RowsOutcome:
    """Classify and annotate one batch; each document's labels, stakeholders and
    references go to the store in one transaction. A document that cannot be classified
    or annotated keeps nothing new and stays pending. Stories are the caller's next step
    (`link_stories`)."""
    inputs = [
        ClassifierInput(key=r.content_hash, title=r.title, summary=r.summary or "",
                        text=r.text or "", language=r.language)
        for r in rows
    ]
    outcome = RowsOutcome()
    for row, result in zip(rows, _classify(classifier, inputs), strict=True):
        if result is None:
            outcome.failed.append(row.id)
            continue
        try:
            stakeholders, references = annotations_of(row)
        except Exception:
            log.exception("could not annotate document %s (%s): left pending", row.id, row.url)
            outcome.failed.append(row.id)
            continue
        summary = summarize(row.title, row.summary or "", row.text or "")
        if store.save_classification(row.id, row.content_hash, result.labels, stakeholders,
                                     references, summary=summary):
            outcome.classified.append(row.id)
            outcome.labelled += bool(result.accepted)
        failpoint("classify.saved")
    return outcome


def _classify(classifier: FocusAreaClassifier, inputs: list[ClassifierInput]) -> list:
    """One result per input, None for one that failed."""
    if not inputs:
        return []
    try:
        return list(classifier.classify(inputs))
    except Exception:  # one bad batch must not stop the stage: retry one by one
        log.exception("batch of %d failed; classifying its documents one by one", len(inputs))
    results: list = []
    for item in inputs:
        try:
            results.extend(classifier.classify([item]))
        except Exception as exc:
            log.error("could not classify %s: %s", item.title[:80], exc)
            results.append(None)
    return results


def link_pending(store: Store, doc_ids: list[int]) -> int:
    """Stories for `doc_ids`; a failure leaves them listed as unlinked for the next run."""
    if not doc_ids:
        return 0
    try:
        return link_stories(store, doc_ids)
    except Exception:  # their labels stay; the next run links them
        log.exception("could not link %d documents: left for the next run", len(doc_ids))
        return 0


def classify_pending(
    store: Store,
    classifier: FocusAreaClassifier | None = None,
    *,
    batch: int = 32,
    everything: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ClassifyReport:
    """Label every new or changed document (or every document, with `everything`); first
    link what an interrupted run classified but left without a story."""
    classifier = classifier or classifier_for(store)
    ids = store.classification_ids(everything)
    report = ClassifyReport()
    todo = set(ids)
    left = [i for i in store.unlinked_documents() if i not in todo]
    if left:
        log.info("%d documents classified by an earlier run wait for their story", len(left))
        report.linked += link_pending(store, left)
    total = len(ids)
    for start in range(0, total, batch):
        outcome = classify_rows(store, classifier,
                                store.documents_by_ids(ids[start : start + batch]))
        report.documents += len(outcome.classified)
        report.labelled += outcome.labelled
        report.failed += len(outcome.failed)
        failpoint("classify.batch")
        report.linked += link_pending(store, outcome.classified)
        if progress:
            progress(min(start + batch, total), total)
    log.info("%s", report.summary())
    return report
