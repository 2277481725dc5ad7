"""Every SQLite-only statement of the store, in one place.

WAL journal (readers never wait for the crawler), a busy timeout (two processes writing
wait instead of failing), foreign keys on, and an FTS5 index over title and text kept in
step by triggers. PostgreSQL gets its own counterpart; nothing outside this module and
the migrations that call it may assume SQLite."""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

import numpy as np
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from omvarld.store.textsearch import (
    MAX_QUERY_WORDS,
    QUERY_LANGUAGES,
    SNOWBALL,
    TextQuery,
    fts5_expression,
    index_text,
    parse,
    stem_words,
)

__all__ = ["MAX_QUERY_WORDS", "QUERY_LANGUAGES", "SNOWBALL", "stem_words"]

FTS_TABLE = "documents_fts"

_FTS_DDL = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
        title, text, content='documents', content_rowid='id',
        tokenize="unicode61 remove_diacritics 0")""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_fts_ai AFTER INSERT ON documents BEGIN
        INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_fts_ad AFTER DELETE ON documents BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
    END""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_fts_au AFTER UPDATE OF title, text ON documents
    BEGIN
        INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, title, text)
        VALUES ('delete', old.id, old.title, old.text);
        INSERT INTO {FTS_TABLE}(rowid, title, text) VALUES (new.id, new.title, new.text);
    END""",
]

_FTS_DROP = [
    "DROP TRIGGER IF EXISTS documents_fts_ai",
    "DROP TRIGGER IF EXISTS documents_fts_ad",
    "DROP TRIGGER IF EXISTS documents_fts_au",
    f"DROP TABLE IF EXISTS {FTS_TABLE}",
]


def configure_engine(engine: Engine) -> None:
    """Pragmas on every new connection."""

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()


def create_fulltext(conn: Connection) -> None:
    for ddl in _FTS_DDL:
        conn.execute(text(ddl))


def drop_fulltext(conn: Connection) -> None:
    for ddl in _FTS_DROP:
        conn.execute(text(ddl))


_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(user_query: str) -> str | None:
    """Turn free text into a safe FTS5 query: each word quoted (so operators and quotes
    typed by a user cannot break the syntax), the last one a prefix, all required."""
    words = _TOKEN.findall(user_query)
    if not words:
        return None
    quoted = [f'"{w}"' for w in words]
    quoted[-1] += "*"
    return " AND ".join(quoted)


def search_ids(conn: Connection, user_query: str, limit: int = 50) -> list[tuple[int, float]]:
    """Document ids matching `user_query`, best first, with bm25 scores (lower is better)."""
    query = fts_query(user_query)
    if query is None:
        return []
    rows = conn.execute(
        text(
            f"SELECT rowid, bm25({FTS_TABLE}, 3.0, 1.0) AS rank FROM {FTS_TABLE} "
            f"WHERE {FTS_TABLE} MATCH :q ORDER BY rank LIMIT :limit"
        ),
        {"q": query, "limit": limit},
    )
    return [(int(r[0]), float(r[1])) for r in rows]


# -- Swedish-aware full-text and exact vector search (omvarld.search) -------------------
# FTS5 cannot stem Swedish, and a trigger cannot call Python: the store writes each
# document's search terms (Snowball-stemmed in its language, folded across the Nordic
# spellings: `omvarld.store.textsearch`) into a second FTS5 table where it saves the
# document (`index_stemmed`), and a query is turned into terms the same way.
# The stemmed table keeps its own content, so a changed document is replaced by rowid
# without recomputing its old stems.

STEM_TABLE = "documents_stem_fts"

_STEM_DDL = [
    f"""CREATE VIRTUAL TABLE IF NOT EXISTS {STEM_TABLE} USING fts5(
        title, text, tokenize="unicode61 remove_diacritics 0")""",
    f"""CREATE TRIGGER IF NOT EXISTS documents_stem_fts_ad AFTER DELETE ON documents BEGIN
        DELETE FROM {STEM_TABLE} WHERE rowid = old.id;
    END""",
]

_STEM_DROP = [
    "DROP TRIGGER IF EXISTS documents_stem_fts_ad",
    f"DROP TABLE IF EXISTS {STEM_TABLE}",
]


def stem_text(value: str | None, language: str | None, folded: bool = True) -> str:
    """`value` as space-separated search terms (`textsearch.index_text`): what the
    stemmed index holds; `folded=False` gives the stems of revision 0004 (a downgrade)."""
    if folded:
        return index_text(value, language)
    return " ".join(stem_words(_TOKEN.findall(value or ""), language))


def create_stemmed(conn: Connection) -> None:
    for ddl in _STEM_DDL:
        conn.execute(text(ddl))


def drop_stemmed(conn: Connection) -> None:
    for ddl in _STEM_DROP:
        conn.execute(text(ddl))


def index_stemmed(conn: Any, doc_id: int, title: str, body: str, language: str | None) -> None:
    """(Re-)index one document in the stemmed table; `conn` is a Connection or Session
    inside the transaction that saves the document."""
    conn.execute(text(f"DELETE FROM {STEM_TABLE} WHERE rowid = :id"), {"id": doc_id})
    conn.execute(
        text(f"INSERT INTO {STEM_TABLE}(rowid, title, text) VALUES (:id, :title, :text)"),
        {"id": doc_id, "title": stem_text(title, language), "text": stem_text(body, language)},
    )


def reindex_stemmed(conn: Connection, batch: int = 500, folded: bool = True) -> int:
    """Index every stored document in the stemmed table (a migration's backfill)."""
    conn.execute(text(f"DELETE FROM {STEM_TABLE}"))
    last, done = 0, 0
    while True:
        rows = conn.execute(
            text("SELECT id, title, text, language FROM documents WHERE id > :last "
                 "ORDER BY id LIMIT :n"), {"last": last, "n": batch}).all()
        if not rows:
            return done
        conn.execute(
            text(f"INSERT INTO {STEM_TABLE}(rowid, title, text) VALUES (:id, :title, :text)"),
            [{"id": r[0], "title": stem_text(r[1], r[3], folded),
              "text": stem_text(r[2], r[3], folded)} for r in rows],
        )
        last, done = rows[-1][0], done + len(rows)


def stemmed_query(user_query: str) -> str | None:
    """Free text as a safe FTS5 query over the stemmed table (`textsearch.parse`): each
    word becomes its folded stems in the query languages, OR-ed; all words required; the
    last word also a prefix."""
    return fts5_expression(parse(user_query))


# Up to this many matches are ranked by bm25; more are ranked by whether all the words
# are in the title. bm25 reads every match's positions: measured ~400 ms for the 60,000
# matches of "regeringen" among 100,000 documents, where listing their ids takes ~20 ms.
RANK_ALL = 5000


def search_stemmed(conn: Connection, query: str | TextQuery, limit: int,
                   ids: Any = None) -> list[tuple[int, float]]:
    """(document id, score) best first — higher is better — over the stemmed table.

    The score is -bm25 with the title weighted three times the text; when more than
    `RANK_ALL` documents match, it is 1.0 for those with every word in the title and
    0.0 for the rest (ties: newer id first; the caller may order ties by date). Only
    documents in `ids` when given — matched first, then kept: `rowid IN (…)` would make
    FTS5 evaluate the whole query once per listed id."""
    expression = fts5_expression(parse(query) if isinstance(query, str) else query)
    if expression is None:
        return []
    try:
        return _search_stemmed(conn.connection.driver_connection, expression, limit, ids)
    except sqlite3.Error as exc:  # the raw driver's errors, as SQLAlchemy's
        raise OperationalError("MATCH", {"q": expression}, exc) from exc


def _search_stemmed(raw: sqlite3.Connection, query: str, limit: int, ids: Any
                    ) -> list[tuple[int, float]]:
    """The plain sqlite3 connection: tens of thousands of rows without SQLAlchemy's
    per-row work."""
    match = f"SELECT rowid FROM {STEM_TABLE} WHERE {STEM_TABLE} MATCH ?"
    matched = [r[0] for r in raw.execute(match, (query,))]
    keep = None if ids is None else {int(i) for i in ids}
    if keep is not None:
        matched = [i for i in matched if i in keep]
    if not matched:
        return []
    if len(matched) <= RANK_ALL:
        rows = raw.execute(
            f"SELECT rowid, bm25({STEM_TABLE}, 3.0, 1.0) AS rank FROM {STEM_TABLE} "
            f"WHERE {STEM_TABLE} MATCH ? ORDER BY rank", (query,)).fetchall()
        return [(int(i), -float(r)) for i, r in rows if keep is None or i in keep][:limit]
    in_title = {r[0] for r in raw.execute(match, (f"title : ({query})",))}
    matched.sort(reverse=True)
    ranked = [i for i in matched if i in in_title] + [i for i in matched if i not in in_title]
    return [(i, 1.0 if i in in_title else 0.0) for i in ranked[:limit]]


class VectorMatrix:
    """Document vectors of one model as one float32 matrix in memory, for an exact
    cosine search (100,000 x 384 is ~150 MB and a few milliseconds per query).

    Loaded once, then topped up, never re-read whole: embeddings are only ever inserted
    (`rowid` grows), so the rows to add are the embeddings added since, plus the
    documents added or changed since whose vector was already stored (the same text at
    a second URL, a document changed back)."""

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.seen: tuple = (0, 0, None)  # newest embeddings rowid, document id, update
        self.ids = np.empty(0, dtype=np.int64)
        self.matrix = np.empty((0, 0), dtype=np.float32)
        self.lock = threading.Lock()

    def refresh(self, conn: Connection) -> None:
        newest = tuple(conn.execute(text(
            "SELECT (SELECT max(rowid) FROM embeddings), (SELECT max(id) FROM documents), "
            "(SELECT max(updated) FROM documents)")).one())
        newest = (int(newest[0] or 0), int(newest[1] or 0), newest[2])
        if newest == self.seen:
            return
        last_rowid, last_doc, last_updated = self.seen
        query = ("SELECT d.id, e.vector FROM embeddings e JOIN documents d "
                 "ON d.content_hash = e.content_hash WHERE e.model_id = :model AND ")
        rows = []
        if newest[0] > last_rowid:
            rows += conn.execute(text(query + "e.rowid > :since"),
                                 {"model": self.model_id, "since": last_rowid}).all()
        if last_rowid and newest[1] > last_doc:
            rows += conn.execute(text(query + "d.id > :since"),
                                 {"model": self.model_id, "since": last_doc}).all()
        if last_rowid and last_updated is not None and newest[2] != last_updated:
            rows += conn.execute(text(query + "d.updated > :since"),
                                 {"model": self.model_id, "since": last_updated}).all()
        elif last_rowid and last_updated is None and newest[2] is not None:
            rows += conn.execute(text(query + "d.updated IS NOT NULL"),
                                 {"model": self.model_id}).all()
        self.seen = newest
        if not rows:
            return
        latest = {int(doc_id): blob for doc_id, blob in rows}  # a later row wins
        ids = np.fromiter(latest, dtype=np.int64, count=len(latest))
        vectors = np.stack([np.frombuffer(b, dtype=np.float32) for b in latest.values()])
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors = vectors / np.maximum(norms, 1e-12)
        if len(self.ids):
            keep = ~np.isin(self.ids, ids)  # a changed document: its new vector wins
            ids = np.concatenate([self.ids[keep], ids])
            vectors = np.concatenate([self.matrix[keep], vectors])
        self.ids, self.matrix = ids, np.ascontiguousarray(vectors, dtype=np.float32)

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        if not len(self.ids) or k <= 0:
            return []
        query = np.asarray(vector, dtype=np.float32).ravel()
        query = query / max(float(np.linalg.norm(query)), 1e-12)
        if query.shape[0] != self.matrix.shape[1]:
            raise ValueError(f"a {query.shape[0]}-dimensional query against "
                             f"{self.matrix.shape[1]}-dimensional vectors of {self.model_id}")
        cosines = self.matrix @ query
        k = min(k, len(cosines))
        top = np.argpartition(-cosines, k - 1)[:k] if k < len(cosines) else np.arange(k)
        top = top[np.argsort(-cosines[top], kind="stable")]
        return [(int(self.ids[i]), float(cosines[i])) for i in top]
