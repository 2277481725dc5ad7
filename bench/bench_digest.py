"""Benchmark of the weekly digest.

Builds a SQLite store with N documents (default 2,000) first seen in one week — real texts
from tests/fixtures/labelled/dev.jsonl, varied (title marker, paragraphs rotated), with
their hand labels as accepted labels, stakeholders, some near-duplicate stories and open
consultations — then times, in the same process:

- the baseline: a plain query of that week's documents (every column, labels loaded);
- `build_digest` (selection, ranking, stories, positions, stakeholders, trends): first in
  the process (the position matcher starts: spaCy pipelines and lemma tables), with the
  matcher started but nothing matched yet, again (matches cached per content hash), and
  without positions;
- `write_digest` (every format: HTML, Markdown, PDF, .ics, e-mail, archive).

and prints each as a ratio to the baseline.

    .venv/bin/python bench/bench_digest.py [--n 2000] [--no-pdf]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from omvarld.config.digest import load_digest_config
from omvarld.config.load import load_focus_areas
from omvarld.core.model import Document, Evidence, Label
from omvarld.digest import build as digest_module
from omvarld.digest.build import _week_bounds_utc, build_digest, parse_week
from omvarld.digest.positions import load_positions
from omvarld.digest.write import write_digest
from omvarld.store import Store
from omvarld.store.tables import DocumentRow

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "fixtures" / "labelled" / "dev.jsonl"
WEEK = "2026-W47"
NOW = datetime(2026, 11, 23, 7, 0)
DOC_TYPES = ["proposition", "sou", "remiss", "report", "press_release", "news", "committee_report",
             "legislative_proposal", "motion", "directive"]
LEVELS = ["national", "eu", "regional", "local"]
ACTORS = [("Regeringskansliet", "government"), ("Trafikverket", "authority"),
          ("Region Skåne", "region"), ("Malmö stad", "municipality"),
          ("Europeiska kommissionen", "eu"), ("Boverket", "authority"),
          ("Arbetsförmedlingen", "authority"), ("Migrationsverket", "authority"),
          ("SKR", "organisation"), ("Lunds kommun", "municipality")]


def varied_documents(n: int, seed: int = 7) -> list[tuple[Document, list[str]]]:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    rng = random.Random(seed)
    out = []
    for i in range(n):
        row = rows[i % len(rows)]
        paragraphs = [p for p in row["text"].split("\n\n") if p.strip()]
        shift = (i // len(rows)) % max(1, len(paragraphs))
        text = "\n\n".join(paragraphs[shift:] + paragraphs[:shift])
        doc_type = DOC_TYPES[i % len(DOC_TYPES)]
        out.append((Document(
            url=f"https://bench.example/{i}",
            source="bench",
            publisher=ACTORS[i % 5][0],
            level=LEVELS[i % len(LEVELS)],
            doc_type=doc_type,
            title=f"{row['title']} ({i // len(rows)})",
            text=text,
            language=row["language"],
            published=date(2026, 11, 16) - timedelta(days=rng.randint(0, 40)),
            deadline=(date(2026, 11, 23) + timedelta(days=rng.randint(1, 70))
                      if doc_type == "remiss" else None),
        ), row["labels"]))
    return out


def build_store(url: str, n: int) -> Store:
    store = Store.open(url)
    start, end = parse_week(WEEK)
    first, after = _week_bounds_utc(start, end)
    span = (after - first).total_seconds()
    docs = varied_documents(n)
    area_ids = load_focus_areas(ROOT / "config").ids
    rng = random.Random(11)
    t0 = time.perf_counter()
    for i, (doc, _labels) in enumerate(docs):
        store.save_document(doc, now=first + timedelta(seconds=span * i / n))
        if (i + 1) % 500 == 0:
            print(f"  stored {i + 1}/{n} documents ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    ids = {row.url: row.id for row in store.documents()}
    for i, (doc, labels) in enumerate(docs):
        doc_id = ids[doc.url]
        store.save_labels(doc_id, doc.content_hash, [
            Label(area=area, score=(0.5 + rng.random() / 2) if area in labels
                  else rng.random() / 2, threshold=0.5,
                  evidence=Evidence(terms=[area], sentence=doc.text[:120]),
                  model_version="bench")
            for area in area_ids
        ])
        store.save_annotations(doc_id, [ACTORS[(i + k) % len(ACTORS)] + (1,) for k in range(3)],
                               [])
        if (i + 1) % 500 == 0:
            print(f"  labelled {i + 1}/{n} documents ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    # Every tenth document is a near-duplicate of the one before it (one story).
    for i in range(10, n, 10):
        a, b = ids[docs[i - 1][0].url], ids[docs[i][0].url]
        store.set_story([a, b], min(a, b))
    return store


def clock(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--no-pdf", action="store_true")
    args = parser.parse_args()
    areas = load_focus_areas(ROOT / "config")
    config = load_digest_config(ROOT / "config")
    positions = load_positions(ROOT / "config").check_areas(areas)

    with tempfile.TemporaryDirectory() as tmp:
        print(f"building a store of {args.n} documents in {WEEK} …", flush=True)
        store = build_store(f"sqlite:///{tmp}/bench.sqlite", args.n)
        start, end = parse_week(WEEK)
        first, after = _week_bounds_utc(start, end)

        def plain_query() -> int:
            with store.session() as s:
                return len(list(s.scalars(
                    select(DocumentRow).options(selectinload(DocumentRow.labels))
                    .where(DocumentRow.first_seen >= first, DocumentRow.first_seen < after))))

        assert plain_query() == args.n

        def build():
            return build_digest(store, WEEK, areas=areas, now=NOW, config=config,
                                positions=positions)

        t0 = time.perf_counter()
        digest = build()
        cold = time.perf_counter() - t0

        def first_build() -> None:  # matcher started, but no document matched before
            digest_module._MATCH_CACHE.clear()
            build()

        def without_positions() -> None:
            build_digest(store, WEEK, areas=areas, now=NOW, config=config,
                         positions=positions.model_copy(update={"positions": []}))

        # Interleaved rounds, best of each: on a shared machine the load changes from one
        # minute to the next, and a ratio must compare like with like.
        best = {"baseline": [], "first": [], "warm": [], "none": []}
        for _ in range(3):
            for name, fn in (("baseline", plain_query), ("first", first_build),
                             ("warm", build), ("none", without_positions)):
                best[name].append(clock(fn, repeat=1))
        baseline, first, warm, no_positions = (min(best[k]) for k in
                                               ("baseline", "first", "warm", "none"))
        out = Path(tmp) / "digests"
        written = clock(lambda: write_digest(
            store, WEEK, out, areas=areas, now=NOW, config=config, positions=positions,
            pdf=not args.no_pdf), repeat=1)

        entries = sum(len(v) for v in digest.areas.values())
        print()
        print(f"week {WEEK}: {digest.documents_in_week} documents, {entries} entries, "
              f"{len(digest.consultations)} open consultations, "
              f"{len(digest.touching)} touching Malmö's positions")
        print(f"{'':38} {'seconds':>9} {'× baseline':>11}")
        rows = [
            ("plain query of the week (baseline)", baseline),
            ("build_digest, first in a process", cold),
            ("  … matcher already started", first),
            ("  … again (matches cached)", warm),
            ("build_digest without positions", no_positions),
            ("write_digest, every format" + (" but PDF" if args.no_pdf else ""), written),
        ]
        for name, seconds in rows:
            print(f"{name:38} {seconds:9.3f} {seconds / baseline:11.1f}")
        store.close()


if __name__ == "__main__":
    main()
