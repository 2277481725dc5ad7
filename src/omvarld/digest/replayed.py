"""A digest built from the replay says what it is: `omvarld weekly --replay` crawls the
recorded and constructed fixtures of tests/fixtures/, and nobody must mistake an invented
remiss for a real one. `mark_replayed` adds a line saying so, and marks each entry whose
document came from a constructed fixture (`omvarld.crawl.replay.ReplayProvenance`, which
reads the fixtures' PROVENANCE.md files): its title starts with `CONSTRUCTED_MARK` and its
`constructed` flag is set, so every format (HTML, Markdown, e-mail, calendar) shows it."""

from __future__ import annotations

from omvarld.crawl.replay import ReplayProvenance
from omvarld.digest.build import WeeklyDigest, WeeklyEntry
from omvarld.store import Store

PROVENANCE_NOTE = (
    "Byggd från inspelade och konstruerade svar (omvarld --replay), inte från källorna "
    "själva: poster märkta {mark} bygger på testdata som skrivits för hand."
)
CONSTRUCTED_MARK = "[Konstruerat testexempel]"


def mark_replayed(digest: WeeklyDigest, store: Store,
                  provenance: ReplayProvenance | None = None) -> WeeklyDigest:
    """The digest with the replay's note and its constructed entries marked."""
    provenance = provenance or ReplayProvenance()
    cache: dict[int, bool] = {}

    def constructed(entry: WeeklyEntry) -> bool:
        if entry.document_id not in cache:
            row = store.document(entry.document_id)
            cache[entry.document_id] = row is None or provenance.kind(
                row.source, row.url) == "constructed"
        return cache[entry.document_id]

    def mark(entry: WeeklyEntry) -> WeeklyEntry:
        if not constructed(entry) or entry.constructed:
            return entry
        return entry.model_copy(update={
            "constructed": True, "title": f"{CONSTRUCTED_MARK} {entry.title}"})

    return digest.model_copy(update={
        "provenance_note": PROVENANCE_NOTE.format(mark=CONSTRUCTED_MARK),
        "areas": {a: [mark(e) for e in entries] for a, entries in digest.areas.items()},
        "consultations": [mark(e) for e in digest.consultations],
        "touching": [mark(e) for e in digest.touching],
    })
