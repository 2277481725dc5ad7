"""Exact semantic search over the stored float32 vectors, on any database.

The answer where no vector index exists: SQLite, and PostgreSQL without pgvector. The
vectors are read a chunk at a time and only the best k of each chunk are kept, so memory
stays bounded whatever the size of the store; the result is exact (what an index only
approximates), which is also the yardstick `bench/bench_pgvector.py` measures recall by."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection

from omvarld.store.tables import DocumentRow, EmbeddingRow

CHUNK = 20_000


def exact_nearest(conn: Connection, vector: np.ndarray, model_id: str, k: int
                  ) -> list[tuple[int, float]]:
    """(document id, cosine similarity) of the k documents nearest to `vector`, best
    first (ties by id). Vectors of another size or model are not compared."""
    query = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(query))
    if k <= 0 or norm == 0.0 or not np.isfinite(norm):
        return []
    query = query / norm
    dim = int(query.shape[0])
    best_ids = np.empty(0, dtype=np.int64)
    best_sims = np.empty(0, dtype=np.float32)
    result = conn.execution_options(yield_per=CHUNK).execute(
        select(DocumentRow.id, EmbeddingRow.vector)
        .join(DocumentRow, DocumentRow.content_hash == EmbeddingRow.content_hash)
        .where(EmbeddingRow.model_id == model_id, EmbeddingRow.dim == dim)
    )
    for chunk in result.partitions(CHUNK):
        ids = np.fromiter((r[0] for r in chunk), dtype=np.int64, count=len(chunk))
        mat = np.frombuffer(b"".join(r[1] for r in chunk), dtype=np.float32).reshape(-1, dim)
        norms = np.linalg.norm(mat, axis=1)
        norms[norms == 0] = 1.0
        sims = (mat @ query) / norms
        best_ids = np.concatenate([best_ids, ids])
        best_sims = np.concatenate([best_sims, sims.astype(np.float32)])
        if best_ids.shape[0] > k:
            keep = np.argpartition(-best_sims, k - 1)[:k]
            best_ids, best_sims = best_ids[keep], best_sims[keep]
    order = np.lexsort((best_ids, -best_sims))[:k]
    return [(int(best_ids[i]), float(best_sims[i])) for i in order]
