"""The European Parliament: adopted texts and plenary documents.

**Documents** (`europarl_documents`). The Open Data Portal API v2
(`https://data.europarl.europa.eu/api/v2`) answers JSON-LD: `{"data": [...], "@context": …}`,
`offset`/`limit` paging, `year=` on the document collections. A listing row names a work
(`eli/dl/doc/TA-10-2025-0096`); the work itself — `document_date`, `work_type`, the
multilingual `title_dcterms` and, per language, an expression (`is_realized_by`) with its
`title_alternative` and its PDF/DOCX manifestations — is read from
`/{collection}/{identifier}`, one request per new document. Titles and pages are taken in the
first configured language the work has (Swedish before English: Malmö's analysts read both,
the classifier has Swedish vocabulary). Relative ids resolve against the `@base` of the
context, `https://data.europarl.europa.eu/`. The PDF of an adopted text (a `decision`), in
the chosen language, is read into the document's text: the API gives titles, not texts.

The press releases (`europarl_press`) are a declared feed in `config/sources.yaml`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from scrapy import Request
from scrapy.http import Response

from omvarld.core.model import Document, clean_text
from omvarld.crawl.base import LayoutChanged, OmvarldSpider
from omvarld.crawl.dates import parse_date
from omvarld.crawl.pdf import PdfAttachments

DATA_BASE = "https://data.europarl.europa.eu/"
DOCEO_PAGE = "https://www.europarl.europa.eu/doceo/document/{identifier}_{lang}.html"
JSON_LD = "application/ld+json"
MAX_TEXT_CHARS = 20_000

# `work_type` (def/ep-document-types/…) → document type.
WORK_TYPES: dict[str, str] = {
    "TEXT_ADOPTED": "decision",
    "RESOLUTION_MOTION": "motion",
    "RESOLUTION_MOTION_JOINT": "motion",
    "REPORT_PLENARY": "report",
    "RECOMMENDATION_PLENARY": "report",
    "AMENDMENT_LIST": "other",
}
WORK_TYPE_NAMES: dict[str, str] = {
    "TEXT_ADOPTED": "Antagen text",
    "RESOLUTION_MOTION": "Resolutionsförslag",
    "RESOLUTION_MOTION_JOINT": "Gemensamt resolutionsförslag",
    "REPORT_PLENARY": "Betänkande",
    "RECOMMENDATION_PLENARY": "Rekommendation",
}


def last_segment(value: Any) -> str:
    """`def/ep-document-types/TEXT_ADOPTED` → `TEXT_ADOPTED`."""
    return str(value or "").rstrip("/").rsplit("/", 1)[-1]


def work_of(data: Any) -> dict[str, Any] | None:
    """The one work of a detail answer (`data[0]`); None when the shape is not JSON-LD."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        return None
    works = [w for w in data["data"] if isinstance(w, dict)]
    return works[0] if works else None


def pick_language(values: Any, languages: list[str]) -> tuple[str, str] | None:
    """(language, text) of the first configured language a multilingual map has."""
    if not isinstance(values, dict):
        return None
    for lang in languages:
        text = clean_text(values.get(lang))
        if text:
            return lang, text
    return None


def expression(work: dict[str, Any], lang: str) -> dict[str, Any]:
    """The work's expression in `lang` (`…/RC-10-2025-0249/sv`), or an empty one."""
    for expr in work.get("is_realized_by") or []:
        if isinstance(expr, dict) and str(expr.get("id", "")).endswith(f"/{lang}"):
            return expr
    return {}


def manifestation_links(expr: dict[str, Any]) -> list[str]:
    """The files of an expression (PDF first), absolute on the portal's `@base`."""
    links = []
    for manifestation in expr.get("is_embodied_by") or []:
        if not isinstance(manifestation, dict):
            continue
        href = str(manifestation.get("is_exemplified_by") or "").strip()
        if href:
            links.append(href if href.startswith("http") else DATA_BASE + href.lstrip("/"))
    return sorted(dict.fromkeys(links), key=lambda u: not u.lower().endswith(".pdf"))


def document_page(identifier: str, lang: str) -> str:
    """The document's page on europarl.europa.eu in the chosen language."""
    return DOCEO_PAGE.format(identifier=quote(identifier), lang=lang.upper())


class EuroparlDocumentsSpider(PdfAttachments, OmvarldSpider):
    """Adopted texts and plenary documents of the current year (in January also of the
    last one, whose December plenary is listed late), from the EP's API v2."""

    name = "europarl_documents"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = self.source.params
        self.collections = [str(c) for c in params.get("collections", ["adopted-texts"])]
        self.languages = [str(lang) for lang in params.get("languages", ["sv", "en"])]
        self.page_size = int(params.get("page_size", 50))
        self.max_pages = int(params.get("max_pages", 10))

    async def start(self) -> AsyncIterator[Request]:
        for year in self.years():
            for collection in self.collections:
                yield self.listing_request(collection, 1, year)

    def years(self) -> list[int]:
        """The listing years: this one, and in January the last one too."""
        if self.today.month == 1:
            return [self.today.year, self.today.year - 1]
        return [self.today.year]

    def listing_url(self, collection: str, page: int, year: int | None = None) -> str:
        query = urlencode(
            {
                "year": year or self.today.year,
                "format": JSON_LD,
                "offset": (page - 1) * self.page_size,
                "limit": self.page_size,
            }
        )
        return f"{self.base_url}/api/v2/{collection}?{query}"

    def listing_request(self, collection: str, page: int, year: int | None = None) -> Request:
        year = year or self.today.year
        return self.request(
            self.listing_url(collection, page, year),
            self.parse_listing,
            cb_kwargs={"collection": collection, "page": page, "year": year},
        )

    def detail_url(self, collection: str, identifier: str) -> str:
        return f"{self.base_url}/api/v2/{collection}/{quote(identifier)}?format={quote(JSON_LD)}"

    def parse_listing(
        self, response: Response, collection: str, page: int, year: int | None = None
    ) -> Iterator[Request]:
        data = self.load_json(response)
        if data is None:
            if response.body.lstrip()[:1] == b"<":
                raise LayoutChanged(f"{response.url} answered HTML where JSON-LD was expected")
            return
        if not isinstance(data, dict) or not isinstance(data.get("data"), list):
            raise LayoutChanged(f"no JSON-LD `data` list in {response.url}")
        rows = [r for r in data["data"] if isinstance(r, dict) and r.get("identifier")]
        self.check_rows(
            rows,
            # An empty first page of a year already under way, while works of the source
            # are stored, is a changed API rather than a parliament without documents.
            expected=bool(data["data"])
            or (page == 1 and self.today.month > 1 and self.stored_count() > 0),
            url=response.url,
            what="works with an `identifier`",
        )
        pages = {r["identifier"]: self.candidate_urls(r["identifier"]) for r in rows}
        known = self.known_versions(url for urls in pages.values() for url in urls)
        fresh = 0
        for row in rows:
            stored = [url for url in pages[row["identifier"]] if url in known]
            if stored:
                self.skip_unchanged(stored[0], "stored already")
                continue
            fresh += 1
            yield self.request(
                self.detail_url(collection, row["identifier"]),
                self.parse_work,
                cb_kwargs={"row": row},
            )
        if len(data["data"]) < self.page_size:
            return
        if not fresh:
            self.skip(response.url, f"{collection}: page {page} held only stored documents")
        elif page >= self.max_pages:
            self.logger.warning("%s: max_pages (%d) reached", collection, self.max_pages)
        else:
            yield self.listing_request(collection, page + 1, year)

    def candidate_urls(self, identifier: str) -> list[str]:
        """The pages a listed work may be stored under: which language its title has is
        known only once the work is read, so a row is looked up in every configured one.
        A work is published once and not revised, so a stored one is never fetched again."""
        return [document_page(identifier, lang) for lang in self.languages]

    def parse_work(self, response: Response, row: dict[str, Any]) -> Iterator[Document | Request]:
        identifier = str(row["identifier"])
        data = self.load_json(response, public_url=document_page(identifier, self.languages[0]))
        if data is None:
            return
        work = work_of(data)
        if work is None:
            self.record_failure(identifier, f"no JSON-LD work in {response.url}")
            return
        chosen = pick_language(work.get("title_dcterms"), self.languages)
        if chosen is None:
            self.record_failure(identifier, f"no title in {', '.join(self.languages)}")
            return
        lang, title = chosen
        url = document_page(identifier, lang)
        expr = expression(work, lang)
        work_type = last_segment(work.get("work_type"))
        published = self.checked_date(url, parse_date(work.get("document_date")))
        alternative = pick_language(expr.get("title_alternative"), [lang])
        procedures = [last_segment(p) for p in work.get("inverse_created_a_realization_of") or []]
        summary = " · ".join(
            part
            for part in (
                WORK_TYPE_NAMES.get(work_type, ""),
                identifier,
                f"förfarande {', '.join(procedures)}" if procedures else "",
            )
            if part
        )
        doc = self.build_document(
            url,
            title=title,
            doc_type=WORK_TYPES.get(work_type, "other"),
            identifier=identifier,
            published=published,
            summary=summary,
            text=(alternative[1] if alternative else title)[:MAX_TEXT_CHARS],
            attachments=manifestation_links(expr),
            source_version=work.get("document_date"),
        )
        if doc is not None:
            yield from self.with_pdfs(doc)
