"""Every SQLite-only statement of the store, in one place.

WAL journal (readers never wait for the crawler), a busy timeout (two processes writing
wait instead of failing), foreign keys on, and an FTS5 index over title and text kept in
step by triggers. PostgreSQL gets its own counterpart; nothing outside this module and
the migrations that call it may assume SQLite."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

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
