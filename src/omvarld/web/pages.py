"""The HTML pages: search, document, correction, digest archive, dashboard, exports.

Plain server-rendered forms (GET for searching, POST for corrections) so everything works
without JavaScript; the query string of a search is also the address of its exports."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from omvarld.store import document_date
from omvarld.web import exports, queries
from omvarld.web.auth import Principal, post_allowed
from omvarld.web.deps import LANGUAGE_NAMES_SV, WebContext, context, principal
from omvarld.web.params import DocId, SearchParams, search_params, to_query

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
WEEK = re.compile(r"^\d{4}-W\d{2}$")
_WORD = re.compile(r"\w+", re.UNICODE)

# (facet key in SearchResult.facets, query parameter, heading)
FACETS: list[tuple[str, str, str]] = [
    ("area", "area", "Fokusområde"),
    ("level", "level", "Nivå"),
    ("doc_type", "type", "Dokumenttyp"),
    ("source", "source", "Källa"),
    ("publisher", "publisher", "Utgivare"),
    ("language", "lang", "Språk"),
    ("stakeholder", "stakeholder", "Aktörer som nämns"),
]
FACET_LIMIT = 12


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass
class Facet:
    key: str
    param: str
    heading: str
    values: list[FacetValue]
    hidden: int  # values left out (beyond FACET_LIMIT)


def highlight(text: str, query: str) -> list[tuple[str, bool]]:
    """`text` cut into (segment, is_match) pieces for the query's words (prefix match, so
    "bostad" marks "bostäder"… as far as a prefix can): the template escapes each piece,
    so no markup from the text ever reaches the page."""
    stems = {w.lower()[: max(4, len(w) - 2)] for w in _WORD.findall(query) if len(w) >= 3}
    if not stems or not text:
        return [(text, False)]
    out: list[tuple[str, bool]] = []
    last = 0
    for match in _WORD.finditer(text):
        word = match.group().lower()
        if any(word.startswith(stem) for stem in stems):
            out.append((text[last:match.start()], False))
            out.append((match.group(), True))
            last = match.end()
    out.append((text[last:], False))
    return [piece for piece in out if piece[0]]


def _facet_label(ctx: WebContext, key: str, value: str) -> str:
    if key == "area":
        return ctx.area_name(value)
    if key == "level":
        return ctx.templates.env.globals["LEVEL_NAMES"].get(value, value)
    if key == "doc_type":
        return ctx.templates.env.globals["DOC_TYPE_NAMES"].get(value, value)
    if key == "language":
        return LANGUAGE_NAMES_SV.get(value, value)
    if key == "source":
        return source_names(ctx).get(value, value)
    return value


_source_names: dict[Path, dict[str, str]] = {}


def source_names(ctx: WebContext) -> dict[str, str]:
    """Source id -> its name in config/sources.yaml (read once per configuration)."""
    folder = Path(ctx.settings.config_dir)
    names = _source_names.get(folder)
    if names is None:
        from omvarld.config.load import load_sources

        try:
            names = {s.id: s.name for s in load_sources(folder).sources}
        except Exception as exc:  # a broken sources.yaml must not break the search page
            log.warning("source names not read from %s: %s", folder, exc)
            names = {}
        _source_names[folder] = names
    return names


def _facets(ctx: WebContext, params: SearchParams, counts: dict[str, dict[str, int]],
            expand: str = "") -> list[Facet]:
    """The facets to show, most frequent values first; a long facet shows FACET_LIMIT
    values (and those selected) unless it is the one `expand` names."""
    out = []
    for key, param, heading in FACETS:
        selected: list[str] = getattr(params, param)
        values = counts.get(key, {})
        ranked = sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
        top = ranked if key == expand else ranked[:FACET_LIMIT]
        shown = list(top)
        shown += [(v, values.get(v, 0)) for v in selected if v not in dict(shown)]
        if not shown:
            continue
        out.append(Facet(key, param, heading, [
            FacetValue(v, _facet_label(ctx, key, v), n, v in selected) for v, n in shown
        ], len(ranked) - len(top)))
    return out


def _open_count(counts: dict[str, dict[str, int]]) -> int | None:
    values = counts.get("open_deadline") or {}
    for key in ("true", "True", "1", "yes", "ja", "open"):
        if key in values:
            return values[key]
    return None


@router.get("/", response_class=HTMLResponse)
def search_page(request: Request, params: Annotated[SearchParams, Depends(search_params)],
                more: str = "") -> Response:
    ctx = context(request)
    query, problems = to_query(params)
    result = ctx.search(query)
    pages = max(1, -(-result.total // result.per_page)) if result.per_page else 1
    return ctx.templates.TemplateResponse(request, "search.html", {
        "params": params, "query": query, "result": result, "problems": problems,
        "facets": _facets(ctx, params, result.facets, more),
        "open_count": _open_count(result.facets),
        "pages": pages, "areas": ctx.areas, "area_name": ctx.area_name,
        "highlight": highlight, "export_cap": exports.EXPORT_CAP,
        "active": "search",
    })


def _document_or_404(ctx: WebContext, doc_id: int):
    row = ctx.store.document(doc_id)
    if row is None:
        raise HTTPException(404, f"Det finns inget dokument med nummer {doc_id}.")
    return row


def _similar(ctx: WebContext, doc_id: int, content_hash: str) -> list | None:
    """The nearest documents by stored vectors; None while this document has none (the
    classify stage stores them): embedding a text inside a page request would make the
    page wait seconds."""
    from omvarld.search.query import similar

    encoder = ctx.encoder()
    if encoder is None or not ctx.store.embeddings([content_hash], encoder.model_id):
        return None
    try:
        return similar(ctx.store, doc_id, k=5, encoder=encoder)
    except Exception:
        log.exception("similar documents of %s failed", doc_id)
        return []


def document_view(ctx: WebContext, doc_id: int) -> dict:
    """Everything the document page (and the API) shows about one document."""
    row = _document_or_404(ctx, doc_id)
    labels = sorted(row.labels, key=lambda lb: (not lb.accepted, -lb.score))
    story = [r for r in ctx.store.story(doc_id) if r.id != doc_id]
    return {
        "doc": row,
        "date": document_date(row),
        "paragraphs": [p for p in (row.text or "").split("\n\n") if p.strip()],
        "labels": labels,
        "stakeholders": ctx.store.stakeholders_of(doc_id),
        "references": ctx.store.references_of(doc_id),
        "story": story,
        "corrections": queries.corrections_of(ctx.store, doc_id),
    }


@router.get("/documents/{doc_id}", response_class=HTMLResponse)
def document_page(request: Request, doc_id: DocId, who: Annotated[Principal, Depends(principal)],
                  saved: str = "") -> Response:
    ctx = context(request)
    view = document_view(ctx, doc_id)
    similar = _similar(ctx, doc_id, view["doc"].content_hash)
    if similar:  # the story's other publishers are listed already
        in_story = {r.id for r in view["story"]}
        similar = [h for h in similar if h.id not in in_story]
    return ctx.templates.TemplateResponse(request, "document.html", {
        **view, "similar": similar,
        "areas": ctx.areas,
        "area_name": ctx.area_name, "who": who, "saved": saved == "1", "form_error": None,
        "form": {},
    })


@router.post("/documents/{doc_id}/corrections", response_class=HTMLResponse)
def correct(
    request: Request, doc_id: DocId, who: Annotated[Principal, Depends(principal)],
    area: Annotated[str, Form()] = "", action: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "", author: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Store an analyst's correction (add or remove an area) with who and when."""
    ctx = context(request)
    if not post_allowed(request, csrf_token):
        raise HTTPException(403, "Formuläret kom från en annan webbplats.")
    name = who.name or author.strip()
    problem = validate_correction(ctx, area, action, comment, name)
    if problem:
        view = document_view(ctx, doc_id)
        return ctx.templates.TemplateResponse(request, "document.html", {
            **view, "similar": [], "areas": ctx.areas, "area_name": ctx.area_name,
            "who": who, "saved": False, "form_error": problem,
            "form": {"area": area, "action": action, "comment": comment, "author": author},
        }, status_code=400)
    _document_or_404(ctx, doc_id)
    ctx.store.add_feedback(doc_id, area, action, name[:128], comment.strip())
    return RedirectResponse(f"/documents/{doc_id}?saved=1#rattelser", status_code=303)


def validate_correction(ctx: WebContext, area: str, action: str, comment: str,
                        author: str) -> str | None:
    """A message (Swedish) saying what is wrong with a correction, or None."""
    if area not in ctx.areas.ids:
        return "Välj ett fokusområde."
    if action not in ("add", "remove"):
        return "Välj om området ska läggas till eller tas bort."
    if not author:
        return "Skriv ditt namn, så att rättelsen kan följas upp."
    if len(author) > 128:
        return "Namnet får vara högst 128 tecken."
    if len(comment) > 4000:
        return "Kommentaren får vara högst 4000 tecken."
    return None


@router.get("/digests", response_class=HTMLResponse)
def digest_archive(request: Request) -> Response:
    ctx = context(request)
    rows = queries.digests(ctx.store)
    return ctx.templates.TemplateResponse(request, "digests.html", {
        "digests": [(row, {k: Path(p).is_file() for k, p in (row.paths or {}).items()},
                     _documents_in_week(row)) for row in rows]})


def _documents_in_week(row) -> int | None:
    """The week's new documents as its digest counted them (from the archived JSON)."""
    import json

    path = Path((row.paths or {}).get("json", ""))
    try:
        return int(json.loads(path.read_text(encoding="utf-8"))["documents_in_week"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@router.get("/digests/{week}.{ext}")
def digest_file(request: Request, week: str, ext: str) -> Response:
    ctx = context(request)
    kind = {"html": "html", "md": "markdown"}.get(ext)
    if kind is None or not WEEK.match(week):
        raise HTTPException(404, "Det finns ingen sådan digest.")
    row = ctx.store.digest_record(week)
    path = Path((row.paths or {}).get(kind, "")) if row else None
    if path is None or not path.is_file():
        raise HTTPException(404, f"Digesten för {week} finns inte (längre) på disk.")
    media = "text/html; charset=utf-8" if kind == "html" else "text/markdown; charset=utf-8"
    return FileResponse(path, media_type=media)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, weeks: str = "26", until: str = "", basis: str = "published"
              ) -> Response:
    ctx = context(request)
    try:
        n_weeks = min(max(int(weeks), 1), 260)
    except ValueError:
        n_weeks = 26
    try:
        end = date.fromisoformat(until) if until else date.today()
    except ValueError:
        end = date.today()
    end = min(max(end, queries.FIRST_DAY), queries.LAST_DAY)
    basis = basis if basis in ("published", "first_seen") else "published"
    rows = queries.weekly_counts(ctx.store, n_weeks, until=end, basis=basis)
    peak = max([1, *(n for r in rows for n in r.areas.values())])
    newest = queries.newest_date(ctx.store)
    return ctx.templates.TemplateResponse(request, "dashboard.html", {
        "rows": list(reversed(rows)), "areas": ctx.areas, "peak": peak, "weeks": n_weeks,
        "until": end, "basis": basis, "newest": newest,
        "empty": not any(r.documents for r in rows), "timedelta": timedelta,
    })


@router.get("/export.{fmt}")
def export(request: Request, fmt: str, params: Annotated[SearchParams, Depends(search_params)]
           ) -> Response:
    """The current search (same query string) as a file: every hit up to the cap."""
    ctx = context(request)
    if fmt not in exports.MEDIA_TYPES:
        raise HTTPException(404, "Exportformat: csv, xlsx eller parquet.")
    query, _problems = to_query(params)
    hits, total = exports.collect_hits(ctx.search, query)
    frame = exports.hits_frame(hits, ctx.areas.ids)
    if fmt != "parquet":  # a spreadsheet is read: words, not codes
        env = ctx.templates.env.globals
        frame = exports.readable(
            frame, areas={a: ctx.area_name(a) for a in ctx.areas.ids},
            sources=source_names(ctx), levels=env["LEVEL_NAMES"],
            doc_types=env["DOC_TYPE_NAMES"], languages=LANGUAGE_NAMES_SV)
    body = exports.render(frame, fmt)  # type: ignore[arg-type]
    stamp = date.today().isoformat()
    headers = {
        "Content-Disposition": f'attachment; filename="omvarld-{stamp}.{fmt}"',
        "X-Total-Matches": str(total),
        "X-Exported-Rows": str(len(hits)),
    }
    if total > len(hits):
        headers["X-Export-Truncated"] = f"first {len(hits)} of {total} matches"
    return Response(body, media_type=exports.MEDIA_TYPES[fmt], headers=headers)
