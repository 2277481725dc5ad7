"""What every route depends on: the app's context (settings, store, focus areas, access
policy, templates, the embedding model loaded on first use) and the caller."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.templating import Jinja2Templates

from omvarld import __version__
from omvarld.core.areas import FocusAreas
from omvarld.core.model import DOC_TYPE_NAMES_SV, LEVEL_NAMES_SV
from omvarld.core.settings import Settings
from omvarld.store import Store
from omvarld.web import queries
from omvarld.web.auth import COOKIE, AccessPolicy, Principal, client_of, session_key, too_many

if TYPE_CHECKING:
    from omvarld.nlp.encoder import Encoder
    from omvarld.search.query import SearchQuery, SearchResult

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
LANGUAGE_NAMES_SV = {"sv": "Svenska", "en": "Engelska", "da": "Danska", "de": "Tyska",
                     "fr": "Franska", "und": "Okänt"}


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
    """Every protected route depends on this: the caller, or a 401 / login redirect; a
    client that failed too often is answered 429 before its credentials are checked."""
    ctx: WebContext = request.app.state.ctx
    policy = ctx.policy
    client = client_of(request)
    offers = policy.required and policy.offers_credentials(request)
    if offers and (retry := policy.throttle.retry_after(client)):
        raise too_many(retry)
    who = policy.identify(request, session_principal(ctx, request))
    if who is None:
        if offers:
            policy.throttle.failed(client)
        raise policy.challenge(request)
    if offers:
        policy.throttle.succeeded(client)
    return who


def session_principal(ctx: WebContext, request: Request) -> Principal | None:
    """Who the session cookie names, while that session lives."""
    cookie = request.cookies.get(COOKIE)
    if not cookie or not ctx.policy.required:
        return None
    row = queries.live_session(ctx.store, session_key(cookie))
    return Principal(row.method, row.name) if row else None  # type: ignore[arg-type]


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    env = templates.env
    env.autoescape = True  # every template, whatever its name
    env.globals.update(
        LEVEL_NAMES=LEVEL_NAMES_SV, DOC_TYPE_NAMES=DOC_TYPE_NAMES_SV,
        LANGUAGE_NAMES=LANGUAGE_NAMES_SV, version=__version__,
    )
    env.filters["sv_date"] = _sv_date
    env.filters["strength"] = _strength
    # A deadline before today: shown as passed, never as one to act on.
    env.tests["passed"] = lambda d: isinstance(d, date) and d < date.today()
    env.tests["web_url"] = lambda u: isinstance(u, str) and u.startswith(("https://", "http://"))
    env.filters["score"] = lambda v: "–" if v is None else f"{float(v):.2f}"
    env.filters["percent"] = lambda v: f"{round(float(v) * 100)}"
    env.filters["thousands"] = lambda n: f"{int(n):,}".replace(",", "\u00a0")
    return templates


@lru_cache(maxsize=1)
def _digest_config():
    from omvarld.config.digest import load_digest_config

    return load_digest_config()


def _strength(score: float | None) -> str:
    """A label's score in the digest's words (digest.yaml: score_levels)."""
    return "" if score is None else _digest_config().score_level(float(score))


def _sv_date(value: date | datetime | None, with_time: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if with_time else value.date().isoformat()
    return value.isoformat()
