"""The links stage over the store: each document's stakeholders and references
(`annotate`) and its story among the near-duplicates (`link_stories`). What counts as the
same story is `omvarld.nlp.links`; this module reads the documents and their vectors from
the store and writes the results back."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import numpy as np

from omvarld.nlp.entities import extract_stakeholders
from omvarld.nlp.links import (
    DEFAULT_SETTINGS,
    StorySettings,
    _unit,
    annotation_window,
    is_same_story,
    pair_evidence,
)
from omvarld.nlp.references import extract_references, own_reference
from omvarld.store import Store, document_date, document_date_key
from omvarld.store.tables import DocumentRow

log = logging.getLogger(__name__)


def _rows(store: Store, doc_ids: Iterable[int], batch: int = 500) -> Iterator[DocumentRow]:
    """The documents of `doc_ids` that exist, read a batch at a time (a backfill passes
    tens of thousands of ids)."""
    ids = sorted(set(doc_ids))
    for start in range(0, len(ids), batch):
        yield from store.documents_by_ids(ids[start : start + batch])


Annotations = tuple[list[tuple[str, str, int]], list[tuple[str, str, bool]]]


def annotations_of(row: DocumentRow, config_dir: Path | None = None) -> Annotations:
    """The stakeholders — (name, kind, count) — and references — (key, kind, is_own) — of
    one document, its own identifier as an own reference. Raises what the text raises."""
    window = annotation_window(row)
    named = extract_stakeholders(window, row.language or "sv", config_dir)
    references = [(ref.key, ref.kind, False) for ref in extract_references(window)]
    references += structured_references(row)
    for own in (own_reference(row.identifier), own_reference(row.diarienummer)):
        if own is not None:
            references.append((own.key, own.kind, True))
    return [(m.name, m.kind, m.count) for m in named], references


def annotate(store: Store, doc_ids: Iterable[int], config_dir: Path | None = None) -> None:
    """Find and store the stakeholders and references of each document (replacing what
    was stored). Idempotent. A document that cannot be read is logged and skipped: one
    bad text never stops the others. (The classify stage stores them with the labels.)"""
    for row in _rows(store, doc_ids):
        try:
            stakeholders, references = annotations_of(row, config_dir)
        except Exception:
            log.exception("could not annotate document %s (%s)", row.id, row.url)
            continue
        store.save_annotations(row.id, stakeholders, references)


def structured_references(row: DocumentRow) -> list[tuple[str, str, bool]]:
    """The references the source lists itself (Riksdagen's `dokreferens`, CELLAR's
    procedure) as (key, kind, False): a matter links through them even when the text
    never cites the other document. A designation no rule knows is left out."""
    out = []
    for entry in row.doc_references or []:
        ref = own_reference(entry.get("designation") if isinstance(entry, dict) else None)
        if ref is not None:
            out.append((ref.key, ref.kind, False))
    return out


class VectorWindow:
    """The vectors of every document dated within reach of the documents being linked,
    read once: a backfill of thousands of documents then costs one matrix product per
    document, and full rows are read only for the few close enough to be duplicates."""

    def __init__(self, store: Store, rows: Sequence[DocumentRow], days: int) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.days = np.zeros(0, dtype=np.int64)
        self.matrix = np.zeros((0, 0), dtype=np.float32)
        self.languages = np.zeros(0, dtype=str)
        self.position: dict[int, int] = {}
        if not rows:
            return
        dates = [document_date(r) for r in rows]
        lo, hi = min(dates) - timedelta(days=days), max(dates) + timedelta(days=days)
        light = store.dated_hashes(lo, hi)
        known = store.embedding_model_ids([h for _, h, _, _ in light])
        mine = [m for r in rows for m in known.get(r.content_hash, ())]
        if not mine:
            return
        model_id = max(set(mine), key=mine.count)  # the classifier's, in practice
        vectors = store.embeddings([h for _, h, _, _ in light], model_id)
        kept = [row for row in light if row[1] in vectors]
        if not kept:
            return
        self.ids = np.array([i for i, _, _, _ in kept], dtype=np.int64)
        self.days = np.array([d.toordinal() for _, _, d, _ in kept], dtype=np.int64)
        self.languages = np.array([lang or "und" for _, _, _, lang in kept])
        self.matrix = np.stack([_unit(vectors[h]) for _, h, _, _ in kept])
        self.position = {int(i): n for n, i in enumerate(self.ids)}

    def close(self, row: DocumentRow, settings: StorySettings
              ) -> list[tuple[int, float]] | None:
        """(id, cosine) of the other documents within the window of `row` whose vectors
        are close enough to be its duplicates — in its language or in another, each with
        its own bar; None when `row` has no vector. Same-topic documents of one field
        are mostly above the cross-language bar, so applying the right bar here keeps the
        word-level checks to a handful of pairs."""
        n = self.position.get(row.id)
        if n is None:
            return None
        near = np.abs(self.days - document_date(row).toordinal()) <= settings.window_days
        near[n] = False
        idx = np.flatnonzero(near)
        cosines = self.matrix[idx] @ self.matrix[n]
        same = self.languages[idx] == self.languages[n]
        bar = np.where(same, min(settings.same_language_cosine, settings.close_cosine),
                       settings.cross_language_cosine)
        keep = cosines >= bar
        return [(int(self.ids[i]), float(c))
                for i, c in zip(idx[keep], cosines[keep], strict=True)]


def find_duplicates(store: Store, row: DocumentRow,
                    settings: StorySettings = DEFAULT_SETTINGS,
                    config_dir: Path | None = None,
                    window: VectorWindow | None = None) -> list[DocumentRow] | None:
    """The documents near `row` in time that are the same news; None when `row` has no
    stored vector yet (it is linked on a later run, after it is classified). Any other
    document may be one: another publisher's, or the same publisher's at another URL (a
    canonical URL is a document's identity, so two rows never share one)."""
    window = window or VectorWindow(store, [row], settings.window_days)
    close = window.close(row, settings)
    if close is None:
        return None
    if not close:
        return []
    cosine_of = dict(close)
    candidates = store.documents_by_ids(sorted(cosine_of))  # the words are read only now
    keys = store.reference_keys([row.id, *(c.id for c in candidates)])
    found = []
    for candidate in candidates:
        evidence = pair_evidence(row, candidate, cosine_of[candidate.id], keys[row.id],
                                 keys[candidate.id], settings, config_dir)
        if is_same_story(evidence, settings):
            log.debug("story: %s ~ %s (%s)", row.id, candidate.id, evidence)
            found.append(candidate)
    return found


def link_stories(store: Store, doc_ids: Iterable[int],
                 settings: StorySettings = DEFAULT_SETTINGS,
                 config_dir: Path | None = None) -> int:
    """Put each document into the story of its near-duplicates (see `StorySettings`);
    returns how many documents' story changed (0 when run again).

    A document with no duplicate is a story of its own (story_id = its id). A document
    whose duplicates already belong to stories joins them, and stories it bridges become
    one; the story id is always its oldest document's (published, else first seen). A
    document without a stored vector is left unlinked for a later run; a document is
    marked linked (for its content) once its story is decided, so that what a killed
    run left undone is listed by `Store.unlinked_documents()`. Run `annotate` first, so
    that designations both documents cite count. Links are only ever added: a document
    edited so that it is no longer a duplicate stays in its story.
    """
    rows = sorted(_rows(store, doc_ids), key=document_date_key)
    window = VectorWindow(store, rows, settings.window_days)
    changed = 0
    for stale in rows:
        fresh = store.documents_by_ids([stale.id])  # its story may have changed meanwhile
        if not fresh:
            continue
        row = fresh[0]
        try:
            duplicates = find_duplicates(store, row, settings, config_dir, window)
        except Exception:  # one unreadable vector or row must not stop the stage
            log.exception("could not compare document %s (%s)", row.id, row.url)
            continue
        if duplicates is None:
            log.debug("document %s has no vector yet: not linked", row.id)
            continue
        group = {row.id: row, **{d.id: d for d in duplicates}}
        stories = {r.story_id for r in group.values() if r.story_id is not None}
        for member in store.story_members(stories):
            group.setdefault(member.id, member)
        oldest = min(group.values(), key=document_date_key)
        changed += store.set_story(list(group), oldest.id)
        store.mark_linked(row.id, row.content_hash)
    if changed:
        log.info("%d documents changed story", changed)
    return changed
