"""Move a SQLite store into PostgreSQL with nothing lost: `omvarld db migrate-from`.

Both stores are first brought to the same Alembic revision, so they have the same
tables. Tables are copied in dependency order (a label after its document), a batch per
transaction, rows in primary-key order with their own ids; a row already present (same
primary key) is skipped, so an interrupted copy is resumed by running it again. Then
every table is compared: its row count and a checksum of its rows in primary-key order,
values normalised (floats by their exact value, dates and datetimes in ISO form, JSON with
sorted keys, NUL characters dropped as PostgreSQL cannot hold them), over the columns the
two stores share. The embeddings' pgvector column, on a server that has it, is filled
from the copied blobs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, String, Table, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from omvarld.core.errors import OmvarldError
from omvarld.store import Store
from omvarld.store import postgres as postgres_only

# Tables of the store's machinery, not its data.
SKIP_TABLES = {"alembic_version"}
Progress = Callable[[str, int, int], None]  # (table, rows done, rows in table)


@dataclass
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_checksum: str
    target_checksum: str
    copied: int = 0

    @property
    def ok(self) -> bool:
        return (self.source_rows == self.target_rows
                and self.source_checksum == self.target_checksum)


def _data_tables(engine: Engine) -> dict[str, Table]:
    import pgvector.sqlalchemy  # noqa: F401 - teaches reflection pgvector's `vector` type

    meta = MetaData()
    meta.reflect(engine)
    return {
        t.name: t for t in meta.sorted_tables
        if t.name not in SKIP_TABLES and not t.name.startswith("sqlite_")
        and "_fts" not in t.name  # SQLite's FTS5 tables: rebuilt by the target's own index
    }


def _primary_key(table: Table) -> list:
    cols = list(table.primary_key.columns)
    if not cols:
        raise OmvarldError(f"table {table.name} has no primary key: cannot copy it resumably")
    return cols


def _normal(value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value.hex()
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return "b:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict | list):
        return json.loads(json.dumps(value, sort_keys=True, default=str).replace("\\u0000", ""))
    return str(value)


def table_checksum(engine: Engine, table: Table, columns: list[str]) -> tuple[int, str]:
    """(rows, sha256 of the normalised rows in primary-key order) over `columns`."""
    digest = hashlib.sha256()
    rows = 0
    pk = [table.c[c.name] for c in _primary_key(table)]
    if engine.dialect.name == "postgresql":  # SQLite orders text by its bytes: so must we
        pk = [c.collate("C") if isinstance(c.type, String) else c for c in pk]
    with engine.connect() as conn:
        result = conn.execution_options(yield_per=2000).execute(
            select(*(table.c[c] for c in columns)).order_by(*pk)
        )
        for row in result:
            digest.update(json.dumps([_normal(v) for v in row], sort_keys=True).encode())
            digest.update(b"\n")
            rows += 1
    return rows, digest.hexdigest()


def migrate_from_sqlite(
    sqlite_file: Path, target_url: str, batch: int = 1000, progress: Progress | None = None
) -> list[TableCheck]:
    """Copy every table of the SQLite store at `sqlite_file` into the PostgreSQL store at
    `target_url` (created and migrated if new), then compare them table by table."""
    if not sqlite_file.is_file():
        raise OmvarldError(f"{sqlite_file}: no such SQLite file")
    source = Store.open(f"sqlite:///{sqlite_file}")
    target = Store.open(target_url)
    if target.is_sqlite:
        raise OmvarldError("the target must be PostgreSQL: set OMVARLD_DATABASE_URL or --to "
                           "to postgresql+psycopg://user@host/database")
    try:
        src_tables = _data_tables(source.engine)
        dst_tables = _data_tables(target.engine)
        missing = sorted(set(src_tables) - set(dst_tables))
        if missing:
            raise OmvarldError(f"tables missing in the target: {', '.join(missing)}")
        checks: list[TableCheck] = []
        for name, src in src_tables.items():
            dst = dst_tables[name]
            columns = [c.name for c in src.columns if c.name in dst.c]
            copied = _copy_table(source.engine, target.engine, src, dst, columns, batch,
                                 progress)
            checks.append(TableCheck(name, *_compare(source.engine, target.engine, src, dst,
                                                     columns), copied=copied))
        with target.engine.begin() as conn:
            postgres_only.reset_sequences(conn, list(src_tables))
            postgres_only.fill_terms(conn)  # the copied documents' folded search terms
            if postgres_only.has_vector_column(conn):
                postgres_only.fill_vectors(conn)
        return checks
    finally:
        source.close()
        target.close()


def _compare(src_engine: Engine, dst_engine: Engine, src: Table, dst: Table,
             columns: list[str]) -> tuple[int, int, str, str]:
    n_src, h_src = table_checksum(src_engine, src, columns)
    n_dst, h_dst = table_checksum(dst_engine, dst, columns)
    return n_src, n_dst, h_src, h_dst


def _copy_table(src_engine: Engine, dst_engine: Engine, src: Table, dst: Table,
                columns: list[str], batch: int, progress: Progress | None) -> int:
    """Copy rows in primary-key order, a batch per transaction; rows whose key is already
    in the target are skipped (ON CONFLICT DO NOTHING). Returns the rows inserted."""
    pk = _primary_key(src)
    with src_engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(src)).scalar() or 0)
    with dst_engine.connect() as conn:
        present = int(conn.execute(select(func.count()).select_from(dst)).scalar() or 0)
    if progress:
        progress(src.name, 0, total)
    if total == 0:
        return 0
    inserted = 0
    done = 0
    last: tuple | None = None
    key = tuple_(*pk) if len(pk) > 1 else pk[0]
    with src_engine.connect() as sconn:
        while True:
            query = select(*(src.c[c] for c in columns)).order_by(*pk).limit(batch)
            if last is not None:
                query = query.where(key > (tuple_(*last) if len(pk) > 1 else last[0]))
            rows = [dict(r._mapping) for r in sconn.execute(query)]
            if not rows:
                break
            last = tuple(rows[-1][c.name] for c in pk)
            done += len(rows)
            if present < total:  # a table copied completely before is only compared
                for row in rows:
                    for k, v in row.items():
                        if isinstance(v, str) and "\x00" in v:
                            row[k] = v.replace("\x00", "")
                with dst_engine.begin() as dconn:
                    result = dconn.execute(
                        pg_insert(dst).on_conflict_do_nothing(
                            index_elements=[dst.c[c.name] for c in pk]
                        ).returning(dst.c[pk[0].name]),
                        rows,
                    )
                    inserted += len(result.all())
            if progress:
                progress(src.name, done, total)
    return inserted
