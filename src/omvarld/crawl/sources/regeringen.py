"""Regeringen.se (Regeringskansliet): press releases, remisser and other document types,
one taxonomy category at a time, newest first.

The listing is the site's own filter endpoint, `/Filter/GetFilteredItems`, which answers
JSON: `TotalCount` and `Message`, an HTML fragment of `div.sortcompact` hits (the shape the
civictechsweden/g0vse mirror reads). Each new hit's page is then fetched for its text,
identifier, attachments and, for remisser, the response deadline. Pages come in two
templates: the pre-2020 one (`span.h1-vignette`, `DC.Date`, `span.published time`) and the
current one, whose h1 runs straight into "Diarienummer: …".

The page's furniture stays out of the text: the header's links (where trafilatura takes
them for the body, on a page whose body is only a download list), the "ID-nummer",
"Ansvarig" and "Ladda ner" lines. The responsible ministry is kept as metadata, the
diarienummer beside the designation; a page with no text of its own keeps its
attachments' text instead.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import trafilatura
from parsel import Selector
from scrapy import Request
from scrapy.http import Response, TextResponse

from omvarld.core.model import Document, clean_text
from omvarld.crawl.base import LayoutChanged, OmvarldSpider
from omvarld.crawl.dates import parse_remiss_deadline, parse_swedish_date
from omvarld.crawl.generic import parse_page_summary
from omvarld.crawl.pdf import PdfAttachments

PUBLIC_BASE = "https://www.regeringen.se"
MAX_TEXT_CHARS = 200_000

_DIARIENUMMER = re.compile(r"Diarienummer:\s*([^\s,;]+)")
_VIGNETTE_LABEL = re.compile(r"^\s*(?:ID-nummer|Diarienummer)\s*:\s*", re.IGNORECASE)
# Series designations as regeringen.se writes them in titles: "SOU 2026:3", "Ds 2025:28",
# "Dir. 2017:29", "Prop. 2024/25:12".
_DESIGNATION = re.compile(
    r"\b(SOU \d{4}:\d+|Ds \d{4}:\d+|Dir\. \d{4}:\d+|[Pp]rop\. \d{4}/\d{2}:\d+"
    r"|[Ss]kr\. \d{4}/\d{2}:\d+|\d{4}/\d{2}:FPM\d+)"
)
# A vignette that is only a riksmöte and number ("ID-nummer: 2008/09:140").
_BARE_RIKSDAG_NUMBER = re.compile(r"^\d{4}/\d{2,4}:\d+$")
_RIKSDAG_PREFIX = {"proposition": "Prop."}
# The site's header, as trafilatura reads it when it takes the header for the body (a page
# whose body is only a download list) ...
HEADER_LINES = frozenset({
    "Hoppa till huvudinnehåll", "Lyssna", "English website", "Lättläst", "Teckenspråk",
    "Other languages", "Prenumerera via e-post", "Kontakt", "Jobba hos oss", "Press",
    "Sverige i EU", "UD:s reseinformation", "Sök", "Huvudnavigering", "Sveriges regering",
    "Statsråden och departementen", "Regeringens politik", "Detta görs inom olika områden",
    "Så styrs Sverige", "Om regeringen, Regeringskansliet och EU", "Meny",
})
# ... and, with the page tools and the labels around the body, what stays out of the text.
BOILERPLATE_LINES = HEADER_LINES | {
    "Ordförklaringar", "Ordlista", "Av", "På", "Ordförklaringar Av På",
    "Ladda ner:", "Ladda ner", "Ansvarig:", "Ansvarig",
}
_LABEL_LINE = re.compile(r"^(?:ID-nummer|Diarienummer|Ansvarig)\s*:", re.IGNORECASE)
# Share of boilerplate lines above which an extracted text is the site's navigation.
NAVIGATION_SHARE = 0.25
# Less than this much prose left once the furniture is out: the page has no text.
MIN_TEXT_CHARS = 40
_ATTACHMENT_PATH = re.compile(r"/(?:contentassets|globalassets)/|\.pdf$", re.IGNORECASE)


@dataclass(frozen=True)
class ListingHit:
    """One `div.sortcompact` block of a GetFilteredItems answer."""

    path: str
    title: str
    published: date | None = None
    updated: date | None = None
    summary: str = ""
    types: tuple[str, ...] = ()
    senders: tuple[str, ...] = ()
    sender_names: tuple[str, ...] = ()

    @property
    def version(self) -> str | None:
        """The listing's own change marker: the updated date, else the published one."""
        marker = self.updated or self.published
        return marker.isoformat() if marker else None


def public_url(path: str) -> str:
    """The page's identity on regeringen.se, whichever host served it to us."""
    return f"{PUBLIC_BASE}{path}"


def taxonomy_code(href: str) -> str:
    """Type and sender links end in their taxonomy code (`/tx/1294` → "1294")."""
    return href.rstrip("/").rsplit("/", 1)[-1]


def parse_hit_path(block: Selector) -> str | None:
    href = block.css("a::attr(href)").get()
    if not href:
        return None
    parts = urlsplit(href.strip())
    return parts.path + (f"?{parts.query}" if parts.query else "")


def parse_hit_title(block: Selector) -> str:
    return clean_text(" ".join(block.css("a")[0].css("::text").getall()))


def parse_hit_dates(block: Selector) -> tuple[date | None, date | None]:
    """`time[datetime]`: the first is published, a second one updated."""
    dates = [parse_swedish_date(v) for v in block.css("time::attr(datetime)").getall()]
    return (dates[0] if dates else None), (dates[1] if len(dates) > 1 else None)


def parse_hit_summary(block: Selector) -> str:
    """An earlier `p` holds the summary; the last `p` is the type/sender line."""
    paragraphs = block.css("p")
    if len(paragraphs) < 2:
        return ""
    return clean_text(" ".join(paragraphs[0].css("::text").getall()))


def parse_hit_taxonomy(block: Selector) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Type codes, then sender codes: links after the word "från" are senders."""
    paragraphs = block.css("p")
    if not paragraphs:
        return (), ()
    types: list[str] = []
    senders: list[str] = []
    after_from = False
    for node in paragraphs[-1].xpath("node()"):
        if isinstance(node.root, str):
            after_from = after_from or "från" in node.root
        elif node.attrib.get("href"):
            (senders if after_from else types).append(taxonomy_code(node.attrib["href"]))
    return tuple(types), tuple(senders)


def parse_hit_sender_names(block: Selector) -> tuple[str, ...]:
    """The names of the sender links (after "från"): "Utbildningsdepartementet"."""
    paragraphs = block.css("p")
    names: list[str] = []
    after_from = False
    for node in paragraphs[-1].xpath("node()") if paragraphs else []:
        if isinstance(node.root, str):
            after_from = after_from or "från" in node.root
        elif after_from and node.attrib.get("href"):
            name = clean_text(" ".join(node.css("::text").getall()))
            if name:
                names.append(name)
    return tuple(names)


def parse_hit(block: Selector) -> ListingHit | None:
    path = parse_hit_path(block)
    if path is None:
        return None
    published, updated = parse_hit_dates(block)
    types, senders = parse_hit_taxonomy(block)
    return ListingHit(
        path=path,
        title=parse_hit_title(block),
        published=published,
        updated=updated,
        summary=parse_hit_summary(block),
        types=types,
        senders=senders,
        sender_names=parse_hit_sender_names(block),
    )


def parse_title(page: Selector) -> str:
    """The h1 without its vignette (old pages) or its run-on "Diarienummer: …" (new pages);
    og:title when the page has no h1."""
    h1 = page.css("h1")
    if h1:
        parts = (
            h1[0]
            .xpath(
                "./text() | ./*[not(contains(concat(' ', @class, ' '), ' h1-vignette '))]//text()"
            )
            .getall()
        )
        title = clean_text(" ".join(parts))
        return clean_text(title.split("Diarienummer:")[0])
    return clean_text(page.css('meta[property="og:title"]::attr(content)').get())


def is_navigation(text: str) -> bool:
    """An extracted text that is the site's header: it opens with the skip link, or a
    quarter of its lines are the header's known lines."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return False
    if lines[0] == "Hoppa till huvudinnehåll":
        return True
    known = sum(1 for line in lines if line in HEADER_LINES)
    return known / len(lines) >= NAVIGATION_SHARE


def region_text(page: Selector) -> str:
    """The text of the page's content column (`div.col-1`, else `main`), scripts out."""
    for selector in ("div.col-1", "main"):
        region = page.css(selector)
        if region:
            parts = region[0].xpath(
                ".//text()[not(ancestor::script) and not(ancestor::style)]").getall()
            return clean_text("\n".join(p.strip() for p in parts if p.strip()))
    return ""


def strip_furniture(text: str, *, title: str, furniture: set[str]) -> str:
    """The text without the page's labels and lists: boilerplate lines, the h1 line (the
    title, with its vignette or run-on diarienummer), "ID-nummer:", "Ansvarig: …", the
    sender names and the attachment links' texts (`furniture`)."""
    kept = []
    for line in text.splitlines():
        bare = line.strip()
        if (
            bare in BOILERPLATE_LINES
            or bare in furniture
            or _LABEL_LINE.match(bare)
            or (title and bare.startswith(title) and len(bare) - len(title) < 60
                and ("ID-nummer" in bare or "Diarienummer" in bare or bare == title))
        ):
            continue
        kept.append(line)
    return clean_text("\n".join(kept))


def page_furniture(page: Selector) -> set[str]:
    """The texts of the sender and download links: lines that are not the document's."""
    texts = page.css(
        "p.media--publikations__sender a ::text, ul.list--Block--icons a ::text, "
        "div.col-1 > ul.list--icons a ::text"
    ).getall()
    return {clean_text(t) for t in texts if clean_text(t)}


def parse_text(response: TextResponse, title: str = "") -> str:
    """Main text by trafilatura, without the page's furniture. Where trafilatura takes the
    site's header for the body (a page whose body is only a download list), the content
    column is read instead; what is left under `MIN_TEXT_CHARS` is no text at all."""
    text = clean_text(
        trafilatura.extract(response.text, include_tables=True, include_comments=False))
    if is_navigation(text):
        text = region_text(response)
    text = strip_furniture(text, title=title, furniture=page_furniture(response))
    if len(text) < MIN_TEXT_CHARS:
        return ""
    return text[:MAX_TEXT_CHARS]


def parse_responsible(page: Selector, hit: ListingHit | None = None) -> str | None:
    """The responsible ministry ("Ansvarig: Utbildningsdepartementet, Regeringen" on the
    page, else the listing's senders); "Regeringen" only when no ministry is named."""
    names = [clean_text(t) for t in page.css("p.media--publikations__sender a::text").getall()]
    names = [n for n in names if n] or list(hit.sender_names if hit else ())
    ministries = [n for n in names if n != "Regeringen"] or names
    return ", ".join(dict.fromkeys(ministries)) or None


def parse_diarienummer(page: Selector, text: str) -> str | None:
    """The Government Offices' diarienummer ("Diarienummer: Fi2025/02098"), in the h1 or
    the text."""
    h1_text = " ".join(page.css("h1 ::text").getall())
    found = _DIARIENUMMER.search(h1_text) or _DIARIENUMMER.search(text)
    return found.group(1).rstrip(".") if found else None


def parse_identifier(
    page: Selector, text: str, title: str, doc_type: str | None = None
) -> str | None:
    """`span.h1-vignette` ("ID-nummer: SOU 2017:66"; a bare "2008/09:140" of a
    proposition gets its "Prop."), else a series designation in the title ("Remiss av
    SOU 2025:112 …" → "SOU 2025:112"), else the diarienummer."""
    vignette = clean_text(" ".join(page.css("span.h1-vignette ::text").getall()))
    if vignette:
        value = _VIGNETTE_LABEL.sub("", vignette)
        prefix = _RIKSDAG_PREFIX.get(doc_type or "")
        if prefix and _BARE_RIKSDAG_NUMBER.match(value):
            value = f"{prefix} {value}"
        return value or None
    designation = _DESIGNATION.search(title)
    if designation:
        return designation.group(1)
    return parse_diarienummer(page, text)


def parse_published(page: Selector) -> date | None:
    """`DC.Date` metadata, else `span.published time` (old template; its `datetime`
    attribute may hold Swedish prose such as "24 mars 2017")."""
    for value in (
        page.css('meta[name="DC.Date"]::attr(content)').get(),
        page.css("span.published time::attr(datetime)").get(),
        page.css("span.published time::text").get(),
    ):
        found = parse_swedish_date(value)
        if found:
            return found
    return None


# regeringen.se's pages carry DC.Description where og:description is missing
SUMMARY_SELECTORS = (
    'meta[property="og:description"]::attr(content)',
    'meta[name="DC.Description"]::attr(content)',
    'meta[name="description"]::attr(content)',
)


def parse_attachments(page: Selector) -> list[str]:
    """Download links: the attachment lists (`ul.list--Block--icons` on old pages,
    `div.col-1 > ul.list--icons` on current ones) and any link to a PDF or to the site's
    file areas (`/contentassets/`, `/globalassets/`). Made absolute on regeringen.se."""
    hrefs = page.css(
        "ul.list--Block--icons a::attr(href), div.col-1 > ul.list--icons a::attr(href)"
    ).getall()
    hrefs += [
        h
        for h in page.css("a::attr(href)").getall()
        if _ATTACHMENT_PATH.search(urlsplit(h.strip()).path)
    ]
    links = [urljoin(PUBLIC_BASE + "/", h.strip()) for h in hrefs if h.strip()]
    return list(dict.fromkeys(links))


class RegeringenSpider(PdfAttachments, OmvarldSpider):
    """Regeringen.se documents per taxonomy category (params.categories: code → type)."""

    name = "regeringen"

    def wants_pdfs(self, doc: Document) -> bool:
        """The attachments are read for a page with no text of its own (or every page
        with `params.pdf: true`)."""
        configured = self.source.params.get("pdf")
        if configured is not None:
            return bool(configured)
        return not doc.text

    def pdf_links(self, doc: Document) -> list[str]:
        """regeringen.se's download links often carry no `.pdf`: every file-area link."""
        return [a for a in doc.attachments if _ATTACHMENT_PATH.search(urlsplit(a).path)]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = self.source.params
        self.categories: dict[str, str] = {
            str(code): str(doc_type) for code, doc_type in params.get("categories", {}).items()
        }
        self.page_size = int(params.get("page_size", 50))
        self.max_pages = int(params.get("max_pages", 10))

    async def start(self) -> AsyncIterator[Request]:
        for request in self.listing_requests():
            yield request

    def listing_url(self, code: str, page: int) -> str:
        query = urlencode(
            {
                "lang": "sv",
                "filterType": "Taxonomy",
                "filterByType": "FilterablePageBase",
                "preFilteredCategories": code,
                "rootPageReference": 0,
                "displayLimited": "False",
                "pageSize": self.page_size,
                "page": page,
            }
        )
        return f"{self.base_url}/Filter/GetFilteredItems?{query}"

    def listing_requests(self) -> Iterator[Request]:
        for code, doc_type in self.categories.items():
            yield self.request(
                self.listing_url(code, 1),
                self.parse_listing,
                cb_kwargs={"code": code, "doc_type": doc_type, "page": 1},
            )

    def parse_listing(
        self, response: Response, code: str, doc_type: str, page: int
    ) -> Iterator[Request]:
        data = self.load_json(response)
        if data is None:
            return
        if not isinstance(data, dict) or "Message" not in data or "TotalCount" not in data:
            raise LayoutChanged(f"no `TotalCount`/`Message` in the JSON of {response.url}")
        total = int(data.get("TotalCount") or 0)
        blocks = Selector(text=data.get("Message") or "<div></div>").css("div.sortcompact")
        self.check_rows(
            blocks,
            expected=(page - 1) * self.page_size < total,
            url=response.url,
            what="`div.sortcompact` hits",
        )
        hits = [hit for hit in map(parse_hit, blocks) if hit is not None]
        if len(hits) < len(blocks):
            self.skip(response.url, f"{len(blocks) - len(hits)} hit(s) without a link")
        known = self.known_versions(public_url(h.path) for h in hits)
        fresh = [h for h in hits if not self.is_known(public_url(h.path), h.version, known)]
        for hit in hits:
            if hit not in fresh:
                self.skip_unchanged(public_url(hit.path), "stored already")
        for hit in fresh:
            yield self.request(
                f"{self.base_url}{hit.path}",
                self.parse_page,
                cb_kwargs={"hit": hit, "doc_type": doc_type},
            )
        yield from self.next_page(
            code, doc_type, page, total=total, hits=len(hits), all_known=bool(hits) and not fresh
        )

    def next_page(
        self, code: str, doc_type: str, page: int, *, total: int, hits: int, all_known: bool
    ) -> Iterator[Request]:
        if not hits or page * self.page_size >= total:
            return
        if all_known:
            self.skip(
                self.listing_url(code, page + 1),
                f"category {code}: page {page} held only stored documents",
            )
        elif page >= self.max_pages:
            self.logger.warning(
                "category %s: max_pages (%d) reached; older documents left", code, self.max_pages
            )
        else:
            yield self.request(
                self.listing_url(code, page + 1),
                self.parse_listing,
                cb_kwargs={"code": code, "doc_type": doc_type, "page": page + 1},
            )

    def parse_page(
        self, response: Response, hit: ListingHit, doc_type: str
    ) -> Iterator[Document | Request]:
        path = self.public_path(response.url)
        url = public_url(path)
        if not isinstance(response, TextResponse):
            self.record_failure(url, f"not an HTML page ({response.headers.get('Content-Type')})")
            return
        title = parse_title(response) or hit.title
        text = parse_text(response, title)
        if not response.css("h1") and not text:
            self.record_failure(url, "no h1 and no main text on the page — layout changed?")
            return
        # The whole page's words: a "Diarienummer:" line is furniture, not text
        page_words = clean_text(" ".join(response.xpath(
            "//body//text()[not(ancestor::script) and not(ancestor::style)]").getall()))
        doc = self.build_document(
            url,
            title=title,
            doc_type=doc_type,
            identifier=parse_identifier(response, page_words, title, doc_type),
            diarienummer=parse_diarienummer(response, page_words),
            responsible=parse_responsible(response, hit),
            published=hit.published or parse_published(response),
            deadline=parse_remiss_deadline(text) if doc_type == "remiss" else None,
            summary=hit.summary or parse_page_summary(response, SUMMARY_SELECTORS),
            text=text,
            attachments=parse_attachments(response),
            source_version=hit.version,
        )
        if doc is not None:
            yield from self.with_pdfs(doc)
