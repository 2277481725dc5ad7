"""Folketinget's open data (ODA, oda.ft.dk): the Danish parliament's bills (lovforslag) and
proposals for parliamentary resolutions (beslutningsforslag), the Öresund partner's national
arena.

ODA is OData 3 (`$filter`, `$orderby`, `$top` ≤ 100, `$skip`, `$expand`, `$inlinecount`;
results under `value`, the total in `odata.count`; OData 4 headers answer 404). The listing
asks `Sag` for the configured case types updated recently, newest update first, with the
parliamentary period expanded (its `kode`, e.g. "20251", is part of the case's public URL
on ft.dk). `opdateringsdato` changes whenever Folketinget changes a case: it is the source
version, so a re-crawl stops at the first page of cases it already has. Each new or changed
case costs one more request, `SagDokument` of the case with `Dokument/Fil` expanded, for
the case's documents (their dates give the date the bill was tabled) and their files. For a
bill (`proposition`) the PDFs are then read (up to three, within the PDF size and page
limits; `params.pdf` in sources.yaml turns this on for every type or off): the bill's text is
in its PDF, not in ODA.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from scrapy import Request
from scrapy.http import Response

from omvarld.core.model import Document, clean_text
from omvarld.crawl.base import LayoutChanged, OmvarldSpider
from omvarld.crawl.dates import parse_swedish_date
from omvarld.crawl.pdf import PdfAttachments
from omvarld.crawl.pipelines import canonical_url

PUBLIC_CASE_URL = "https://www.ft.dk/samling/{periode}/{kind}/{nummer}/index.htm"
ODA_CASE_URL = "https://oda.ft.dk/api/Sag({id})"
# The path segment ft.dk uses per case type (Sagstype ids of ODA).
CASE_KIND_PATHS: dict[int, str] = {3: "lovforslag", 5: "beslutningsforslag"}
MAX_PAGE_SIZE = 100  # ODA refuses more per request


def odata_rows(data: Any) -> list[dict[str, Any]] | None:
    """The `value` rows of an OData 3 answer; None when the answer has no `value` list."""
    if not isinstance(data, dict) or not isinstance(data.get("value"), list):
        return None
    return [row for row in data["value"] if isinstance(row, dict)]


def odata_count(data: dict[str, Any]) -> int:
    """`odata.count` (a string in OData 3 JSON), 0 when absent or unreadable."""
    try:
        return int(data.get("odata.count") or 0)
    except (TypeError, ValueError):
        return 0


def case_url(case: dict[str, Any]) -> str:
    """The case's page on ft.dk (`/samling/20251/lovforslag/l10/index.htm`); the ODA
    resource URL when the period code, the type or the number is missing."""
    periode = (case.get("Periode") or {}).get("kode")
    kind = CASE_KIND_PATHS.get(case.get("typeid") or 0)
    nummer = "".join(str(case.get("nummer") or "").split()).lower()
    if periode and kind and nummer:
        return canonical_url(
            PUBLIC_CASE_URL.format(periode=quote(str(periode)), kind=kind, nummer=quote(nummer))
        )
    return ODA_CASE_URL.format(id=int(case["id"]))


def parse_title(case: dict[str, Any]) -> str:
    """`titel` ("Forslag til lov om …"), else the short title."""
    return clean_text(case.get("titel")) or clean_text(case.get("titelkort"))


def parse_identifier(case: dict[str, Any], periode: str | None) -> str | None:
    """How the case is cited: "L 10 (2025-26)" — number and period title."""
    nummer = clean_text(case.get("nummer"))
    if not nummer:
        return None
    title = clean_text((case.get("Periode") or {}).get("titel")) or periode
    return f"{nummer} ({title})" if title else nummer


def parse_documents(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `Dokument` of each `SagDokument` row, oldest first."""
    docs = [r["Dokument"] for r in rows if isinstance(r.get("Dokument"), dict)]
    return sorted(docs, key=lambda d: str(d.get("dato") or ""))


def parse_published(case: dict[str, Any], documents: list[dict[str, Any]]) -> date | None:
    """When the case was tabled: its oldest document's date (the bill as fremsat), else
    the case's last update."""
    for doc in documents:
        found = parse_swedish_date(doc.get("dato"))
        if found:
            return found
    return parse_swedish_date(case.get("opdateringsdato"))


def parse_attachments(documents: list[dict[str, Any]]) -> list[str]:
    """`filurl` of every file of every document of the case (the PDFs on ft.dk)."""
    urls: list[str] = []
    for doc in documents:
        for fil in doc.get("Fil") or []:
            if isinstance(fil, dict) and str(fil.get("filurl") or "").startswith("http"):
                urls.append(fil["filurl"].strip())
    return list(dict.fromkeys(urls))


def parse_text(case: dict[str, Any], documents: list[dict[str, Any]]) -> str:
    """The summary, the justification where there is one, and the case's documents by title."""
    parts = [clean_text(case.get("resume")), clean_text(case.get("begrundelse"))]
    titles = [
        f"- {clean_text(d.get('titel'))} ({str(d.get('dato') or '')[:10]})"
        for d in documents
        if clean_text(d.get("titel"))
    ]
    if titles:
        parts.append("Dokumenter:\n" + "\n".join(titles))
    return "\n\n".join(p for p in parts if p)


class FolketingetSpider(PdfAttachments, OmvarldSpider):
    """Cases (Sag) of the configured types from Folketinget's ODA, incrementally; the PDF of
    a bill (the bill itself, as tabled) is read into the document's text."""

    name = "folketinget"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = self.source.params
        self.types: dict[int, str] = {
            int(k): str(v) for k, v in params.get("types", {"3": "proposition"}).items()
        }
        self.page_size = min(int(params.get("page_size", MAX_PAGE_SIZE)), MAX_PAGE_SIZE)
        self.max_pages = int(params.get("max_pages", 20))
        self.window_days = int(params.get("updated_within_days", 30))

    async def start(self) -> AsyncIterator[Request]:
        yield self.request(self.listing_url(0), self.parse_listing, cb_kwargs={"page": 1})

    def listing_filter(self) -> str:
        since = self.today - timedelta(days=self.window_days)
        types = " or ".join(f"typeid eq {t}" for t in sorted(self.types))
        return f"({types}) and opdateringsdato gt datetime'{since.isoformat()}T00:00:00'"

    def listing_url(self, skip: int) -> str:
        query = urlencode(
            {
                "$filter": self.listing_filter(),
                "$orderby": "opdateringsdato desc",
                "$expand": "Periode",
                "$inlinecount": "allpages",
                "$top": self.page_size,
                "$skip": skip,
                "$format": "json",
            },
            quote_via=quote,
        )
        return f"{self.base_url}/api/Sag?{query}"

    def documents_url(self, case_id: int) -> str:
        query = urlencode(
            {"$filter": f"sagid eq {case_id}", "$expand": "Dokument/Fil", "$format": "json"},
            quote_via=quote,
        )
        return f"{self.base_url}/api/SagDokument?{query}"

    def parse_listing(self, response: Response, page: int) -> Iterator[Request]:
        data = self.load_json(response)
        if data is None:
            return
        rows = odata_rows(data)
        if rows is None:
            raise LayoutChanged(f"no OData `value` list in {response.url}")
        if "odata.count" not in data:
            # Asked for with $inlinecount=allpages: without it an empty `value` could not be
            # told from "no cases updated", so its absence is a changed API, not no news.
            raise LayoutChanged(f"no `odata.count` in {response.url} ($inlinecount ignored?)")
        total = odata_count(data)
        self.check_rows(
            rows,
            expected=(page - 1) * self.page_size < total,
            url=response.url,
            what="`Sag` rows",
        )
        cases = [r for r in rows if isinstance(r.get("id"), int)]
        if len(cases) < len(rows):
            self.skip(response.url, f"{len(rows) - len(cases)} row(s) without a numeric id")
        known = self.known_versions(case_url(c) for c in cases)
        fresh = 0
        for case in cases:
            url = case_url(case)
            version = case.get("opdateringsdato")
            if self.is_known(url, version, known):
                self.skip_unchanged(url, f"stored, opdateringsdato {version} unchanged")
                continue
            fresh += 1
            yield self.request(
                self.documents_url(case["id"]), self.parse_case, cb_kwargs={"case": case}
            )
        if not cases or page * self.page_size >= total:
            return
        if not fresh:
            self.skip(response.url, f"page {page} held only stored cases")
        elif page >= self.max_pages:
            self.logger.warning("max_pages (%d) reached; older cases left", self.max_pages)
        else:
            yield self.request(
                self.listing_url(page * self.page_size),
                self.parse_listing,
                cb_kwargs={"page": page + 1},
            )

    def parse_case(self, response: Response, case: dict[str, Any]) -> Iterator[Document | Request]:
        url = case_url(case)
        data = self.load_json(response, public_url=url)
        if data is None:
            return
        rows = odata_rows(data)
        if rows is None:
            self.record_failure(url, f"no OData `value` list in {response.url}")
            return
        documents = parse_documents(rows)
        periode = (case.get("Periode") or {}).get("kode")
        published = self.checked_date(url, parse_published(case, documents))
        doc = self.build_document(
            url,
            title=parse_title(case),
            doc_type=self.types.get(case.get("typeid") or 0, "other"),
            identifier=parse_identifier(case, periode),
            published=published,
            summary=clean_text(case.get("resume")),
            text=parse_text(case, documents),
            attachments=parse_attachments(documents),
            source_version=case.get("opdateringsdato"),
        )
        if doc is not None:
            yield from self.with_pdfs(doc)
