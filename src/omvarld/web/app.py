"""The FastAPI application: one context (settings, store, focus areas, access policy,
templates, a lazily loaded encoder) shared by the HTML pages, the JSON API and the
exports.

`create_app(settings, store)` builds it; `omvarld web` serves it with uvicorn. Templates
are Jinja2 with autoescaping everywhere: scraped titles and texts are untrusted and are
always shown as text."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from omvarld import __version__
from omvarld.config.load import FocusAreas, load_focus_areas
from omvarld.core.model import DOC_TYPE_NAMES_SV, LEVEL_NAMES_SV
from omvarld.core.settings import Settings, get_settings
from omvarld.store import Store
from omvarld.web.auth import COOKIE, AccessPolicy, Principal, same_origin

if TYPE_CHECKING:
    from omvarld.nlp.encoder import Encoder
    from omvarld.search.query import SearchQuery, SearchResult

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
LANGUAGE_NAMES_SV = {"sv": "Svenska", "en": "Engelska", "da": "Danska", "de": "Tyska",
                     "fr": "Franska", "und": "Okänt"}
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


@dataclass
class WebContext:
    """What every route needs, built once per app."""

    settings: Settings
    store: Store
    areas: FocusAreas
    policy: AccessPolicy
    templates: Jinja2Templates
    _encoder: Any = None
    _encoder_failed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def encoder(self) -> Encoder | None:
        """The documents' embedding model, loaded on first use (semantic search, similar
        documents); None, logged once, when it cannot be loaded."""
        with self._lock:
            if self._encoder is None and not self._encoder_failed:
                from omvarld.nlp.encoder import load_encoder

                s = self.settings
                try:
                    self._encoder = load_encoder(s.model_backend, s.model_dir,
                                                 batch_size=s.batch_size)
                except Exception:
                    log.exception("could not load the embedding model; semantic search "
                                  "and similar documents are off")
                    self._encoder_failed = True
            return self._encoder

    def search(self, query: SearchQuery) -> SearchResult:
        """Run a search; an unexpected failure becomes a message, never an error page."""
        from omvarld.search.query import SearchResult, search

        encoder = self.encoder() if query.semantic.strip() else None
        notes = []
        if query.semantic.strip() and encoder is None:
            query = query.model_copy(update={"semantic": ""})
            notes.append("Den semantiska sökningen är inte tillgänglig (modellen kunde inte "
                         "laddas); resultaten gäller bara orden.")
        try:
            result = search(self.store, query, encoder=encoder)
        except Exception:
            log.exception("search failed for %r", query)
            result = SearchResult(query=query, hits=[], total=0, page=query.page,
                                  per_page=query.per_page, facets={},
                                  message="Sökningen kunde inte utföras. Förenkla frågan och "
                                          "försök igen.")
        if result.message:
            notes += [_in_swedish(p.strip()) for p in result.message.split(";")]
        return result.model_copy(update={"message": " ".join(notes) or None})

    def area_name(self, area_id: str) -> str:
        try:
            return self.areas.get(area_id).name("sv")
        except KeyError:
            return area_id


def _in_swedish(message: str) -> str:
    """The search module's messages as the analysts read them (unknown ones as they are)."""
    from omvarld.search import query as s

    known = {
        s.NO_WORDS: "Frågan innehåller inga ord att söka på.",
        s.NO_MATCH: "Inget dokument innehåller alla de här orden.",
        s.FTS_FAILED: "Orden kunde inte sökas; pröva färre eller enklare ord.",
        s.SEMANTIC_FAILED: "Den semantiska sökningen misslyckades.",
    }
    if message in known:
        return known[message]
    if message.startswith("no document has been embedded"):
        return "Inga dokument är analyserade med språkmodellen ännu (omvarld classify)."
    if message.startswith("semantic search is unavailable"):
        return "Den semantiska sökningen är inte tillgänglig: modellen kunde inte laddas."
    return message


def context(request: Request) -> WebContext:
    return request.app.state.ctx


def principal(request: Request) -> Principal:
    """Every protected route depends on this: the caller, or a 401 / login redirect."""
    ctx: WebContext = request.app.state.ctx
    who = ctx.policy.identify(request)
    if who is None:
        raise ctx.policy.challenge(request)
    return who


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.autoescape = True  # every template, whatever its name
    env.globals.update(
        LEVEL_NAMES=LEVEL_NAMES_SV, DOC_TYPE_NAMES=DOC_TYPE_NAMES_SV,
        LANGUAGE_NAMES=LANGUAGE_NAMES_SV, version=__version__,
    )
    env.filters["sv_date"] = _sv_date
    env.tests["web_url"] = lambda u: isinstance(u, str) and u.startswith(("https://", "http://"))
    env.filters["score"] = lambda v: "–" if v is None else f"{float(v):.2f}"
    env.filters["percent"] = lambda v: f"{round(float(v) * 100)}"
    env.filters["thousands"] = lambda n: f"{int(n):,}".replace(",", "\u00a0")
    return templates


def _sv_date(value: date | datetime | None, with_time: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if with_time else value.date().isoformat()
    return value.isoformat()


def create_app(settings: Settings | None = None, store: Store | None = None) -> FastAPI:
    """The web app over `store` (default: the configured one). Raises ConfigError when
    bound to a non-loopback address without access control."""
    settings = settings or get_settings()
    policy = AccessPolicy.from_settings(settings)
    store = store or Store.open(settings.database_url)
    areas = load_focus_areas(settings.config_dir)
    ctx = WebContext(settings, store, areas, policy, _templates())

    app = FastAPI(
        title="omvarld",
        version=__version__,
        summary="Omvärldsbevakning för Malmö stad: klassificerade policydokument.",
        description="Search the classified documents (full-text, semantic, with filters and "
                    "facet counts), read a document with its labels and their evidence, "
                    "record an analyst's correction, list digests and weekly counts. "
                    "Authenticate with `Authorization: Bearer <OMVARLD_WEB_TOKEN>` or basic "
                    "auth when access control is on.",
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    from omvarld.web import api, pages

    app.include_router(_login_router())
    app.include_router(pages.router, dependencies=[Depends(principal)])
    app.include_router(api.router, prefix="/api", dependencies=[Depends(principal)])

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        path = request.url.path
        if not path.startswith(("/docs", "/redoc")):
            csp = _CSP
            if path.startswith("/digests/"):  # the digest files carry their own <style>
                csp = csp.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
            response.headers.setdefault("Content-Security-Policy", csp)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith("/api") or "text/html" not in request.headers.get(
                "accept", "") or exc.status_code in (301, 302, 303, 307):
            return await http_exception_handler(request, exc)
        return ctx.templates.TemplateResponse(
            request, "error.html", {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    return app


def _safe_next(target: str) -> str:
    """Only a path of this app: never another site (`//evil`, `https://…`)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_router() -> Any:
    from fastapi import APIRouter

    router = APIRouter(include_in_schema=False)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str = "/") -> Response:
        ctx = context(request)
        if not ctx.policy.token:
            return RedirectResponse(_safe_next(next), status_code=303)
        return ctx.templates.TemplateResponse(request, "login.html",
                                              {"next": _safe_next(next), "error": None})

    @router.post("/login", response_class=HTMLResponse)
    def login(request: Request, token: str = Form(""), next: str = Form("/")
              ) -> Response:
        ctx = context(request)
        if not same_origin(request):
            raise HTTPException(403, "Formuläret kom från en annan webbplats.")
        if not ctx.policy.token or not ctx.policy.check_token(token.strip()):
            return ctx.templates.TemplateResponse(
                request, "login.html",
                {"next": _safe_next(next), "error": "Fel nyckel. Försök igen."},
                status_code=401)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(COOKIE, ctx.policy.session_value(), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https",
                            max_age=60 * 60 * 24 * 30)
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        if not same_origin(request):
            raise HTTPException(403, "Formuläret kom från en annan webbplats.")
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return router
