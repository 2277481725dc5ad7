"""Semantic search at scale: pgvector's HNSW index against exact search, on 100,000
vectors in PostgreSQL with pgvector (pgserver's private PostgreSQL 16 by default).

The vectors are realistic: perturbations of the 6,000 real document embeddings shipped
for training (multilingual-e5-small, 384 dimensions), so they bunch together the way
document embeddings do (a seeded random mixture would make nearest neighbours too easy).
Queries are other perturbations, not stored. Prints: the HNSW build time, the latency
(p50/p95) of `Store.nearest` through the index, of pgvector's exact scan and of the
store's own exact fallback (numpy over the stored blobs, what a PostgreSQL without pgvector
does), each as a ratio to HNSW, and HNSW's recall@10 against the exact answer.

    .venv/bin/python bench/bench_pgvector.py            # 100,000 vectors (~5-15 min)
    .venv/bin/python bench/bench_pgvector.py --n 20000  # quicker
    .venv/bin/python bench/bench_pgvector.py --url postgresql+psycopg://…  # a server of yours
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from omvarld.store import Store  # noqa: E402
from omvarld.store.vectors import exact_nearest  # noqa: E402

MODEL = "multilingual-e5-small"
DIM = 384
K = 10


def real_vectors() -> np.ndarray:
    with np.load(ROOT / "nlp" / "data" / "training" / "vectors.npz") as data:
        vecs = np.concatenate([data[k].astype(np.float32) for k in data.files
                               if k.startswith("vectors_")])
    vecs = vecs[:, :DIM] if vecs.shape[1] == DIM else sys.exit("the shipped vectors are not 384-d")
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def perturbed(base: np.ndarray, n: int, rng: np.random.Generator, spread: float = 0.35
              ) -> np.ndarray:
    """n unit vectors, each a real embedding moved a little in a random direction (a
    cosine of ~0.94 to its origin: a near-variant of a real document)."""
    picks = base[rng.integers(0, base.shape[0], n)]
    noise = rng.standard_normal((n, DIM)).astype(np.float32) * (spread / np.sqrt(DIM))
    out = picks + noise
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def load(store: Store, vecs: np.ndarray) -> float:
    """Documents and their vectors by COPY (binary for pgvector), the HNSW index dropped
    first and built after, as for a backfill. Returns the index build time."""
    from pgvector.psycopg import register_vector

    raw = store.engine.raw_connection()
    try:
        conn = raw.driver_connection
        register_vector(conn)
        with conn.cursor() as cur:
            cur.execute("DROP INDEX IF EXISTS ix_embeddings_hnsw_384")
            cur.execute("TRUNCATE documents, embeddings RESTART IDENTITY CASCADE")
            with cur.copy("COPY documents (url, content_hash, source, publisher, level, doc_type, "
                          "language, title, summary, text, attachments, first_seen, fetched) "
                          "FROM STDIN") as copy:
                for i in range(vecs.shape[0]):
                    copy.write_row((f"https://bench.example/{i}", f"h{i:07d}", "bench", "bench",
                                    "national", "report", "sv", f"Dokument {i}", "", "", "[]",
                                    "2026-01-01", "2026-01-01"))
            with cur.copy("COPY embeddings (content_hash, model_id, dim, vector, embedding) "
                          "FROM STDIN WITH (FORMAT BINARY)") as copy:
                copy.set_types(["varchar", "varchar", "int4", "bytea", "vector"])
                for i, v in enumerate(vecs):
                    copy.write_row((f"h{i:07d}", MODEL, DIM, v.tobytes(), v))
            conn.commit()
            cur.execute("SET maintenance_work_mem = '1GB'")
            cur.execute("SET max_parallel_maintenance_workers = 2")
            started = time.perf_counter()
            cur.execute("CREATE INDEX ix_embeddings_hnsw_384 ON embeddings USING hnsw "
                        "((embedding::vector(384)) vector_cosine_ops) WHERE dim = 384")
            conn.commit()
            build = time.perf_counter() - started
            cur.execute("ANALYZE documents")
            cur.execute("ANALYZE embeddings")
            conn.commit()
    finally:
        raw.close()
    return build


def pgvector_exact(store: Store, q: np.ndarray) -> list[tuple[int, float]]:
    """pgvector's own exact answer: the same query with the index switched off."""
    from sqlalchemy import text

    from omvarld.store import postgres as pg

    with store.engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_indexscan = off"))
        return pg.nearest_hnsw(conn, q, MODEL, K)


def timed(fn: Callable[[np.ndarray], list], queries: np.ndarray) -> tuple[list[float], list]:
    times, answers = [], []
    for q in queries:
        started = time.perf_counter()
        answers.append(fn(q))
        times.append((time.perf_counter() - started) * 1000)
    return times, answers


def pct(times: list[float], p: float) -> float:
    return float(np.percentile(times, p))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="vectors stored")
    parser.add_argument("--queries", type=int, default=200, help="queries through HNSW")
    parser.add_argument("--exact-queries", type=int, default=30,
                        help="queries through the exact searches (slow)")
    parser.add_argument("--url", help="a PostgreSQL with pgvector (default: pgserver's)")
    parser.add_argument("--spread", type=float, default=0.35,
                        help="noise added to each real embedding: 0.35 leaves a cosine of "
                        "~0.94 to it (near-variants), 0.8 ~0.78 (neighbourhoods overlap: "
                        "harder for the index)")
    args = parser.parse_args()

    folder = None
    url = args.url
    if url is None:
        import pgserver

        folder = tempfile.mkdtemp(prefix="omvarld-bench-pg-")
        server = pgserver.get_server(folder, cleanup_mode="stop")
        server.psql("DROP DATABASE IF EXISTS omvarld_bench;")
        server.psql("CREATE DATABASE omvarld_bench;")
        url = "postgresql+psycopg://" + server.get_uri("omvarld_bench").split("://", 1)[1]
    try:
        store = Store.open(url)
        if not store.has_pgvector:
            sys.exit("this PostgreSQL has no pgvector: nothing to compare")
        rng = np.random.default_rng(2026)
        base = real_vectors()
        vecs = perturbed(base, args.n, rng, args.spread)
        queries = perturbed(base, args.queries, rng, args.spread)
        print(f"{args.n:,} vectors × {DIM} (perturbed from {base.shape[0]:,} real document "
              f"embeddings, spread {args.spread}), {args.queries} queries, k={K}")
        started = time.perf_counter()
        build = load(store, vecs)
        print(f"loaded in {time.perf_counter() - started:.0f} s; HNSW index built in "
              f"{build:.0f} s (m=16, ef_construction=64, maintenance_work_mem 1GB)")

        # Ground truth: exact cosine in memory; document ids are 1 + row order (COPY).
        truth = [set((np.argsort(-(vecs @ q))[:K] + 1).tolist()) for q in queries]

        store.nearest(queries[0], MODEL, K)  # warm the cache
        hnsw_t, hnsw_ans = timed(lambda q: store.nearest(q, MODEL, K), queries)
        recall = float(np.mean([len({i for i, _ in a} & t) / K
                                for a, t in zip(hnsw_ans, truth, strict=True)]))
        eq = queries[: args.exact_queries]
        exact_t, exact_ans = timed(lambda q: pgvector_exact(store, q), eq)
        exact_recall = float(np.mean([len({i for i, _ in a} & t) / K
                                      for a, t in zip(exact_ans, truth, strict=False)]))
        fb = queries[: max(3, args.exact_queries // 3)]

        def fallback(q: np.ndarray) -> list[tuple[int, float]]:
            with store.engine.connect() as conn:
                return exact_nearest(conn, q, MODEL, K)

        fb_t, _ = timed(fallback, fb)
        store.close()

        h50, h95 = pct(hnsw_t, 50), pct(hnsw_t, 95)
        print(f"{'search':38s} {'p50 ms':>9s} {'p95 ms':>9s} {'p95 / HNSW':>11s} "
              f"{'recall@10':>10s}")
        print(f"{'HNSW (pgvector, Store.nearest)':38s} {h50:9.1f} {h95:9.1f} {1:11.1f} "
              f"{recall:10.3f}")
        e95 = pct(exact_t, 95)
        print(f"{'exact scan (pgvector, no index)':38s} {pct(exact_t, 50):9.1f} {e95:9.1f} "
              f"{e95 / h95:11.1f} {exact_recall:10.3f}")
        f95 = pct(fb_t, 95)
        print(f"{'exact fallback (numpy over blobs)':38s} {pct(fb_t, 50):9.1f} {f95:9.1f} "
              f"{f95 / h95:11.1f} {1:10.3f}")
        print(f"HNSW is {e95 / h95:.0f}× faster at p95 than pgvector's exact scan and "
              f"{f95 / h95:.0f}× faster than the fallback, at recall@10 {recall:.3f}")
    finally:
        if folder:
            server.cleanup()
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
