"""`omvarld sources`: the sources with their last crawl and health, and `omvarld sources
record ID`, which writes the live answers of one crawl as fixtures with their provenance
(`omvarld.crawl.record`), ready to become a test."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from omvarld.cli.common import console, data_dir, err, errors, fail

if TYPE_CHECKING:
    from omvarld.ops.health import SourceHealth

app = typer.Typer()


@app.callback(invoke_without_command=True)
def sources(ctx: typer.Context) -> None:
    """List the sources with their last crawl and counts; `record` writes a crawl's answers
    as fixtures.

    Example: omvarld sources
    """
    if ctx.invoked_subcommand is not None:
        return
    from omvarld.config.load import load_sources
    from omvarld.ops.health import source_health
    from omvarld.ops.schedule import load_schedule
    from omvarld.store import Store

    with errors():
        catalogue = load_sources()
        store = Store.open()
        last = store.last_crawls()
        stored = store.document_counts_by_source()
        health = source_health(store, [s.id for s in catalogue.sources],
                               min_items=load_schedule().alerts.broken_min_items)
    table = Table(title="Sources")
    table.add_column("id", no_wrap=True)
    for col in ("level", "documents", "last run", "result", "last success", "health",
                "new (7 d)"):
        table.add_column(col)
    for s in catalogue.sources:
        run = last.get(s.id)
        success = store.last_success(s.id)
        result = "-"
        if run:
            style = "green" if run.status == "ok" else "red"
            result = (f"[{style}]{run.status}[/]: {run.new} new, {run.updated} updated, "
                      f"{run.unchanged} unchanged, {run.failed} failed")
            if run.errors:
                result += f" — {run.errors[0][:80]}"
        table.add_row(
            s.id if s.enabled else f"{s.id} (disabled)", s.level, str(stored.get(s.id, 0)),
            run.started.strftime("%Y-%m-%d %H:%M") if run else "never", result,
            success.strftime("%Y-%m-%d %H:%M") if success else "never",
            _health_cell(health[s.id]), str(health[s.id].new_recent),
        )
    console.print(table)


def _health_cell(h: SourceHealth) -> str:
    """ok / failed N× in a row / broken (no documents where there used to be many)."""
    if h.status == "broken":
        return f"[bold red]broken[/]: no documents (usually {h.typical_items:g})"
    if h.consecutive_failures:
        return f"[red]failed {h.consecutive_failures}× in a row[/]"
    return {"ok": "[green]ok[/]", "never": "never crawled"}.get(h.status, h.status)


@app.command()
def record(
    source_id: Annotated[str, typer.Argument(help="A source id from config/sources.yaml.")],
    out: Annotated[Path | None, typer.Option(
        help="Folder of recordings; the answers go into OUT/SOURCE_ID/ (default: "
             "recordings/ beside the database).")] = None,
    base_url: Annotated[str | None, typer.Option(
        help="Fetch from here instead of the configured URL (a mirror, the replay server).")
    ] = None,
    database_url: Annotated[str | None, typer.Option(
        help="Store the crawl here (default: a new temporary database, so that every page "
             "is fetched as on a first crawl and the real store is left alone).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Record into a folder that is not "
                                                        "empty.")] = False,
) -> None:
    """Crawl one source and write every answer as a fixture: the file, routes.json for the
    replay server, recorded.json (URL, time, status, headers, sha256) and PROVENANCE.md.
    Copy the folder to tests/fixtures/ to turn it into a test.

    Example: omvarld sources record riksdagen --out recordings
    """
    from omvarld.config.load import load_sources
    from omvarld.core.settings import get_settings
    from omvarld.crawl.run import run_crawl_in_subprocess

    with errors():
        source = load_sources().get(source_id)
        folder = (out or data_dir() / "recordings") / source.id
        if folder.exists() and any(folder.iterdir()) and not force:
            raise fail(f"{folder} is not empty; use --force to record into it")
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="omvarld-record-") as scratch:
            url = database_url or f"sqlite:///{scratch}/record.sqlite"
            report = run_crawl_in_subprocess(
                source.id, base_url=base_url, database_url=url,
                timeout=get_settings().crawl_timeout, record_dir=str(folder))
    files = [p for p in folder.iterdir() if p.name not in _INDEX_FILES]
    console.print(f"{source.id}: {report.status}, {report.seen} documents, "
                  f"{report.failed} failed; {len(files)} answers recorded in {folder}")
    for error in report.errors[:5]:
        err.print(f"  {error}")
    if not files:
        raise fail(f"{source.id}: nothing was recorded")


_INDEX_FILES = {"routes.json", "recorded.json", "PROVENANCE.md"}
