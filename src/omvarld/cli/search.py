"""`omvarld search` and `omvarld watch …`: the analysts' search and watches from a shell.

Thin over `omvarld.search.query` and `omvarld.search.watches`: options become a `SearchQuery`, the
answer is printed as a Rich table (with the facets), CSV (for Excel) or JSON. A bad
option value is a one-line error and exit status 1, like every other command."""

from __future__ import annotations

import csv
import functools
import inspect
import json
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from omvarld.cli.common import QueryArgument, console, errors, fail

app = typer.Typer()

if TYPE_CHECKING:
    from omvarld.search.query import Hit, SearchQuery, SearchResult
    from omvarld.store import Store

watch_app = typer.Typer(help="Watches (bevakningar): saved searches people subscribe to.",
                        no_args_is_help=True)

Format = Literal["table", "csv", "json"]
CSV_FIELDS = ("id", "published", "deadline", "level", "doc_type", "source", "publisher",
              "language", "title", "url", "score", "areas", "snippet")

# The search filters, shared by `search`, `watch add`, `watch edit` and `watch preview`:
# defined once here and added to each command's signature by `with_filters`.
FILTER_OPTIONS: dict[str, Any] = {
    "semantic": Annotated[str | None, typer.Option(
        "--semantic", "-s", help="A question in plain language, matched by meaning.")],
    "area": Annotated[list[str] | None, typer.Option(
        "--area", "-a", help="Focus-area id (repeatable): arbetsmarknad, migration, "
        "utbildning, transport, bostader, miljo.")],
    "min_score": Annotated[float | None, typer.Option(
        "--min-score", help="Minimum label score within the areas.")],
    "level": Annotated[list[str] | None, typer.Option(
        "--level", "-l", help="eu, national, regional or local (repeatable).")],
    "source": Annotated[list[str] | None, typer.Option(
        "--source", help="Source id (repeatable).")],
    "publisher": Annotated[list[str] | None, typer.Option(
        "--publisher", help="Publisher name (repeatable).")],
    "doc_type": Annotated[list[str] | None, typer.Option(
        "--type", "-t", help="Document type, e.g. remiss, sou, proposition (repeatable).")],
    "language": Annotated[list[str] | None, typer.Option(
        "--language", help="Language code, e.g. sv, en, da (repeatable).")],
    "since": Annotated[str | None, typer.Option(
        "--since", help="Published on or after this date (YYYY-MM-DD).")],
    "until": Annotated[str | None, typer.Option(
        "--until", help="Published on or before this date (YYYY-MM-DD).")],
    "stakeholder": Annotated[list[str] | None, typer.Option(
        "--stakeholder", help="Organisation named in the document (repeatable).")],
    "open_deadline": Annotated[bool | None, typer.Option(
        "--open-deadline/--any-deadline", help="Only documents whose deadline is still open.")],
}


def with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give `command` the search filter options: Typer reads them from the signature, and
    the command receives them together as `filters` (option name -> value or None)."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "filters"]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                annotation=annotation)
              for name, annotation in FILTER_OPTIONS.items()]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        filters = {name: kwargs.pop(name, None) for name in FILTER_OPTIONS}
        return command(*args, filters=filters, **kwargs)

    wrapper.__signature__ = signature.replace(parameters=own + shared)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**{k: v for k, v in command.__annotations__.items()
                                  if k != "filters"}, **FILTER_OPTIONS}
    return wrapper


def _date(value: str | None, option: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: {value!r} is not a date: write it as 2026-06-01") from None


def _check_areas(areas: list[str]) -> None:
    if not areas:
        return
    from omvarld.config.load import load_focus_areas
    from omvarld.core.settings import get_settings

    known = load_focus_areas(get_settings().config_dir).ids
    unknown = [a for a in areas if a not in known]
    if unknown:
        raise fail(f"--area: unknown focus area {unknown[0]!r}: use one of {', '.join(known)}")


def _fields(text: str | None, filters: dict[str, Any]) -> dict:
    """The options given (None = not given), as SearchQuery fields."""
    f = {name: filters.get(name) for name in FILTER_OPTIONS}
    semantic, area, min_score, level, source = (f["semantic"], f["area"], f["min_score"],
                                                f["level"], f["source"])
    publisher, doc_type, language, since, until = (f["publisher"], f["doc_type"],
                                                   f["language"], f["since"], f["until"])
    stakeholder, open_deadline = f["stakeholder"], f["open_deadline"]
    fields: dict = {"text": text, "semantic": semantic, "areas": area, "min_score": min_score,
                    "levels": level, "sources": source, "publishers": publisher,
                    "doc_types": doc_type, "languages": language,
                    "since": _date(since, "--since"), "until": _date(until, "--until"),
                    "stakeholders": stakeholder, "open_deadline": open_deadline}
    _check_areas(area or [])
    given = {k: v for k, v in fields.items() if v is not None}
    if since is not None and since == "":  # `--since ""` clears it when editing
        given["since"] = None
    if until is not None and until == "":
        given["until"] = None
    return given


def _query(fields: dict, **view: object) -> SearchQuery:
    from omvarld.search.query import SearchQuery
    from omvarld.search.watches import query_from_json

    with errors():
        return query_from_json({**SearchQuery().model_dump(), **fields, **view})


def _open_store() -> Store:
    from omvarld.store import Store

    return Store.open()


@app.command("search", cls=QueryArgument)
@with_filters
def search_command(
    text: Annotated[str, typer.Argument(help="Words to find (Swedish-aware).")] = "",
    sort: Annotated[str, typer.Option(help="relevance or date.")] = "relevance",
    page: Annotated[int, typer.Option(help="Page number, from 1.")] = 1,
    per_page: Annotated[int, typer.Option(help="Hits per page, 1-200.")] = 20,
    every: Annotated[bool, typer.Option(
        "--all", help="Every match instead of one page (for csv / json exports).")] = False,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    filters: dict[str, Any] | None = None,
) -> None:
    """Search the stored documents: words, meaning (--semantic) or both, with filters.

    Example: omvarld search "bostäder" --area bostader --level eu --since 2026-06-01 --format table

    Words may start with a dash: `omvarld search -bostad` (or `omvarld search -- -bostad`)
    searches for "-bostad".
    """
    if fmt not in ("table", "csv", "json"):
        raise fail(f"--format: {fmt!r}: use table, csv or json")
    if sort not in ("relevance", "date"):
        raise fail(f"--sort: {sort!r}: use relevance or date")
    query = _query(_fields(text, filters or {}),
                   sort=sort, page=page, per_page=per_page)
    store = _open_store()
    try:
        result = _run(store, query, every)
    finally:
        store.close()
    _print(result, fmt)


def _run(store: Store, query: SearchQuery, every: bool) -> SearchResult:
    from omvarld.search.query import hits, search, search_ids

    result = search(store, query)
    if every and result.total > len(result.hits):
        found, _ = search_ids(store, query)
        everything = []
        for start in range(0, len(found), 500):
            chunk = found[start : start + 500]
            everything += hits(store, [i for i, _ in chunk], [s for _, s in chunk], query.text)
        result = result.model_copy(update={"hits": everything, "page": 1,
                                           "per_page": max(len(everything), 1)})
    return result


def _print(result: SearchResult, fmt: str) -> None:
    if fmt == "json":
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return
    if fmt == "csv":
        _write_csv(result.hits)
        return
    if result.message:
        console.print(f"[yellow]{escape(result.message)}[/]")
    elif result.searched.terms:
        console.print(f"[dim]searched:[/] {escape(result.searched.describe())}")
    if result.hits:
        console.print(_hits_table(result.hits))
    pages = max(1, -(-result.total // result.per_page))
    console.print(f"{result.total} documents match · page {result.page} of {pages}")
    for name, counts in result.facets.items():
        if counts:
            top = " · ".join(f"{value} {count}" for value, count in list(counts.items())[:8])
            console.print(f"[dim]{name}:[/] {top}")


def _write_csv(hits: list[Hit]) -> None:
    writer = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for hit in hits:
        row = hit.model_dump(include=set(CSV_FIELDS))
        row["areas"] = ";".join(f"{a}={s:.2f}" for a, s in hit.areas.items())
        row["score"] = f"{hit.score:.4f}"
        writer.writerow(row)


def _hits_table(hits: list[Hit], title: str | None = None) -> Table:
    table = Table(title=title, show_lines=False)
    for column in ("id", "date", "level", "type", "publisher", "title", "areas", "score"):
        table.add_column(column, overflow="fold",
                         justify="right" if column in ("id", "score") else "left")
    for hit in hits:
        table.add_row(str(hit.id), hit.published.isoformat() if hit.published else "",
                      hit.level, hit.doc_type, escape(hit.publisher),
                      f"{escape(hit.title)}\n[dim]{escape(hit.url)}[/]",
                      ", ".join(hit.areas), f"{hit.score:.3f}")
    return table


# -- watches ------------------------------------------------------------------------------


@watch_app.command("add")
@with_filters
def watch_add(
    name: Annotated[str, typer.Argument(help="The watch's name, e.g. 'Nya Malmö hamn'.")],
    text: Annotated[str, typer.Option("--text", help="Words to find.")] = "",
    description: Annotated[str, typer.Option(help="What the watch follows.")] = "",
    filters: dict[str, Any] | None = None,
) -> None:
    """Save a search as a watch and record what it matches among the stored documents.

    Example: omvarld watch add "Öresundsmetro" --text "metro Öresund" --level regional
    """
    from omvarld.search.watches import create

    query = _query(_fields(text, filters or {}))
    store = _open_store()
    with errors():
        watch = create(store, name, query, description=description)
    store.close()
    console.print(f"watch [bold]{watch.name}[/] saved: {watch.matches} stored documents match")


@watch_app.command("list")
def watch_list() -> None:
    """The watches with their subscribers and matches.

    Example: omvarld watch list
    """
    from omvarld.search.watches import list_watches

    store = _open_store()
    watches = list_watches(store)
    store.close()
    table = Table(title="Watches")
    for column in ("name", "query", "subscribers", "matches", "applied"):
        table.add_column(column, overflow="fold")
    for w in watches:
        table.add_row(w.name, _describe(w.query),
                      ", ".join(f"{s.email} ({s.delivery})" for s in w.subscribers),
                      str(w.matches), w.applied.strftime("%Y-%m-%d %H:%M") if w.applied else "")
    console.print(table)


@watch_app.command("show")
def watch_show(
    name: Annotated[str, typer.Argument(help="The watch's name.")],
    limit: Annotated[int, typer.Option(help="How many of its matches to list.")] = 20,
) -> None:
    """A watch's query, subscribers and latest matches.

    Example: omvarld watch show "Öresundsmetro"
    """
    from omvarld.search.watches import get, matches

    store = _open_store()
    with errors():
        watch = get(store, name)
        found = matches(store, name)
    store.close()
    console.print(f"[bold]{watch.name}[/] {watch.description}")
    console.print(f"query: {_describe(watch.query)}")
    console.print("subscribers: " + (", ".join(f"{s.email} ({s.delivery})"
                                               for s in watch.subscribers) or "none"))
    console.print(_hits_table(found[:limit], title=f"{len(found)} matches, newest first"))


@watch_app.command("preview")
@with_filters
def watch_preview(
    name: Annotated[str | None, typer.Argument(help="A saved watch (or give a query).")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Words to find.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, csv or json.")] = "table",
    filters: dict[str, Any] | None = None,
) -> None:
    """What a watch — saved, or saved with these changes, or a new query — would match
    among the stored documents, without saving anything.

    Example: omvarld watch preview --text "hyresrätter" --area bostader
    """
    from omvarld.search.watches import get, preview

    fields = _fields(text, filters or {})
    store = _open_store()
    try:
        base = {}
        if name:
            with errors():
                base = get(store, name).query.model_dump()
        result = preview(store, _query({**base, **fields}))
    finally:
        store.close()
    _print(result, fmt)


@watch_app.command("edit")
@with_filters
def watch_edit(
    name: Annotated[str, typer.Argument(help="The watch's name.")],
    text: Annotated[str | None, typer.Option("--text", help="Words to find.")] = None,
    rename: Annotated[str | None, typer.Option(help="A new name.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    filters: dict[str, Any] | None = None,
) -> None:
    """Change a watch (only the options given) and re-apply it to everything stored.

    Example: omvarld watch edit "Öresundsmetro" --text "metro Öresund Köpenhamn"
    """
    from omvarld.search.watches import edit, get

    fields = _fields(text, filters or {})
    store = _open_store()
    try:
        with errors():
            query = _query({**get(store, name).query.model_dump(), **fields}) if fields else None
            watch = edit(store, name, query=query, new_name=rename, description=description)
    finally:
        store.close()
    console.print(f"watch [bold]{watch.name}[/] saved: {watch.matches} stored documents match")


@watch_app.command("remove")
def watch_remove(name: Annotated[str, typer.Argument(help="The watch's name.")]) -> None:
    """Delete a watch, its subscribers and its matches.

    Example: omvarld watch remove "Öresundsmetro"
    """
    from omvarld.search.watches import remove

    store = _open_store()
    with errors():
        remove(store, name)
    store.close()
    console.print(f"watch {name} removed")


@watch_app.command("subscribe")
def watch_subscribe(
    name: Annotated[str, typer.Argument(help="The watch's name.")],
    email: Annotated[str, typer.Argument(help="The subscriber's e-mail address.")],
    delivery: Annotated[str, typer.Option(
        help="digest (a section in the weekly digest) or email (as matches arrive).")
    ] = "digest",
    remove: Annotated[bool, typer.Option("--remove", help="Unsubscribe instead.")] = False,
) -> None:
    """Subscribe someone to a watch (or unsubscribe them with --remove).

    Example: omvarld watch subscribe "Öresundsmetro" anna.andersson@malmo.se --delivery email
    """
    from omvarld.search.watches import subscribe, unsubscribe

    store = _open_store()
    try:
        with errors():
            if remove:
                done = unsubscribe(store, name, email)
                console.print(f"{email} unsubscribed from {name}" if done
                              else f"{email} was not subscribed to {name}")
                return
            subscribe(store, name, email, delivery)  # type: ignore[arg-type]
    finally:
        store.close()
    console.print(f"{email} subscribed to {name} ({delivery})")


@watch_app.command("notify")
def watch_notify() -> None:
    """Apply every watch to the stored documents and e-mail the new matches to the
    subscribers who want them as they arrive (once each; failures are retried next time).

    Example: omvarld watch notify
    """
    from omvarld.search.watches import notify

    store = _open_store()
    try:
        with errors():
            report = notify(store)
    finally:
        store.close()
    console.print(f"{report.sent} e-mails sent ({report.documents} documents)")
    for failure in report.failed:
        console.print(f"[red]not sent:[/] {escape(failure)}")
    if report.failed:
        raise typer.Exit(1)


def _describe(query: SearchQuery) -> str:
    parts = []
    data = query.model_dump(exclude_defaults=True, exclude={"page", "per_page", "sort"})
    for key, value in data.items():
        shown = ", ".join(value) if isinstance(value, list) else value
        parts.append(f"{key}={json.dumps(shown, default=str, ensure_ascii=False)}")
    return " ".join(parts) or "(everything)"
