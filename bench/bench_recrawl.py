"""Benchmark of incremental crawling: requests per new document on a re-crawl.

A weekly re-crawl should cost about one request per new document: listings are checked once,
stored documents are not fetched again, and paging stops where the stored documents begin.
This bench crawls every enabled source that has recorded responses (`tests/fixtures/<source>/
routes.json`) against the replay server, each in its own process as `omvarld crawl` does,
into a fresh SQLite store, three times:

1. **first crawl** (empty store): every document is new — requests per document is the
   baseline a crawler without incremental stops would pay on every run;
2. **re-crawl, nothing new**: what checking every listing costs (one request per feed,
   listing or API chain, whatever the number of documents);
3. **re-crawl, N new per source**: before it, the N newest stored documents of each source
   are removed from the store, so each listing again starts with N documents the store does
   not hold — exactly what a publisher adding N documents looks like to the spider, for every
   listing format (feeds, HTML, JSON APIs) without writing a new listing per format.

It prints per source and in total: requests (as the replay server counted them, robots.txt
left out), new documents, requests per new document; then the marginal cost of a new
document, (requests of 3 - requests of 2) / new documents, against the goal of 1.2.

    .venv/bin/python bench/bench_recrawl.py [--new 1] [--source malmo_stad ...] [--workers 2]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from omvarld.config.load import load_sources
from omvarld.core.model import CrawlReport
from omvarld.crawl.replay import FIXTURES, ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store
from omvarld.store.tables import DocumentRow

GOAL = 1.2
log = logging.getLogger("bench_recrawl")


@dataclass
class Pass:
    """One crawl of one source: its report and the requests the server saw for it."""

    report: CrawlReport
    requests: int
    attachments: int = 0

    @property
    def new(self) -> int:
        return self.report.new + self.report.updated


def crawl_all(
    server: ReplayServer, sources: list[str], database_url: str, workers: int, label: str
) -> dict[str, Pass]:
    """Crawl each source in its own process; requests counted per source prefix."""

    def one(source: str) -> tuple[str, Pass]:
        before = len(server.requested(source))
        report = run_crawl_in_subprocess(
            source, base_url=server.base_url(source), database_url=database_url, timeout=600
        )
        paths = server.requested(source)[before:]
        pdfs = sum(p.split("?")[0].lower().endswith(".pdf") for p in paths)
        return source, Pass(report, len(paths), pdfs)

    started = time.perf_counter()
    results: dict[str, Pass] = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (source, result) in enumerate(pool.map(one, sources), start=1):
            results[source] = result
            print(
                f"  [{label}] {done}/{len(sources)} {source}: {result.report.status}, "
                f"{result.new} new, {result.requests} requests",
                file=sys.stderr,
                flush=True,
            )
    print(f"  [{label}] {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return results


def remove_newest(database_url: str, sources: list[str], count: int) -> dict[str, int]:
    """Remove the `count` newest stored documents of each source (see the module docstring)."""
    store = Store.open(database_url)
    removed: dict[str, int] = {}
    try:
        with store.session() as session:
            for source in sources:
                ids = session.scalars(
                    select(DocumentRow.id)
                    .where(DocumentRow.source == source)
                    .order_by(DocumentRow.published.desc().nulls_last(), DocumentRow.id.desc())
                    .limit(count)
                ).all()
                if ids:
                    session.execute(delete(DocumentRow).where(DocumentRow.id.in_(ids)))
                removed[source] = len(ids)
    finally:
        store.close()
    return removed


def ratio(requests: int, documents: int) -> str:
    return f"{requests / documents:6.2f}" if documents else "     –"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--new", type=int, default=1, help="new documents per source (default 1)")
    parser.add_argument("--source", action="append", help="only these sources (repeatable)")
    parser.add_argument("--workers", type=int, default=2, help="crawls at once (default 2)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    with ReplayServer(FIXTURES) as server:
        enabled = [s.id for s in load_sources().enabled]
        sources = [s for s in enabled if server.serves(s) and (not args.source or s in args.source)]
        if not sources:
            print("no enabled source has recorded responses", file=sys.stderr)
            return 1
        with tempfile.TemporaryDirectory(prefix="bench_recrawl_") as folder:
            db = f"sqlite:///{folder}/bench.sqlite"
            print(f"{len(sources)} sources, {args.new} new document(s) per source", flush=True)
            first = crawl_all(server, sources, db, args.workers, "first crawl")
            idle = crawl_all(server, sources, db, args.workers, "re-crawl, nothing new")
            removed = remove_newest(db, sources, args.new)
            again = crawl_all(server, sources, db, args.workers, f"re-crawl, {args.new} new")

    header = (
        f"{'source':<22}{'1st req':>8}{'docs':>6}{'req/doc':>8}  "
        f"{'idle req':>8}  {'re req':>7}{'new':>5}{'req/new':>8}{'marginal':>9}  status"
    )
    print(header)
    print("-" * len(header))
    totals = dict.fromkeys(("r1", "d1", "r2", "r3", "n3", "a3"), 0)
    for source in sources:
        a, b, c = first[source], idle[source], again[source]
        status = (
            "ok"
            if {a.report.status, b.report.status, c.report.status} == {"ok"}
            else (
                "FAILED: " + "; ".join((c.report.errors or b.report.errors or a.report.errors)[:1])
            )
        )
        marginal = ratio(c.requests - b.requests, c.new)
        print(
            f"{source:<22}{a.requests:>8}{a.new:>6}{ratio(a.requests, a.new):>8}  "
            f"{b.requests:>8}  {c.requests:>7}{c.new:>5}{ratio(c.requests, c.new):>8}"
            f"{marginal:>9}  {status}"
        )
        if removed.get(source, 0) != c.new:
            print(f"{'':<22}(removed {removed.get(source, 0)}, re-crawl found {c.new})")
        totals["r1"] += a.requests
        totals["d1"] += a.new
        totals["r2"] += b.requests
        totals["r3"] += c.requests
        totals["n3"] += c.new
        totals["a3"] += c.attachments
    print("-" * len(header))
    print(
        f"{'total':<22}{totals['r1']:>8}{totals['d1']:>6}{ratio(totals['r1'], totals['d1']):>8}  "
        f"{totals['r2']:>8}  {totals['r3']:>7}{totals['n3']:>5}"
        f"{ratio(totals['r3'], totals['n3']):>8}"
        f"{ratio(totals['r3'] - totals['r2'], totals['n3']):>9}"
    )
    print()
    print(
        f"first crawl (baseline): {ratio(totals['r1'], totals['d1']).strip()} requests per document"
    )
    print(
        f"re-crawl with nothing new: {totals['r2']} requests "
        f"({totals['r2'] / len(sources):.1f} per source: the listings checked)"
    )
    per_new = totals["r3"] / totals["n3"] if totals["n3"] else float("nan")
    marginal = (totals["r3"] - totals["r2"]) / totals["n3"] if totals["n3"] else float("nan")
    print(
        f"re-crawl with {totals['n3']} new: {per_new:.2f} requests per new document "
        f"({totals['r3']} requests); marginal {marginal:.2f} per new document "
        f"(goal ≤ {GOAL}: {'met' if marginal <= GOAL else 'NOT met'}); "
        f"{totals['a3']} of the requests fetched PDF attachments of the new documents"
    )
    baseline = totals["r1"] / totals["d1"] if totals["d1"] else float("nan")
    print(
        f"ratio of the marginal cost to the first crawl's requests per document: "
        f"{marginal / baseline:.2f} (the rest of a re-crawl is one check per listing, "
        "however many documents the listing holds)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
