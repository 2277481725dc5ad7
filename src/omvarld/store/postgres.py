"""Every PostgreSQL-only statement of the store, in one place: the counterpart of
`omvarld.store.sqlite`.

Full-text search: a `tsvector` column on `documents` holding the document's folded search
terms (stemmed in its own language and folded across the Nordic spellings in Python, the
same terms as SQLite's index: `omvarld.store.textsearch`), title weighted above text, and
a GIN index over it (revision 0008; before it, a column generated with the text search
configuration of the document's language, which could not fold "Öresund" and "Øresund"
together).

Vectors: where the pgvector extension can be created (managed PostgreSQL services offer
it), `embeddings` gains a `vector` column filled beside the float32 blob and an HNSW index
(cosine) for the project's embedding size; semantic search then asks the index. Where it
cannot (a plain PostgreSQL without the extension, or a role without the privilege),
nothing changes and semantic search is exact, over the blobs (`omvarld.store.vectors`).
The blob stays the source of truth either way, so a store moves between servers with and
without pgvector without losing a vector."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection

from omvarld.store.textsearch import TextQuery, index_text, tsquery_expression

log = logging.getLogger(__name__)

# Document language → PostgreSQL text search configuration.
TS_CONFIGS: dict[str, str] = {"sv": "swedish", "en": "english", "da": "danish"}
FALLBACK_CONFIG = "simple"
TSV_COLUMN = "search_tsv"
TSV_INDEX = "ix_documents_search_tsv"
# to_tsvector refuses to build a vector over 1 MB; the first 300,000 characters of a
# document (a long report's first ~150 pages) stay well below it and cover what matters.
TEXT_CHARS = 300_000

VECTOR_COLUMN = "embedding"
UNFILLED_INDEX = "ix_embeddings_unfilled"
# multilingual-e5-small, the project's model: the size the HNSW index is built for.
INDEXED_DIMS: tuple[int, ...] = (384,)
# Candidates the HNSW index examines per query (pgvector's default is 40); at least 2k.
EF_SEARCH = 100
ADVISORY_LOCK_KEY = 0x6F6D7661  # "omva": one migration at a time across processes


def _config_case(column: str = "language") -> str:
    whens = " ".join(f"WHEN '{lang}' THEN '{cfg}'::regconfig" for lang, cfg in TS_CONFIGS.items())
    return f"CASE {column} {whens} ELSE '{FALLBACK_CONFIG}'::regconfig END"


def create_fulltext(conn: Connection) -> None:
    """The generated tsvector column (title weighted above text) and its GIN index."""
    cfg = _config_case()
    conn.execute(text(
        f"ALTER TABLE documents ADD COLUMN IF NOT EXISTS {TSV_COLUMN} tsvector "
        f"GENERATED ALWAYS AS ("
        f"setweight(to_tsvector({cfg}, coalesce(title, '')), 'A') || "
        f"setweight(to_tsvector({cfg}, left(coalesce(text, ''), {TEXT_CHARS})), 'B')"
        f") STORED"
    ))
    conn.execute(text(
        f"CREATE INDEX IF NOT EXISTS {TSV_INDEX} ON documents USING gin ({TSV_COLUMN})"
    ))


def drop_fulltext(conn: Connection) -> None:
    conn.execute(text(f"DROP INDEX IF EXISTS {TSV_INDEX}"))
    conn.execute(text(f"ALTER TABLE documents DROP COLUMN IF EXISTS {TSV_COLUMN}"))


# -- folded search terms (revision 0008) ------------------------------------------------
# The same terms as SQLite's stemmed table (`omvarld.store.textsearch`): stemmed in the
# document's language and folded in Python, stored as a plain tsvector of the `simple`
# configuration (which only splits and lower-cases), title weighted A and text B. A query
# is compiled to a tsquery of the same terms, so both stores match the same documents.

_TERMS_VECTOR = ("setweight(to_tsvector('simple', :title), 'A') || "
                 "setweight(to_tsvector('simple', :text), 'B')")


def create_terms_fulltext(conn: Connection) -> None:
    """Replace the generated per-language column by a tsvector of folded terms (filled
    by `index_terms` where a document is saved) and its GIN index."""
    drop_fulltext(conn)
    conn.execute(text(f"ALTER TABLE documents ADD COLUMN {TSV_COLUMN} tsvector"))
    conn.execute(text(
        f"CREATE INDEX IF NOT EXISTS {TSV_INDEX} ON documents USING gin ({TSV_COLUMN})"))


def _terms_row(doc_id: int, title: str | None, body: str | None, language: str | None
               ) -> dict[str, object]:
    return {"id": int(doc_id), "title": index_text(title, language),
            "text": index_text((body or "")[:TEXT_CHARS], language)}


def index_terms(conn: Any, doc_id: int, title: str | None, body: str | None,
                language: str | None) -> None:
    """(Re-)index one document's folded terms; `conn` is a Connection or Session inside
    the transaction that saves it."""
    conn.execute(text(f"UPDATE documents SET {TSV_COLUMN} = {_TERMS_VECTOR} WHERE id = :id"),
                 _terms_row(doc_id, title, body, language))


def fill_terms(conn: Connection, batch: int = 500, everything: bool = False) -> int:
    """Index the folded terms of every document still without them (rows copied by
    `omvarld db migrate-from`), or of every document (a migration's backfill)."""
    last, done = 0, 0
    where = "" if everything else f"AND {TSV_COLUMN} IS NULL"
    while True:
        rows = conn.execute(text(
            f"SELECT id, title, left(text, {TEXT_CHARS}), language FROM documents "
            f"WHERE id > :last {where} ORDER BY id LIMIT :n"), {"last": last, "n": batch}).all()
        if not rows:
            return done
        conn.execute(text(f"UPDATE documents SET {TSV_COLUMN} = {_TERMS_VECTOR} "
                          "WHERE id = :id"), [_terms_row(*r) for r in rows])
        last, done = rows[-1][0], done + len(rows)


def search_terms(conn: Connection, query: TextQuery, limit: int = 50,
                 ids: Sequence[int] | None = None) -> list[tuple[int, float]]:
    """(document id, ts_rank_cd) best first, higher is better, for a parsed query."""
    expression = tsquery_expression(query)
    if expression is None or (ids is not None and not ids):
        return []
    where_ids = "AND d.id = ANY(:ids)" if ids is not None else ""
    params: dict[str, object] = {"q": expression, "limit": int(limit)}
    if ids is not None:
        params["ids"] = [int(i) for i in ids]
    rows = conn.execute(text(
        f"SELECT d.id, ts_rank_cd(d.{TSV_COLUMN}, q.q) AS rank "
        f"FROM documents AS d, to_tsquery('simple', :q) AS q "
        f"WHERE d.{TSV_COLUMN} @@ q.q {where_ids} ORDER BY rank DESC, d.id LIMIT :limit"
    ), params)
    return [(int(r[0]), float(r[1])) for r in rows]


# -- vectors (pgvector) ----------------------------------------------------------------


def vector_literal(vector: np.ndarray) -> str:
    """pgvector's text form, exact for float32 values."""
    return "[" + ",".join(repr(float(x)) for x in np.asarray(vector, dtype=np.float32)) + "]"


def has_vector_column(conn: Connection) -> bool:
    """Whether `embeddings` carries pgvector's column (the extension was available)."""
    return bool(conn.execute(text(
        "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = 'embeddings' AND column_name = :c"
    ), {"c": VECTOR_COLUMN}).first())


def ensure_vectors(conn: Connection) -> bool:
    """Create pgvector's extension, column and HNSW index if the server allows it, and
    fill any vector still missing. Idempotent: run by migration 0006 and again at every
    open, so that installing the extension later switches semantic search to the index.
    Returns whether vectors are served by pgvector."""
    if not has_vector_column(conn):
        available = conn.execute(text(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
        )).first()
        if not available:
            log.info("pgvector is not installed on this server: semantic search is exact")
            return False
        try:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        except Exception as exc:  # no privilege: a managed service where it is not enabled
            log.warning("pgvector is installed but cannot be enabled (%s): semantic search "
                        "is exact", str(exc).splitlines()[0])
            return False
        conn.execute(text(f"ALTER TABLE embeddings ADD COLUMN IF NOT EXISTS {VECTOR_COLUMN} "
                          "vector"))
    if not _index_exists(conn, UNFILLED_INDEX):
        # A tiny index of the rows still to fill: the check at every open costs nothing.
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {UNFILLED_INDEX} ON embeddings "
                          f"(content_hash) WHERE {VECTOR_COLUMN} IS NULL"))
    for dim in INDEXED_DIMS:
        create_vector_index(conn, dim)
    fill_vectors(conn)
    return True


def create_vector_index(conn: Connection, dim: int) -> None:
    """An HNSW (cosine) index over the vectors of one size: pgvector indexes only columns
    of a fixed size, so the index is on an expression that casts to it, partial on `dim`."""
    dim = int(dim)
    if _index_exists(conn, f"ix_embeddings_hnsw_{dim}"):
        return  # CREATE INDEX IF NOT EXISTS would still lock the table against writers
    conn.execute(text(
        f"CREATE INDEX IF NOT EXISTS ix_embeddings_hnsw_{dim} ON embeddings "
        f"USING hnsw (({VECTOR_COLUMN}::vector({dim})) vector_cosine_ops) WHERE dim = {dim}"
    ))


def _index_exists(conn: Connection, name: str) -> bool:
    return conn.execute(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar()


def fill_vectors(conn: Connection, batch: int = 1000) -> int:
    """Fill pgvector's column from the blobs where it is empty (rows copied by
    `omvarld db migrate-from`, or stored before the extension was enabled)."""
    filled = 0
    while True:
        rows = conn.execute(text(
            f"SELECT content_hash, model_id, vector FROM embeddings "
            f"WHERE {VECTOR_COLUMN} IS NULL LIMIT :n"
        ), {"n": batch}).all()
        if not rows:
            return filled
        conn.execute(
            text(f"UPDATE embeddings SET {VECTOR_COLUMN} = CAST(:v AS vector) "
                 "WHERE content_hash = :h AND model_id = :m"),
            [{"v": vector_literal(np.frombuffer(blob, dtype=np.float32)), "h": h, "m": m}
             for h, m, blob in rows],
        )
        filled += len(rows)


def put_embeddings(conn: Connection, vectors: dict[str, np.ndarray], model_id: str,
                   with_vector: bool) -> None:
    """Insert vectors not stored yet; a vector stored meanwhile by another process is
    kept (ON CONFLICT DO NOTHING), never an error that loses the batch."""
    cols = "content_hash, model_id, dim, vector" + (f", {VECTOR_COLUMN}" if with_vector else "")
    vals = ":h, :m, :d, :b" + (", CAST(:v AS vector)" if with_vector else "")
    rows = []
    for h, vec in vectors.items():
        arr = np.asarray(vec, dtype=np.float32)
        row = {"h": h, "m": model_id, "d": int(arr.shape[0]), "b": arr.tobytes()}
        if with_vector:
            row["v"] = vector_literal(arr)
        rows.append(row)
    conn.execute(
        text(f"INSERT INTO embeddings ({cols}) VALUES ({vals}) "
             "ON CONFLICT (content_hash, model_id) DO NOTHING"),
        rows,
    )


def nearest_hnsw(conn: Connection, vector: np.ndarray, model_id: str, k: int
                 ) -> list[tuple[int, float]]:
    """The k documents nearest to `vector` (cosine similarity, best first), through the
    HNSW index when one covers this size, else pgvector's exact scan."""
    arr = np.asarray(vector, dtype=np.float32)
    dim = int(arr.shape[0])
    k = int(k)
    if k <= 0:
        return []
    # The size is part of the SQL, not a parameter: the planner must see `dim = 384` to
    # use the partial index.
    conn.execute(text(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, 2 * k)}"))
    rows = conn.execute(
        text(
            f"SELECT d.id, 1 - n.distance AS similarity FROM ("
            f"  SELECT content_hash, {VECTOR_COLUMN}::vector({dim}) <=> CAST(:q AS vector({dim}))"
            f"  AS distance FROM embeddings WHERE dim = {dim} AND model_id = :m"
            f"  ORDER BY {VECTOR_COLUMN}::vector({dim}) <=> CAST(:q AS vector({dim}))"
            f"  LIMIT :pool"
            f") AS n JOIN documents AS d ON d.content_hash = n.content_hash "
            f"ORDER BY n.distance, d.id LIMIT :k"
        ),
        {"q": vector_literal(arr), "m": model_id, "k": k, "pool": 2 * k + 10},
    )
    return [(int(i), float(s)) for i, s in rows]


def reset_sequences(conn: Connection, tables: Sequence[str]) -> None:
    """After rows were copied with their ids: move each serial column's sequence past the
    largest id, so the next insert does not collide with a copied row."""
    for table in tables:
        for (column,) in conn.execute(text(
            "SELECT a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relname = :t AND c.relnamespace = current_schema()::regnamespace "
            "AND a.attnum > 0 AND NOT a.attisdropped "
            "AND pg_get_serial_sequence(quote_ident(:t), a.attname) IS NOT NULL"
        ), {"t": table}):
            conn.execute(text(
                f'SELECT setval(pg_get_serial_sequence(:t, :c), '
                f'coalesce((SELECT max("{column}") FROM "{table}"), 0) + 1, false)'
            ), {"t": f'"{table}"', "c": column})


def advisory_lock(conn: Connection) -> None:
    """Serialise migrations across processes (two workers opening a fresh database at
    once): held until the migration's transaction ends."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_LOCK_KEY})


def drop_vectors(conn: Connection) -> None:
    """Undo `ensure_vectors` (the extension itself stays: other databases may use it)."""
    conn.execute(text(f"DROP INDEX IF EXISTS {UNFILLED_INDEX}"))
    for dim in INDEXED_DIMS:
        conn.execute(text(f"DROP INDEX IF EXISTS ix_embeddings_hnsw_{dim}"))
    conn.execute(text(f"ALTER TABLE embeddings DROP COLUMN IF EXISTS {VECTOR_COLUMN}"))
