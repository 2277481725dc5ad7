"""`omvarld db …`: the store's own commands — bring it to the newest schema, show what it
runs on, and move a SQLite store into PostgreSQL when one machine is no longer enough."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from omvarld.cli.common import console, errors, fail, progress_bar

if TYPE_CHECKING:
    from omvarld.store import Store

db_app = typer.Typer(help="The store: upgrade, check, move to PostgreSQL.", no_args_is_help=True)


def _describe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def upgrade(
    url: Annotated[str | None, typer.Option("--url", help="Store URL (default: "
                                            "OMVARLD_DATABASE_URL).")] = None,
) -> None:
    """Create the store or migrate it to the newest schema (every command does this on
    first use; run it once by hand before starting many workers at once).

    Example: OMVARLD_DATABASE_URL=postgresql+psycopg://omvarld@db/omvarld omvarld db upgrade
    """
    with errors():
        store = _open(url)
        console.print(f"{_describe(store.url)}: schema {_revision(store)}, "
                      f"semantic search: {_vector_mode(store)}")
        store.close()


@db_app.command("check")
def check(
    url: Annotated[str | None, typer.Option("--url", help="Store URL (default: "
                                            "OMVARLD_DATABASE_URL).")] = None,
) -> None:
    """What the store runs on: database, schema revision, full-text and semantic search,
    rows per table; exit status 1 if SQLite's integrity check fails.

    Example: omvarld db check
    """
    from sqlalchemy import MetaData, func, select

    with errors():
        store = _open(url)
        meta = MetaData()
        meta.reflect(store.engine)
        table = Table(title=_describe(store.url))
        table.add_column("table")
        table.add_column("rows", justify="right")
        with store.engine.connect() as conn:
            for t in meta.sorted_tables:
                if "_fts" in t.name or t.name == "alembic_version":
                    continue
                table.add_row(t.name, str(conn.execute(select(func.count()).select_from(t))
                                          .scalar()))
        console.print(table)
        full_text = "FTS5" if store.is_sqlite else "tsvector per document language (GIN)"
        console.print(f"schema {_revision(store)} · full-text: {full_text} · "
                      f"semantic search: {_vector_mode(store)}")
        integrity = store.integrity_check()
        store.close()
    if integrity != "ok":
        raise fail(f"integrity check: {integrity}")


@db_app.command("migrate-from")
def migrate_from(
    sqlite_file: Annotated[Path, typer.Argument(help="The SQLite store to move.")],
    to: Annotated[str | None, typer.Option("--to", help="The PostgreSQL store (default: "
                                           "OMVARLD_DATABASE_URL).")] = None,
    batch: Annotated[int, typer.Option(min=1, help="Rows per transaction.")] = 1000,
) -> None:
    """Copy a SQLite store into PostgreSQL, table by table, then compare row counts and a
    checksum of every table. Safe to run again: an interrupted copy resumes, rows already
    copied are skipped. Exit status 1 if any table differs.

    Example: omvarld db migrate-from data/omvarld.sqlite --to postgresql+psycopg://omvarld@db/omvarld
    """
    from omvarld.core.settings import get_settings
    from omvarld.store.transfer import migrate_from_sqlite

    with errors():
        target = to or get_settings().database_url
        console.print(f"{sqlite_file} → {_describe(target)}")
        with progress_bar() as bar:
            tasks: dict[str, int] = {}

            def step(table: str, done: int, total: int) -> None:
                if table not in tasks:
                    tasks[table] = bar.add_task(table, total=total or 1)
                bar.update(tasks[table], completed=done if total else 1)

            checks = migrate_from_sqlite(sqlite_file, target, batch=batch, progress=step)
    result = Table(title="SQLite → PostgreSQL")
    for col in ("table", "copied now", "rows (SQLite)", "rows (PostgreSQL)", "checksum", ""):
        result.add_column(col, justify="right" if "rows" in col or "copied" in col else "left")
    for c in checks:
        same = "[green]same[/]" if c.ok else "[red]DIFFERENT[/]"
        result.add_row(c.table, str(c.copied), str(c.source_rows), str(c.target_rows),
                       c.source_checksum[:12] + ("" if c.ok else " ≠ " + c.target_checksum[:12]),
                       same)
    console.print(result)
    bad = [c.table for c in checks if not c.ok]
    if bad:
        raise fail(f"the stores differ in: {', '.join(bad)} (run again to resume a copy; "
                    "a table that still differs had rows in PostgreSQL before)")
    console.print(f"all {len(checks)} tables the same: "
                  f"{sum(c.target_rows for c in checks)} rows")


def _open(url: str | None) -> Store:
    from omvarld.store import Store

    return Store.open(url)


def _revision(store: Store) -> str:
    from sqlalchemy import text

    with store.engine.connect() as conn:
        return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())


def _vector_mode(store: Store) -> str:
    if store.is_sqlite:
        return "exact (SQLite)"
    return "pgvector HNSW (cosine)" if store.has_pgvector else "exact (no pgvector here)"
