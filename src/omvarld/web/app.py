"""The FastAPI application: one context (settings, store, focus areas, access policy,
templates, a lazily loaded encoder) shared by the HTML pages, the JSON API and the
exports.

`create_app(settings, store)` builds it; `omvarld web` serves it with uvicorn. Templates
are Jinja2 with autoescaping everywhere: scraped titles and texts are untrusted and are
always shown as text."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Form, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from omvarld import __version__
from omvarld.config.load import load_focus_areas
from omvarld.core.settings import Settings, get_settings
from omvarld.store import Store
from omvarld.web import api, pages, queries
from omvarld.web.auth import (
    COOKIE,
    CSRF_COOKIE,
    AccessPolicy,
    client_of,
    new_secret,
    post_allowed,
    session_key,
    too_many,
)
from omvarld.web.deps import HERE, WebContext, _templates, context, principal

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)
_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


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
                    "auth when access control is on. A POST without an `Origin` header "
                    "needs a bearer token or the page's CSRF token (`X-CSRF-Token`).",
        docs_url=None, redoc_url=None, openapi_url=None,  # served below, behind the login
    )
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    app.include_router(_login_router())
    app.include_router(_docs_router(app), dependencies=[Depends(principal)])
    app.include_router(pages.router, dependencies=[Depends(principal)])
    app.include_router(api.router, prefix="/api", dependencies=[Depends(principal)])

    @app.middleware("http")
    async def _csrf_cookie(request: Request, call_next: Any) -> Response:
        """Every browser gets a random CSRF token in a cookie; the forms repeat it."""
        token = request.cookies.get(CSRF_COOKIE) or new_secret()
        request.state.csrf = token
        response = await call_next(request)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict",
                                secure=request.url.scheme == "https")
        return response

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

    @app.middleware("http")
    async def _allowed_hosts(request: Request, call_next: Any) -> Response:
        """Only the names this app is known by: a page on another name that resolves to
        this machine (DNS rebinding) gets nothing, not even a 404."""
        if not ctx.policy.host_allowed(request):
            return PlainTextResponse("Unknown host; see OMVARLD_WEB_ALLOWED_HOSTS.", 400)
        return await call_next(request)

    def _wants_page(request: Request) -> bool:
        return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
            "accept", "")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if not _wants_page(request) or exc.status_code in (301, 302, 303, 307):
            return await http_exception_handler(request, exc)
        return ctx.templates.TemplateResponse(
            request, "error.html", {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        """A wrong value in the address (an id out of range, say): the API says which
        parameter; a page says so in words."""
        if not _wants_page(request):
            return await request_validation_exception_handler(request, exc)
        return ctx.templates.TemplateResponse(
            request, "error.html", {"status": 422, "detail": "Adressen innehåller ett "
                                    "felaktigt värde (t.ex. ett dokumentnummer som inte "
                                    "finns)."}, status_code=422)

    return app


def _safe_next(target: str) -> str:
    """Only a path of this app: never another site (`//evil`, `https://…`)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _docs_router(app: FastAPI) -> Any:
    """The OpenAPI schema and its two readers, behind the same access control as the
    API they describe."""
    from fastapi import APIRouter

    router = APIRouter(include_in_schema=False)

    @router.get("/openapi.json")
    def openapi() -> Response:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    def docs() -> Response:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="omvarld – API")

    @router.get("/redoc")
    def redoc() -> Response:
        return get_redoc_html(openapi_url="/openapi.json", title="omvarld – API")

    return router


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
    def login(request: Request, token: str = Form(""), next: str = Form("/"),
              csrf_token: str = Form("")) -> Response:
        ctx = context(request)
        if not post_allowed(request, csrf_token):
            raise HTTPException(403, "Formuläret kom från en annan webbplats.")
        client = client_of(request)
        if retry := ctx.policy.throttle.retry_after(client):
            raise too_many(retry)
        if not ctx.policy.token or not ctx.policy.check_token(token.strip()):
            ctx.policy.throttle.failed(client)
            return ctx.templates.TemplateResponse(
                request, "login.html",
                {"next": _safe_next(next), "error": "Fel nyckel. Försök igen."},
                status_code=401)
        ctx.policy.throttle.succeeded(client)
        secret = new_secret()
        queries.start_session(ctx.store, session_key(secret), "token", None,
                              ctx.policy.session_hours)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(COOKIE, secret, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https",
                            max_age=int(ctx.policy.session_hours * 3600))
        return response

    @router.post("/logout")
    def logout(request: Request, csrf_token: str = Form("")) -> Response:
        ctx = context(request)
        if not post_allowed(request, csrf_token):
            raise HTTPException(403, "Formuläret kom från en annan webbplats.")
        if cookie := request.cookies.get(COOKIE):
            queries.end_session(ctx.store, session_key(cookie))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    return router
