"""`omvarld sources`: the sources with their last crawl and health; `sources check`, which
fetches their entry points live and says what to fix (docs/operations.md, "First run on
the internet"); and `sources record ID`, which writes the live answers of one crawl as
fixtures with their provenance (`omvarld.crawl.record`), ready to become a test."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omvarld.cli.common import console, data_dir, err, errors, fail

if TYPE_CHECKING:
    from omvarld.crawl.check import SourceCheck
    from omvarld.ops.health import SourceHealth

app = typer.Typer(no_args_is_help=False)


@app.callback(invoke_without_command=True)
def sources(ctx: typer.Context) -> None:
    """List the sources with their last crawl and counts; `check` tries them live, `record`
    writes a crawl's answers as fixtures.

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
                result += f" — {escape(run.errors[0][:80])}"
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


@app.command()
def check(
    ids: Annotated[list[str] | None, typer.Argument(help="Source ids (default: every enabled "
                                                    "source).")] = None,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Fetch from here instead of the configured base URL (one source "
        "only: a mirror, a replay server).")] = None,
) -> None:
    """Fetch each source's entry points and report what they give; suggest what would work.

    Per source: HTTP status of each entry point, rows found with title, URL and date, one
    detail page's title, date and text length, sample titles. A source that finds nothing
    gets the feeds, sitemaps and JSON-LD lists its pages announce tried, and a YAML entry
    for config/sources.yaml printed for the first that works. Exit status 1 unless every
    source checked is healthy.

    Example: omvarld sources check consilium cor
    """
    from omvarld.config.load import load_sources
    from omvarld.crawl.check import check_sources

    with errors():
        catalogue = load_sources()
        chosen = [catalogue.get(i) for i in ids] if ids else catalogue.enabled
    if base_url and len(chosen) != 1:
        raise fail("--base-url needs exactly one source id")
    results = check_sources(chosen, lambda _: base_url)
    for result in results:
        _print_check(result)
    broken = [r.source_id for r in results if not r.healthy]
    if broken:
        err.print(f"[bold red]{len(broken)} of {len(results)} sources unhealthy:[/] "
                  f"{', '.join(broken)}")
        raise typer.Exit(1)
    console.print(f"[green]all {len(results)} sources healthy[/]")


def _print_check(r: SourceCheck) -> None:
    state = "[green]healthy[/]" if r.healthy else "[bold red]BROKEN[/]"
    console.print(f"\n[bold]{r.source_id}[/] ({r.kind}): {state}")
    for f in r.fetched:
        console.print(f"  {f.status or '---'}  {escape(f.url)}"
                      + (f"  {escape(f.error)}" if f.error else ""))
    console.print(f"  rows: {r.rows} (title {r.with_title}, URL {r.with_url}, "
                  f"date {r.with_date})")
    if r.detail:
        d = r.detail
        console.print(f"  detail: {d.status or '---'} {escape(d.url)}")
        console.print(f"    title: {escape(d.title) or '-'}; date: {d.published or '-'}; "
                      f"text: {d.text_chars} characters"
                      + (f"; problem: {escape(d.problem)}" if d.problem else ""))
    for title in r.samples:
        console.print(f"  · {escape(title)}")
    for problem in r.problems:
        console.print(f"  [red]problem:[/] {escape(problem)}")
    for s in r.suggestions:
        console.print(f"  [yellow]would work:[/] {escape(s.found)} — {s.rows} rows, e.g. "
                      f"{escape(s.samples[0]) if s.samples else '-'}")
        console.print("  replace the entry in config/sources.yaml with:")
        console.print(escape(s.as_yaml()), markup=True, highlight=False, soft_wrap=True)
    if not r.healthy and not r.suggestions:
        console.print("  nothing found that would work: read the site and correct the "
                      "entry's selectors")
