"""The search's query string, shared by the search page, `/api/search` and the exports.

Every parameter arrives as text and is converted here, so a wrong value (a date typed as
"igår", a page "x") becomes a message beside the results instead of an error page; the
same query string therefore means the same search on the page, in the API and in a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlencode

from fastapi import Path, Query

if TYPE_CHECKING:
    from omvarld.search.query import SearchQuery

MAX_TEXT = 500  # characters of a query kept; longer input is cut (and said so)
MAX_ID = 2**63 - 1  # ids are 64-bit integers in SQLite and PostgreSQL alike
# A document id in a path: out of range is a 422, never a database overflow.
DocId = Annotated[int, Path(ge=1, le=MAX_ID, description="Document id.")]


@dataclass
class SearchParams:
    q: str = ""
    semantic: str = ""
    area: list[str] = field(default_factory=list)
    min_score: str = ""
    level: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    publisher: list[str] = field(default_factory=list)
    type: list[str] = field(default_factory=list)
    lang: list[str] = field(default_factory=list)
    stakeholder: list[str] = field(default_factory=list)
    since: str = ""
    until: str = ""
    open: str = ""
    sort: str = ""
    page: str = ""
    per_page: str = ""

    @property
    def has_text(self) -> bool:
        return bool(self.q.strip() or self.semantic.strip())

    def pairs(self, **override: object) -> list[tuple[str, str]]:
        """The parameters as (name, value) pairs for a URL, empty ones left out."""
        values = {**self.__dict__, **override}
        out: list[tuple[str, str]] = []
        for name, value in values.items():
            if isinstance(value, list):
                out.extend((name, str(v)) for v in value if str(v))
            elif value not in ("", None):
                out.append((name, str(value)))
        return out

    def url(self, path: str, **override: object) -> str:
        query = urlencode(self.pairs(**override))
        return f"{path}?{query}" if query else path

    def toggled(self, name: str, value: str) -> list[str]:
        """The values of list parameter `name` with `value` switched on or off."""
        current: list[str] = getattr(self, name)
        return [v for v in current if v != value] if value in current else [*current, value]


def search_params(
    q: Annotated[str, Query(description="Full-text words (Swedish-aware).")] = "",
    semantic: Annotated[str, Query(description="A question or description in plain "
                                               "language, matched by meaning.")] = "",
    area: Annotated[list[str], Query(description="Focus-area id; repeat for several "
                                                 "(a document matches if it has any).")] = [],  # noqa: B006
    min_score: Annotated[str, Query(description="Lowest label score (0–1) within `area`.")
                         ] = "",
    level: Annotated[list[str], Query(description="eu, national, regional, local.")] = [],  # noqa: B006
    source: Annotated[list[str], Query(description="Source id.")] = [],  # noqa: B006
    publisher: Annotated[list[str], Query(description="Publisher as stored.")] = [],  # noqa: B006
    type: Annotated[list[str], Query(description="Document type, e.g. sou, remiss.")] = [],  # noqa: B006
    lang: Annotated[list[str], Query(description="Language code: sv, en, da.")] = [],  # noqa: B006
    stakeholder: Annotated[list[str], Query(description="Organisation named in the "
                                                        "document.")] = [],  # noqa: B006
    since: Annotated[str, Query(description="Published on or after (YYYY-MM-DD).")] = "",
    until: Annotated[str, Query(description="Published on or before (YYYY-MM-DD).")] = "",
    open: Annotated[str, Query(description="1: only documents whose deadline is today or "
                                           "later (open consultations).")] = "",
    sort: Annotated[str, Query(description="relevance or date.")] = "",
    page: Annotated[str, Query(description="Page number, from 1.")] = "",
    per_page: Annotated[str, Query(description="Hits per page, 1–200.")] = "",
) -> SearchParams:
    return SearchParams(q=q, semantic=semantic, area=area, min_score=min_score, level=level,
                        source=source, publisher=publisher, type=type, lang=lang,
                        stakeholder=stakeholder, since=since, until=until, open=open,
                        sort=sort, page=page, per_page=per_page)


def _date(value: str, label: str, problems: list[str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        problems.append(f"”{value[:40]}” i {label} är inget datum: skriv ÅÅÅÅ-MM-DD. "
                        "Filtret används inte.")
        return None


def _int(value: str, default: int, lo: int, hi: int, label: str, problems: list[str]) -> int:
    if not value.strip():
        return default
    try:
        number = int(value)
    except ValueError:
        problems.append(f"”{value[:20]}” är inget heltal ({label}); {default} används.")
        return default
    if not lo <= number <= hi:
        clamped = min(max(number, lo), hi)
        problems.append(f"{label} ska vara mellan {lo} och {hi}; {clamped} används.")
        return clamped
    return number


def to_query(params: SearchParams, *, per_page: int = 20) -> tuple[SearchQuery, list[str]]:
    """The SearchQuery for `params` and the problems found converting them (in Swedish,
    for the user). Never raises on user input."""
    from omvarld.search.query import SearchQuery

    problems: list[str] = []
    text, semantic = params.q, params.semantic
    if len(text) > MAX_TEXT or len(semantic) > MAX_TEXT:
        problems.append(f"Sökfrågan är lång; de första {MAX_TEXT} tecknen används.")
        text, semantic = text[:MAX_TEXT], semantic[:MAX_TEXT]
    min_score = None
    if params.min_score.strip():
        try:
            min_score = float(params.min_score.replace(",", "."))
            if not 0.0 <= min_score <= 1.0:
                raise ValueError
        except ValueError:
            problems.append("Lägsta poäng ska vara ett tal mellan 0 och 1; filtret används inte.")
            min_score = None
    sort = params.sort if params.sort in ("relevance", "date") else (
        "relevance" if params.has_text else "date")
    if params.sort and params.sort not in ("relevance", "date"):
        problems.append("Sortering ska vara relevance eller date.")
    query = SearchQuery(
        text=text, semantic=semantic, areas=params.area, min_score=min_score,
        levels=params.level, sources=params.source, publishers=params.publisher,
        doc_types=params.type, languages=params.lang, stakeholders=params.stakeholder,
        since=_date(params.since, "från", problems), until=_date(params.until, "till", problems),
        open_deadline=params.open.strip().lower() in ("1", "true", "on", "ja", "yes"),
        sort=sort,
        page=_int(params.page, 1, 1, 10_000, "sida", problems),
        per_page=_int(params.per_page, per_page, 1, 200, "träffar per sida", problems),
    )
    return query, problems
