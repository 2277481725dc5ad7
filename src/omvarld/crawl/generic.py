"""The shared bases most sources are read by: a feed, a sitemap, an HTML listing, a paged
JSON API.

Publishers differ in where their documents are listed, hardly in what a document is. Most
sources are therefore declared, not written: one entry in `config/sources.yaml` whose
`kind` (`feed`, `sitemap`, `html_listing`, `json_api`) picks the base and whose keys say
*where* (paths, selectors, JSON paths); the base does *how*: requests with recorded
failures, incremental stops at stored documents, the detail page read by standard metadata
and trafilatura, dates in Swedish, Danish or English (day- or month-first), attachments, PDF
text, `LayoutChanged` when a listing that should have rows has none. The spiders of the
declared kinds are in `omvarld.crawl.sources.declared`; they take everything from the entry
(`configure`):

    - id: boverket
      kind: html_listing
      base_url: https://www.boverket.se
      listings: [/sv/om-boverket/nyheter/]
      row: ul.news-list > li
      title: h2 a ::text
      date: time::attr(datetime)      # null: the listing shows no date
      summary: p.preamble ::text
      next_page: a[rel=next]::attr(href)
      type_rules: [["\\bremiss(?!var)|/remisser/", remiss], ["rapport", report]]
      detail_date: p.page-info ::text  # where the article states its date

A source whose API needs code subclasses a base here and is named in its entry
(`kind: spider`); its class attributes say where, as the keys above do:

    class InitiativesSpider(JsonApiSpider):
        '''An API that changed shape: items and total at the first path that has them.'''

        name = "initiatives"
        api_path = "/api/searchInitiatives"
        items_path = ("initiativeResultDtoPage.content", "_embedded.initiativeResultDtoes")
        total_path = ("initiativeResultDtoPage.totalElements", "page.totalElements")

        def row_from_item(self, item):
            return Row(url=..., title=item["shortTitle"], identifier=item["reference"])

A feed that pages names its parameter, `page_param = "page"`: `page_url` changes that value
where it stands in the feed's URL (or appends it), leaving the rest of the URL as the
publisher wrote it. `Row.identifier` is how the document is cited ("IP_26_2514").

Then a fixture folder `tests/fixtures/boverket/` (routes.json + PROVENANCE.md) and a test.
Hooks, for a class of kind `spider`, for what declarations cannot say: `parse_row` (a whole
listing row), `row_doc_type` and `row_deadline` (per row), `detail_fields` (extra fields from
the detail page), and for JSON `row_from_item` (an item as a `Row`) and `row_to_document`
(a row as requests).

Hostile answers: an empty listing is `LayoutChanged` (never "no news"), an empty detail
page a reported failure; a page whose declared
charset is wrong (UTF-8 declared, Latin-1 sent, or the reverse) is re-read in the charset its
bytes are in (`repair_encoding`); HTML where a feed or JSON was expected is `LayoutChanged`.
Dates in the future are dropped and reported (`omvarld.crawl.dates.check_published`).

URLs: paths and listing links are the publisher's; `to_local` maps them to the base URL in
use (the replay server in tests) and `to_public` back, so stored URLs are always public.

Incremental crawling: the rows of a listing page are looked up in the store at once; a
stored row is not fetched again (counted unchanged), and a page with any stored row ends
the paging, because listings are newest first. A weekly re-crawl thus costs one listing
request per listing plus one request per new document.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import feedparser
import trafilatura
from parsel import Selector
from scrapy import Request
from scrapy.http import Response, TextResponse

from omvarld.config.load import (
    DeclaredSource,
    FeedSource,
    HtmlListingSource,
    JsonApiSource,
    Source,
)
from omvarld.core.errors import ConfigError
from omvarld.core.model import Document, clean_text
from omvarld.crawl.base import LayoutChanged, OmvarldSpider
from omvarld.crawl.dates import find_written_date, parse_date, parse_remiss_deadline
from omvarld.crawl.metadata import is_chrome, jsonld_item_urls, jsonld_objects, page_meta
from omvarld.crawl.pdf import PdfAttachments, is_pdf_link

MAX_TEXT_CHARS = 200_000
ATTACHMENT_EXTENSIONS = (".pdf", ".docx", ".doc", ".xlsx", ".xls", ".pptx", ".odt")
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Row:
    """One listing entry (feed item, listing row, API item) before its page is read."""

    url: str  # public
    title: str = ""
    published: date | None = None
    summary: str = ""
    text: str = ""
    version: str | None = None
    identifier: str | None = None  # how the document is cited ("IP_26_2514", "COM/2026/12")
    doc_type: str | None = None
    deadline: date | None = None
    attachments: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def repair_encoding(response: TextResponse) -> TextResponse:
    """The response re-read in the charset its bytes are really in.

    Publishers misdeclare: a CMS says `charset=utf-8` over a Latin-1 (cp1252) export, or
    `iso-8859-1` over UTF-8, which turns "Malmö" into "MalmÃ¶". Non-ASCII bytes that decode
    as UTF-8 are UTF-8 (Latin-1 text almost never does); bytes declared UTF-8 that do not
    decode are cp1252.
    """
    body = response.body
    if body.isascii():
        return response
    declared = (response.encoding or "").lower().replace("_", "-")
    try:
        body.decode("utf-8")
        utf8 = True
    except UnicodeDecodeError:
        utf8 = False
    if utf8 and declared not in ("utf-8", "utf8"):
        return response.replace(encoding="utf-8")
    if not utf8 and declared in ("utf-8", "utf8"):
        return response.replace(encoding="cp1252")
    return response


def strip_tags(fragment: str | None) -> str:
    """Plain text of a small HTML fragment (a feed's description); line breaks in HTML
    source are spaces, as a browser shows them."""
    if not fragment:
        return ""
    if "<" in fragment:
        fragment = " ".join(Selector(text=f"<div>{fragment}</div>").css("div ::text").getall())
    return " ".join(html_lib.unescape(fragment).split())


def without_tracking(url: str) -> str:
    """Feeds decorate links with `utm_*` parameters; the identity of a page has none."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = [(k, v) for k, v in query if not k.lower().startswith("utm_")]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(kept), ""))


def extract_main(html: str, url: str | None = None) -> dict[str, Any]:
    """trafilatura's main text and metadata (title, date, description) of an HTML page."""
    result = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=True,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if result is None:
        return {}
    data = result.as_dict() if hasattr(result, "as_dict") else dict(result)
    data["text"] = clean_text(data.get("text"))[:MAX_TEXT_CHARS]
    return data


def parse_canonical(page: Selector, fallback: str) -> str:
    """`<link rel=canonical>`, else `og:url`, else the URL it was fetched as (public)."""
    for value in (
        page.css('link[rel="canonical"]::attr(href)').get(),
        page.css('meta[property="og:url"]::attr(content)').get(),
    ):
        if value and value.strip():
            return urljoin(fallback, value.strip())
    return fallback


def parse_page_title(page: Selector) -> str:
    for value in (
        " ".join(page.css("h1 ::text").getall()),
        page.css('meta[property="og:title"]::attr(content)').get(),
        page.css("title::text").get(),
    ):
        title = clean_text(value)
        if title:
            return title
    return ""


def parse_page_date(page: Selector) -> date | None:
    """`time[datetime]`, then the usual metadata, then a date written in the page's text."""
    for value in (
        page.css('meta[property="article:published_time"]::attr(content)').get(),
        page.css('meta[name="DC.Date"]::attr(content)').get(),
        page.css('meta[name="dcterms.date"]::attr(content)').get(),
        page.css('meta[name="date"]::attr(content)').get(),
        page.css("time::attr(datetime)").get(),
        page.css("time::text").get(),
    ):
        found = parse_date(value)
        if found:
            return found
    return None


SUMMARY_SELECTORS = (
    'meta[property="og:description"]::attr(content)',
    'meta[name="description"]::attr(content)',
)


def parse_page_summary(page: Selector, selectors: tuple[str, ...] = SUMMARY_SELECTORS) -> str:
    """The page's own description: the first of `selectors` that says something."""
    for selector in selectors:
        value = clean_text(page.css(selector).get())
        if value:
            return value
    return ""


def parse_attachment_links(page: Selector, page_url: str) -> list[str]:
    """Links to files (PDF, Word, Excel …), absolute on the page's public URL."""
    links = []
    for href in page.css("a::attr(href)").getall():
        href = href.strip()
        if href and urlsplit(href).path.lower().endswith(ATTACHMENT_EXTENSIONS):
            links.append(urljoin(page_url, href))
    return list(dict.fromkeys(links))


def dig(data: Any, path: str | None) -> Any:
    """`dig(data, "result.items")`; an empty path is the data itself; None if missing."""
    if not path:
        return data
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


def paths_of(paths: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """A JSON path or a tuple of fallbacks, as a tuple."""
    if paths is None:
        return ()
    return (paths,) if isinstance(paths, str) else tuple(paths)


def dig_first(data: Any, paths: str | tuple[str, ...] | None, kind: type | None = None) -> Any:
    """The value at the first of `paths` that holds one (of `kind`, if given); None if none
    does. APIs change shape: `("initiativeResultDtoPage.content", "_embedded.items")`."""
    for path in paths_of(paths):
        value = dig(data, path)
        if value is not None and (kind is None or isinstance(value, kind)):
            return value
    return None


class GenericSpider(PdfAttachments, OmvarldSpider):
    """What the three bases share: rows → known check → detail page → document."""

    name = ""
    doc_type: ClassVar[str] = "news"
    # (regex on the lower-cased title + URL, document type), the first match wins; a row
    # that matches none is `doc_type`.
    type_rules: ClassVar[tuple[tuple[str, str], ...]] = ()
    # Where the detail page states its publication date when the listing row has none.
    detail_date_selector: ClassVar[str | None] = None
    follow_detail: ClassVar[bool] = True
    max_pages: ClassVar[int] = 5
    date_languages: ClassVar[tuple[str, ...]] = ("sv", "da", "en")
    # the order of a numeric date ("9/25/2026" is month-first: MDY)
    date_order: ClassVar[str] = "DMY"
    # The kind a declared kind's spider reads: the source's entry, not the class, says where
    # and how (`configure`); a class written for one source (None) keeps its attributes.
    declared_kind: ClassVar[str | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.source.kind == "spider":
            self.max_pages = int(self.source.params.get("max_pages", type(self).max_pages))
        if self.declared_kind:
            if not isinstance(self.source, DeclaredSource) or (
                self.source.kind != self.declared_kind
            ):
                raise ConfigError(
                    "sources.yaml", f"sources[{self.source.id}].kind",
                    f"{self.source.kind!r}: the {self.declared_kind!r} spider reads only "
                    "sources of its own kind",
                )
            self.configure(self.source)

    def configure(self, source: Source) -> None:
        """Take what a declared source says (`config/sources.yaml`) over the class's own
        attributes: a source of a declared kind needs no class of its own."""
        assert isinstance(source, DeclaredSource)
        self.doc_type = source.doc_type  # type: ignore[misc]
        self.type_rules = tuple(tuple(rule) for rule in source.type_rules)  # type: ignore[misc]
        if source.date_languages:
            self.date_languages = tuple(source.date_languages)  # type: ignore[misc]
        self.date_order = source.date_order  # type: ignore[misc]
        self.detail_date_selector = source.detail_date  # type: ignore[misc]
        self.follow_detail = source.follow_detail  # type: ignore[misc]
        self.max_pages = source.max_pages

    def read_date(self, value: str | None) -> date | None:
        """A date as this source writes it (its languages, its order of day and month)."""
        return parse_date(value, self.date_languages, self.date_order)

    # -- hooks per row ---------------------------------------------------------------

    def row_doc_type(self, row: Row) -> str:
        """The document type of a row: the row's own, else the first of `type_rules` that
        matches its title or URL ("Remiss: …", "/remisser/"), else the class's."""
        if row.doc_type:
            return row.doc_type
        haystack = f"{row.title}\n{row.url}\n{row.extra.get('type_text', '')}".lower()
        for pattern, doc_type in self.type_rules:
            if re.search(pattern, haystack):
                return doc_type
        return self.doc_type

    def row_deadline(self, row: Row, text: str) -> date | None:
        """A response deadline: the row's, else the prose of a remiss/consultation."""
        if row.deadline:
            return row.deadline
        if self.row_doc_type(row) in ("remiss", "consultation"):
            return parse_remiss_deadline(text)
        return None

    def detail_date(self, page: Selector) -> date | None:
        """The date at `detail_date_selector` ("Publicerad: 2026-10-28", "20. november
        2026"), read before the page's metadata, which often dates the last edit."""
        if not self.detail_date_selector:
            return None
        stated = " ".join(page.css(self.detail_date_selector).getall())
        return self.read_date(stated)

    def detail_fields(self, page: TextResponse, row: Row) -> dict[str, Any]:
        """Extra or overriding document fields read from the detail page (a hook)."""
        return {}

    # -- incremental -------------------------------------------------------------------

    def fresh_rows(self, rows: list[Row]) -> tuple[list[Row], bool]:
        """Rows not stored yet (or changed), and whether any row was stored already."""
        known = self.known_versions(r.url for r in rows)
        fresh, any_known = [], False
        seen: set[str] = set()
        for row in rows:
            if row.url in seen:
                continue
            seen.add(row.url)
            if self.is_known(row.url, row.version, known):
                any_known = True
                self.skip_unchanged(row.url, "stored already")
            else:
                fresh.append(row)
        return fresh, any_known

    def expect_rows(self, rows: list[Any], *, url: str, page: int, reported: int | None) -> None:
        """No rows on a first page while the source reports hits, or while the store holds
        documents of this source: the layout changed (not "no news")."""
        expected = (reported or 0) > 0 or (page == 1 and self.stored_count() > 0)
        self.check_rows(rows, expected=expected, url=url, what="rows")

    def empty_response(self, response: Response) -> bool:
        """An empty body where a listing was expected: never read as "no news" — the source
        is reported broken (`LayoutChanged`), whether the cause is a glitch or a move."""
        if response.body.strip():
            return False
        raise LayoutChanged(
            f"{self.to_public(response.url)} answered an empty body where a listing was expected"
        )

    def may_page(self, page: int, any_known: bool, url: str) -> bool:
        if any_known:
            self.skip(url, f"page {page} reached stored documents; paging stops")
            return False
        if page >= self.max_pages:
            self.logger.warning("max_pages (%d) reached at %s; older left", self.max_pages, url)
            return False
        return True

    # -- rows to documents -------------------------------------------------------------

    def follow(self, rows: Iterable[Row]) -> Iterator[Request | Document]:
        for row in rows:
            if self.follow_detail:
                yield self.request(
                    self.to_local(row.url), self.parse_detail, cb_kwargs={"row": row}
                )
            else:
                yield from self.document_from_row(row)

    def document_from_row(self, row: Row) -> Iterator[Request | Document]:
        """A document from the listing alone (feeds and APIs that carry the text)."""
        text = row.text or row.summary
        doc = self.build_document(
            row.url,
            title=row.title,
            doc_type=self.row_doc_type(row),
            identifier=row.identifier,
            published=self.checked_date(row.url, row.published),
            deadline=self.row_deadline(row, text),
            summary=row.summary,
            text=text,
            attachments=row.attachments,
            source_version=row.version,
        )
        if doc is not None:
            yield from self.with_pdfs(doc)

    def parse_detail(self, response: Response, row: Row) -> Iterator[Request | Document]:
        """A detail page: standard metadata first (`omvarld.crawl.metadata`: JSON-LD,
        OpenGraph, `DC.*`, `<time datetime>`, canonical link, htmldate), trafilatura's main
        text; the row and `detail_date` refine. A main text that is the site's navigation
        or a bare download list is dropped, and the attachments' text kept instead."""
        if not isinstance(response, TextResponse) or not response.body.strip():
            what = "an empty page" if not response.body.strip() else "not an HTML page"
            self.record_failure(row.url, f"{what} ({response.headers.get('Content-Type')})")
            return
        response = repair_encoding(response)
        public = self.to_public(response.url)
        meta = page_meta(response.selector, row.url)
        main = extract_main(response.text, public)
        text = main.get("text", "")
        chrome = bool(text) and is_chrome(text, response.selector)
        if chrome:
            self.note(row.url, "main text is the site's navigation or a download list; dropped")
            text = ""
        title = meta.title or clean_text(main.get("title")) or row.title
        if not title and not text:
            self.record_failure(row.url, "no title and no main text — layout changed?")
            return
        canonical = without_tracking(meta.canonical or row.url)
        published = (
            row.published
            or self.detail_date(response)
            or meta.published
            or parse_date(main.get("date"))
            or find_written_date(text[:600], self.date_languages)
        )
        attachments = list(
            dict.fromkeys(row.attachments + parse_attachment_links(response, canonical))
        )
        fields: dict[str, Any] = {
            "title": title,
            "doc_type": self.row_doc_type(row),
            "identifier": row.identifier,
            "published": published,
            "summary": row.summary or meta.description or clean_text(main.get("description")),
            "text": text,
            "deadline": self.row_deadline(row, text),
            "attachments": attachments,
            "source_version": row.version,
        }
        fields.update(self.detail_fields(response, row))
        fields["published"] = self.checked_date(canonical, fields["published"])
        doc = self.build_document(canonical, **fields)
        if doc is not None:
            # with its own text gone, a document's attachments are its text
            force = chrome and any(is_pdf_link(a) for a in attachments)
            yield from self.with_pdfs(doc, force=force)


class FeedSpider(GenericSpider):
    """RSS 2.0 / Atom feeds through feedparser: title, link, pubDate/updated, summary.

    `feed_paths` (or `params.feeds`) are paths under the base URL. With `follow_detail`
    each new item's page is read for its main text and attachments; without, the feed's
    own content is the text. `page_param` pages a feed that supports it (`?page=2`).
    """

    feed_paths: ClassVar[tuple[str, ...]] = ()
    page_param: ClassVar[str | None] = None

    def configure(self, source: Source) -> None:
        super().configure(source)
        assert isinstance(source, FeedSource)
        self.feed_paths = tuple(source.feeds)  # type: ignore[misc]
        self.page_param = source.page_param  # type: ignore[misc]

    def feed_urls(self) -> list[str]:
        paths = self.source.params.get("feeds") or list(self.feed_paths)
        return [f"{self.base_url}{p}" for p in paths]

    async def start(self) -> AsyncIterator[Request]:
        for url in self.feed_urls():
            yield self.request(url, self.parse_feed, cb_kwargs={"feed": url, "page": 1})

    def page_url(self, feed: str, page: int) -> str:
        """The feed's URL for `page`: the `page_param` value replaced where it stands, else
        appended. The rest of the URL is left as the publisher wrote it — re-encoding would
        mangle queries that are not quite regular (the press corner's `rss?search?…`)."""
        param = re.escape(str(self.page_param))
        edited, found = re.subn(rf"([?&]){param}=[^&#]*", rf"\g<1>{self.page_param}={page}", feed)
        if found:
            return edited
        return f"{feed}{'&' if urlsplit(feed).query else '?'}{self.page_param}={page}"

    def parse_feed(self, response: Response, feed: str, page: int) -> Iterator[Request | Document]:
        if self.empty_response(response):
            return
        parsed = feedparser.parse(response.body)
        not_a_feed = parsed.bozo or "html" in parsed.version or not parsed.version
        if not parsed.entries and not_a_feed and response.body.strip():
            raise LayoutChanged(
                f"{response.url} is not an RSS/Atom feed any more "
                f"({response.headers.get('Content-Type', b'').decode(errors='replace')}): "
                f"{parsed.get('bozo_exception', 'no feed elements')}"
            )
        rows = [row for row in map(self.parse_entry, parsed.entries) if row is not None]
        self.expect_rows(rows, url=response.url, page=page, reported=None)
        fresh, any_known = self.fresh_rows(rows)
        yield from self.follow(fresh)
        if self.page_param and rows and self.may_page(page, any_known, response.url):
            next_url = self.page_url(feed, page + 1)
            yield self.request(
                next_url, self.parse_feed, cb_kwargs={"feed": feed, "page": page + 1}
            )

    def parse_entry(self, entry: Any) -> Row | None:
        """One feed item; an item without a link is skipped with its reason."""
        link = (entry.get("link") or "").strip()
        if not link.startswith(("http://", "https://")):
            # feedparser falls back to the entry's id ("urn:uuid:…") when there is no link
            self.skip(str(entry.get("title", "?")), f"feed item without a web link ({link!r})")
            return None
        stamp = entry.get("published") or entry.get("updated")
        published = None
        parsed = entry.get("published_parsed") or entry.get("updated_parsed")
        if parsed:
            published = date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
        elif stamp:
            published = self.read_date(stamp)
        content = entry.get("content") or []
        text = strip_tags(content[0].get("value")) if content else ""
        enclosures = [e.get("href") for e in entry.get("enclosures", []) if e.get("href")]
        return Row(
            url=without_tracking(link),
            title=clean_text(strip_tags(entry.get("title"))),
            published=published,
            summary=strip_tags(entry.get("summary")),
            text=text,
            version=entry.get("updated") or None,
            attachments=[e for e in enclosures if urlsplit(e).path.lower().endswith(".pdf")],
            extra={"id": entry.get("id"), "tags": [t.get("term") for t in entry.get("tags", [])]},
        )


class HtmlListingSpider(GenericSpider):
    """HTML listing pages → rows by CSS selectors → detail pages read by trafilatura.

    Selectors are relative to a row; `*_selector = None` means the listing does not show
    it (the detail page then gives it). `next_page_selector` finds the next listing page.
    """

    listing_paths: ClassVar[tuple[str, ...]] = ()
    row_selector: ClassVar[str] = "article"
    link_selector: ClassVar[str] = "a::attr(href)"
    title_selector: ClassVar[str | None] = "a ::text"
    date_selector: ClassVar[str | None] = "time::attr(datetime)"
    summary_selector: ClassVar[str | None] = None
    next_page_selector: ClassVar[str | None] = None
    # text of the row read with its title by `type_rules` ("::attr(class)", a tag label)
    row_type_selector: ClassVar[str | None] = None
    post: ClassVar[Any] = None  # a `ListingPost`: the rows come from a POST
    jsonld_items: ClassVar[bool] = False  # the rows are the page's JSON-LD ItemList

    def configure(self, source: Source) -> None:
        super().configure(source)
        assert isinstance(source, HtmlListingSource)
        self.listing_paths = tuple(source.listings)  # type: ignore[misc]
        self.row_selector = source.row or "script[type='application/ld+json']"  # type: ignore[misc]
        self.jsonld_items = source.jsonld_items  # type: ignore[misc]
        self.link_selector = source.link  # type: ignore[misc]
        self.title_selector = source.title  # type: ignore[misc]
        self.date_selector = source.date  # type: ignore[misc]
        self.summary_selector = source.summary  # type: ignore[misc]
        self.next_page_selector = source.next_page  # type: ignore[misc]
        self.row_type_selector = source.row_type  # type: ignore[misc]
        self.post = source.post  # type: ignore[misc]

    def listing_urls(self) -> list[str]:
        paths = self.source.params.get("listings") or list(self.listing_paths)
        return [f"{self.base_url}{p}" for p in paths]

    async def start(self) -> AsyncIterator[Request]:
        for url in self.listing_urls():
            callback = self.parse_listing_page if self.post else self.parse_listing
            yield self.request(url, callback, cb_kwargs={"page": 1})

    def parse_listing_page(self, response: Response, page: int) -> Iterator[Request]:
        """The page whose list a script fills: its form token, then the POST that answers
        the rows (`post` in the source; Danish ministries' `surface/FilterListe`)."""
        if self.empty_response(response):
            return
        form = dict(self.post.form)
        if self.post.token_selector and self.post.token_field:
            token = response.css(self.post.token_selector).get()
            if not token:
                raise LayoutChanged(
                    f"{self.to_public(response.url)}: no form token at "
                    f"`{self.post.token_selector}` for the listing's POST"
                )
            form[self.post.token_field] = token.strip()
        yield self.post_request(f"{self.base_url}{self.post.path}", form)

    def post_request(self, url: str, form: dict[str, str]) -> Request:
        from scrapy import FormRequest

        request = self.request(url, self.parse_listing, cb_kwargs={"page": 1})
        return FormRequest(
            url, formdata=form, callback=request.callback, errback=request.errback,
            cb_kwargs=request.cb_kwargs, meta=request.meta,
        )

    def parse_listing(self, response: Response, page: int) -> Iterator[Request | Document]:
        if self.empty_response(response):
            return
        if not isinstance(response, TextResponse):
            raise LayoutChanged(f"{response.url} is not an HTML listing any more")
        response = repair_encoding(response)
        public = self.to_public(response.url)
        if self.jsonld_items:
            urls = jsonld_item_urls(jsonld_objects(response.selector), public)
            blocks, rows = urls, [Row(url=without_tracking(u)) for u in urls]
        else:
            blocks = response.css(self.row_selector)
            rows = [r for r in (self.parse_row(b, public) for b in blocks) if r is not None]
        if len(rows) < len(blocks):
            self.skip(public, f"{len(blocks) - len(rows)} row(s) without a link")
        # A listing page is never legitimately empty: no rows means the layout changed.
        self.check_rows(rows, expected=page == 1, url=public, what=f"`{self.row_selector}` rows")
        fresh, any_known = self.fresh_rows(rows)
        yield from self.follow(fresh)
        next_href = response.css(self.next_page_selector).get() if self.next_page_selector else None
        if next_href and rows and self.may_page(page, any_known, public):
            next_public = urljoin(public, next_href.strip())
            yield self.request(
                self.to_local(next_public), self.parse_listing, cb_kwargs={"page": page + 1}
            )

    def parse_row(self, block: Selector, page_url: str) -> Row | None:
        href = block.css(self.link_selector).get()
        if not href or not href.strip():
            return None
        date_value = block.css(self.date_selector).get() if self.date_selector else None
        type_text = (
            " ".join(block.css(self.row_type_selector).getall()) if self.row_type_selector else ""
        )
        return Row(
            url=without_tracking(urljoin(page_url, href.strip())),
            title=clean_text(" ".join(block.css(self.title_selector).getall()))
            if self.title_selector
            else "",
            published=self.read_date(date_value),
            summary=clean_text(" ".join(block.css(self.summary_selector).getall()))
            if self.summary_selector
            else "",
            extra={"type_text": type_text} if type_text else {},
        )


class JsonApiSpider(GenericSpider):
    """A paged JSON API: `api_path` + query, items at `items_path`, total at `total_path`
    (either may be a tuple of fallback paths, the first that holds a value counts), a next
    link at `next_path` or page/offset counting. Each item becomes a document
    through `row_to_document` (default: `row_from_item` → the listing alone, or its
    detail page when `follow_detail`)."""

    api_path: ClassVar[str] = ""
    query: ClassVar[dict[str, Any]] = {}
    # A path, or fallbacks tried in order (an API that changed shape answers either).
    items_path: ClassVar[str | tuple[str, ...]] = "data"
    total_path: ClassVar[str | tuple[str, ...] | None] = None
    next_path: ClassVar[str | None] = None
    page_param: ClassVar[str] = "page"
    page_size_param: ClassVar[str | None] = None
    page_size: ClassVar[int] = 50
    first_page: ClassVar[int] = 1
    offset_paging: ClassVar[bool] = False  # page_param counts items, not pages
    follow_detail: ClassVar[bool] = False
    fields: ClassVar[Any] = None  # a declared source's `JsonFields`

    def configure(self, source: Source) -> None:
        super().configure(source)
        assert isinstance(source, JsonApiSource)
        self.api_path = source.api  # type: ignore[misc]
        self.items_path = tuple(source.items)  # type: ignore[misc]
        self.total_path = tuple(source.total) or None  # type: ignore[misc]
        self.next_path = source.next  # type: ignore[misc]
        self.page_param = source.page_param  # type: ignore[misc]
        self.page_size_param = source.page_size_param  # type: ignore[misc]
        self.page_size = source.page_size  # type: ignore[misc]
        self.first_page = source.first_page  # type: ignore[misc]
        self.offset_paging = source.offset_paging  # type: ignore[misc]
        self.fields = source.fields  # type: ignore[misc]

    def api_url(self, page: int) -> str:
        query = dict(self.query)
        query.update(self.source.params.get("query", {}))
        if self.page_size_param:
            query[self.page_size_param] = self.page_size
        index = self.first_page + (page - 1)
        query[self.page_param] = (page - 1) * self.page_size if self.offset_paging else index
        return f"{self.base_url}{self.api_path}?{urlencode(query)}"

    async def start(self) -> AsyncIterator[Request]:
        yield self.request(self.api_url(1), self.parse_api, cb_kwargs={"page": 1})

    def parse_api(self, response: Response, page: int) -> Iterator[Request | Document]:
        if self.empty_response(response):
            return
        if response.body.lstrip()[:1] == b"<":
            raise LayoutChanged(f"{response.url} answered HTML where JSON was expected")
        data = self.load_json(response)
        if data is None:
            return
        items = dig_first(data, self.items_path, list)
        total = dig_first(data, self.total_path)
        total_count = int(total) if isinstance(total, (int, str)) and str(total).isdigit() else None
        if items is None:
            if total_count is None:
                wanted = " or ".join(f"`{p}`" for p in paths_of(self.items_path))
                raise LayoutChanged(f"no {wanted} list in the JSON of {response.url}")
            # A HAL answer leaves `_embedded` out when it is empty; its count says whether
            # rows were due (`expect_rows`).
            items = []
        self.expect_rows(items, url=response.url, page=page, reported=total_count)
        rows = [r for r in (self.row_from_item(i) for i in items if isinstance(i, dict)) if r]
        fresh, any_known = self.fresh_rows(rows)
        for row in fresh:
            yield from self.row_to_document(row)
        if not items or not self.may_page(page, any_known, response.url):
            return
        next_link = dig(data, self.next_path) if self.next_path else None
        if isinstance(next_link, str) and next_link:
            yield self.request(
                self.to_local(urljoin(self.to_public(response.url), next_link)),
                self.parse_api,
                cb_kwargs={"page": page + 1},
            )
        elif total_count is not None and page * self.page_size < total_count:
            yield self.request(self.api_url(page + 1), self.parse_api, cb_kwargs={"page": page + 1})

    def row_from_item(self, item: dict[str, Any]) -> Row | None:
        """A hook: one API item as a `Row` (its public URL at least); None skips it. A
        declared source's `fields` say where each value is."""
        if self.fields is None:
            raise NotImplementedError(f"{type(self).__name__} must define row_from_item")
        f = self.fields
        link = dig(item, f.url) if f.url else None
        if f.url_template:
            try:
                link = f.url_template.format(**item)
            except (KeyError, IndexError, ValueError):
                link = None
        if not isinstance(link, str) or not link.strip():
            self.skip(str(item.get("id", "?")), "API item without a URL")
            return None
        public = urljoin(self.source.base_url + "/", link.strip())

        def text(path: str | None) -> str:
            value = dig(item, path) if path else None
            return strip_tags(value) if isinstance(value, str) else ""

        return Row(
            url=without_tracking(public),
            title=clean_text(text(f.title)),
            published=self.read_date(text(f.date)),
            summary=text(f.summary),
            text=text(f.text),
            identifier=text(f.identifier) or None,
        )

    def row_to_document(self, row: Row) -> Iterator[Request | Document]:
        """A hook: a new row as a document (default) or as a detail request."""
        if self.follow_detail:
            yield from self.follow([row])
        else:
            yield from self.document_from_row(row)


class SitemapSpider(GenericSpider):
    """A sitemap, as Scrapy's `SitemapSpider` reads one (`scrapy.utils.sitemap`): the
    `sitemaps` paths, else the `Sitemap:` lines of robots.txt; an index is followed to its
    sitemaps; the URLs matching `follow` (all, if none is given) are read as pages.

    `lastmod` is each URL's version, so a re-crawl fetches only pages changed since;
    `since_days` leaves out entries older than that. A sitemap is not ordered, so a crawl
    reads at most `max_pages` × `ITEMS_PER_PAGE` entries, newest `lastmod` first.
    """

    sitemap_paths: ClassVar[tuple[str, ...]] = ()
    follow_patterns: ClassVar[tuple[str, ...]] = ()
    since_days: ClassVar[int | None] = None
    ITEMS_PER_PAGE: ClassVar[int] = 100
    MAX_DEPTH: ClassVar[int] = 3

    def configure(self, source: Source) -> None:
        from omvarld.config.load import SitemapSource

        super().configure(source)
        assert isinstance(source, SitemapSource)
        self.sitemap_paths = tuple(source.sitemaps)  # type: ignore[misc]
        self.follow_patterns = tuple(source.follow)  # type: ignore[misc]
        self.since_days = source.since_days  # type: ignore[misc]

    async def start(self) -> AsyncIterator[Request]:
        if not self.sitemap_paths:
            yield self.request(f"{self.base_url}/robots.txt", self.parse_robots)
        for path in self.sitemap_paths:
            yield self.request(f"{self.base_url}{path}", self.parse_sitemap, cb_kwargs={"depth": 0})

    def parse_robots(self, response: Response) -> Iterator[Request]:
        from scrapy.utils.sitemap import sitemap_urls_from_robots

        public = self.to_public(response.url)
        urls = list(sitemap_urls_from_robots(response.text, base_url=public))
        if not urls:
            raise LayoutChanged(f"{public} names no `Sitemap:`; give `sitemaps` in the source")
        for url in urls:
            yield self.request(self.to_local(url), self.parse_sitemap, cb_kwargs={"depth": 0})

    def parse_sitemap(self, response: Response, depth: int) -> Iterator[Request | Document]:
        import gzip

        from scrapy.utils.sitemap import Sitemap

        if self.empty_response(response):
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        public = self.to_public(response.url)
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # lxml refuses what is not XML
            raise LayoutChanged(f"{public} is not a sitemap: {exc}") from exc
        entries = list(sitemap)
        if sitemap.type == "sitemapindex":
            if depth < self.MAX_DEPTH:
                for entry in entries:
                    loc = entry.get("loc")
                    if loc:
                        yield self.request(
                            self.to_local(loc), self.parse_sitemap, cb_kwargs={"depth": depth + 1}
                        )
            return
        if sitemap.type != "urlset":
            raise LayoutChanged(f"{public} is not a sitemap (root element {sitemap.type!r})")
        rows = [row for row in map(self.sitemap_row, entries) if row is not None]
        self.check_rows(entries, expected=True, url=public, what="sitemap <url> entries")
        rows.sort(key=lambda r: r.version or "", reverse=True)
        rows = rows[: self.max_pages * self.ITEMS_PER_PAGE]
        fresh, _ = self.fresh_rows(rows)
        yield from self.follow(fresh)

    def sitemap_row(self, entry: dict[str, Any]) -> Row | None:
        loc = (entry.get("loc") or "").strip()
        if not loc or (
            self.follow_patterns and not any(re.search(p, loc) for p in self.follow_patterns)
        ):
            return None
        lastmod = (entry.get("lastmod") or "").strip() or None
        modified = self.read_date(lastmod) if lastmod else None
        if self.since_days and modified and (self.today - modified).days > self.since_days:
            return None
        return Row(url=without_tracking(loc), version=lastmod)
