"""`omvarld sources check`: fetch each source's entry points and say what they give.

For the day the sources meet the internet. Per source: the HTTP status of each entry point,
the rows found and how many carry a title, a URL and a date, one detail page read as a crawl
reads it (title, date, text length), sample titles, and the problems met. The parsing is the
spider's own — its callbacks are called on the fetched answers, without Scrapy's engine — so
what the check finds is what a crawl would find. Only first pages are read, and one detail
page per source: a check costs a handful of requests.

When a source finds nothing, the check looks for what would work: `<link rel="alternate">`
feeds in the head of its entry page and home page, `Sitemap:` lines in robots.txt, JSON-LD
`ItemList`s; each candidate is tried with the same code, and the first that gives rows is
printed as a YAML entry for `config/sources.yaml`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import yaml
from parsel import Selector
from scrapy import Request
from scrapy.http import Response
from scrapy.responsetypes import responsetypes

from omvarld.config.load import FeedSource, Source, Sources
from omvarld.core.errors import SourceError
from omvarld.core.model import Document
from omvarld.core.settings import get_settings
from omvarld.crawl.base import OmvarldSpider
from omvarld.crawl.generic import Row
from omvarld.crawl.metadata import jsonld_item_urls, jsonld_objects

log = logging.getLogger(__name__)

# Requests a check makes at most per source (entry points, a POST, a sitemap index …),
# besides the one detail page.
MAX_LISTING_REQUESTS = 6
SAMPLES = 3
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json")
# Fields of a declared entry a suggestion keeps from the source it replaces.
KEPT = ("id", "name", "publisher", "level", "base_url", "language", "enabled", "doc_type",
        "type_rules", "date_languages", "date_order", "max_pages")


@dataclass
class Fetched:
    url: str  # as fetched
    status: int | None
    error: str = ""


@dataclass
class Detail:
    url: str
    status: int | None = None
    title: str = ""
    published: str = ""
    text_chars: int = 0
    problem: str = ""


@dataclass
class Suggestion:
    """A declared entry that was tried and gave rows."""

    found: str  # where it was found ("<link rel=alternate> on https://…/en/news")
    entry: dict[str, Any]
    rows: int
    samples: list[str] = field(default_factory=list)

    def as_yaml(self) -> str:
        return yaml.safe_dump([self.entry], sort_keys=False, allow_unicode=True, width=100)


@dataclass
class SourceCheck:
    source_id: str
    kind: str
    fetched: list[Fetched] = field(default_factory=list)
    rows: int = 0
    with_title: int = 0
    with_url: int = 0
    with_date: int = 0
    samples: list[str] = field(default_factory=list)
    detail: Detail | None = None
    problems: list[str] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """Rows found, every entry point answered, and no changed layout."""
        answered = all(f.status is not None and f.status < 400 for f in self.fetched)
        return self.rows > 0 and answered and not any("layout" in p for p in self.problems)


class Fetcher:
    """Plain HTTP for the check: the crawl's user agent, redirects followed, a time limit."""

    def __init__(self, client: httpx.Client | None = None, timeout: float = 30.0) -> None:
        self.client = client or httpx.Client(
            headers={"User-Agent": get_settings().user_agent},
            follow_redirects=True,
            timeout=timeout,
        )

    def get(self, url: str) -> tuple[Fetched, httpx.Response | None]:
        return self.send("GET", url)

    def send(
        self, method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[Fetched, httpx.Response | None]:
        try:
            answer = self.client.request(method, url, content=body or None, headers=headers)
        except httpx.HTTPError as exc:
            return Fetched(url, None, f"{type(exc).__name__}: {exc}"), None
        return Fetched(url, answer.status_code), answer


def as_scrapy(request: Request, answer: httpx.Response) -> Response:
    """An httpx answer as the Scrapy response the spider's callback expects."""
    headers = {k: v for k, v in answer.headers.items() if k.lower() != "content-encoding"}
    cls = responsetypes.from_args(headers=headers, url=request.url, body=answer.content)
    return cls(
        url=request.url, status=answer.status_code, headers=headers, body=answer.content,
        request=request,
    )


def make_spider(source: Source, base_url: str | None) -> OmvarldSpider:
    from omvarld.crawl.sources.declared import spider_class

    return spider_class(source)(source_id=source.id, source=source, base_url=base_url)


def is_detail(request: Request) -> bool:
    """A request for one document (a listing row's page), as opposed to another listing."""
    name = getattr(request.callback, "__name__", "")
    return name in ("parse_detail", "parse_document") or "row" in request.cb_kwargs


def as_row(spider: OmvarldSpider, request: Request) -> Row:
    """The listing row a detail request carries; a named spider's own row (a dict of the
    API's fields) is read for what a row says: title and date."""
    row = request.cb_kwargs.get("row")
    if isinstance(row, Row):
        return row
    data = row if isinstance(row, dict) else {}
    title = next((str(data[k]) for k in ("titel", "title", "shortTitle") if data.get(k)), "")
    stamp = next((str(data[k]) for k in ("datum", "date", "published") if data.get(k)), None)
    from omvarld.crawl.dates import parse_date

    return Row(url=spider.to_public(request.url), title=title, published=parse_date(stamp))


def _start_requests(spider: OmvarldSpider) -> list[Request]:
    async def collect() -> list[Request]:
        return [r async for r in spider.start()]

    return asyncio.run(collect())


def robots_rules(spider: OmvarldSpider, fetcher: Fetcher) -> Callable[[str], bool]:
    """Whether the crawl (which obeys robots.txt) may fetch a URL of this source."""
    from urllib.robotparser import RobotFileParser

    _, answer = fetcher.get(spider.to_local(spider.source.base_url + "/robots.txt"))
    if answer is None or answer.status_code >= 400:
        return lambda _url: True
    rules = RobotFileParser()
    rules.parse(answer.text.splitlines())
    agent = get_settings().user_agent
    return lambda url: rules.can_fetch(agent, url)


def run_entry_points(
    spider: OmvarldSpider, fetcher: Fetcher, check: SourceCheck
) -> tuple[list[Row], list[Document], list[Request]]:
    """The spider's start requests and what they lead to, first pages only."""
    rows: list[Row] = []
    docs: list[Document] = []
    details: list[Request] = []
    queue = _start_requests(spider)
    allowed = robots_rules(spider, fetcher)
    budget = MAX_LISTING_REQUESTS
    while queue and budget > 0:
        request = queue.pop(0)
        if request.cb_kwargs.get("page", 1) > 1:
            continue  # a check reads first pages only
        if not allowed(spider.to_public(request.url)):
            check.problems.append(
                f"robots.txt disallows {spider.to_public(request.url)}: the crawl will not "
                "fetch it"
            )
            continue
        budget -= 1
        headers = {k.decode(): v[0].decode() for k, v in request.headers.items()}
        fetched, answer = fetcher.send(
            request.method, request.url, request.body, headers if request.body else None
        )
        fetched.url = spider.to_public(request.url)
        check.fetched.append(fetched)
        if answer is None or answer.status_code >= 400:
            check.problems.append(
                f"{fetched.url}: {fetched.error or f'HTTP {answer.status_code}'}"  # type: ignore[union-attr]
            )
            continue
        try:
            out = list(request.callback(as_scrapy(request, answer), **request.cb_kwargs) or [])
        except SourceError as exc:
            check.problems.append(f"page layout changed: {exc}")
            continue
        except Exception as exc:  # a spider's own bug must not stop the check
            check.problems.append(f"{fetched.url}: {type(exc).__name__}: {exc}")
            continue
        for item in out:
            if isinstance(item, Document):
                docs.append(item)
            elif isinstance(item, Request) and is_detail(item):
                details.append(item)
                rows.append(as_row(spider, item))
            elif isinstance(item, Request) and "doc" in item.cb_kwargs:  # a PDF of a document
                docs.append(item.cb_kwargs["doc"])
            elif isinstance(item, Request):
                queue.append(item)
    return rows, docs, details


def read_detail(spider: OmvarldSpider, fetcher: Fetcher, request: Request) -> Detail:
    detail = Detail(url=spider.to_public(request.url))
    fetched, answer = fetcher.get(request.url)
    detail.status = fetched.status
    if answer is None or answer.status_code >= 400:
        detail.problem = fetched.error or f"HTTP {fetched.status}"
        return detail
    try:
        out = list(request.callback(as_scrapy(request, answer), **request.cb_kwargs) or [])
    except Exception as exc:
        detail.problem = f"{type(exc).__name__}: {exc}"
        return detail
    for item in out:
        doc = item if isinstance(item, Document) else (
            item.cb_kwargs.get("doc") if isinstance(item, Request) else None
        )
        if isinstance(doc, Document):
            detail.title = doc.title
            detail.published = doc.published.isoformat() if doc.published else ""
            detail.text_chars = len(doc.text)
            return detail
    detail.problem = "; ".join(spider.report.errors[-2:]) or "no document from the page"
    return detail


def check_source(
    source: Source, *, base_url: str | None = None, fetcher: Fetcher | None = None,
    discover: bool = True,
) -> SourceCheck:
    """Fetch `source`'s entry points (at `base_url` if given: a mirror, the replay server)."""
    fetcher = fetcher or Fetcher()
    check = SourceCheck(source.id, source.kind)
    try:
        spider = make_spider(source, base_url)
    except Exception as exc:
        check.problems.append(f"the spider could not be built: {type(exc).__name__}: {exc}")
        return check
    rows, docs, details = run_entry_points(spider, fetcher, check)
    check.rows = len(rows) + len(docs)
    titles = [r.title for r in rows] + [d.title for d in docs]
    check.with_title = sum(1 for t in titles if t)
    check.with_url = sum(1 for r in rows if r.url) + sum(1 for d in docs if d.url)
    check.with_date = sum(1 for r in rows if r.published) + sum(1 for d in docs if d.published)
    check.samples = [t for t in titles if t][:SAMPLES]
    if details:
        check.detail = read_detail(spider, fetcher, details[0])
    elif docs:
        doc = docs[0]
        check.detail = Detail(
            url=doc.url, status=200, title=doc.title,
            published=doc.published.isoformat() if doc.published else "",
            text_chars=len(doc.text),
        )
    for error in spider.report.errors[:3]:
        if error not in check.problems:
            check.problems.append(error)
    if discover and not check.healthy:
        check.suggestions = discover_alternatives(source, spider, fetcher)
    return check


# -- finding what would work ---------------------------------------------------------------


def entry_pages(source: Source) -> list[str]:
    """The public pages worth reading for alternatives: the entry points, then the home page."""
    params = source.params
    paths = list(params.get("listings") or []) + list(params.get("feeds") or [])
    pages = [source.base_url + p for p in paths if isinstance(p, str)]
    return list(dict.fromkeys([*pages, source.base_url + "/"]))


def feed_links(html: str, page_url: str) -> list[str]:
    page = Selector(text=html)
    links = []
    for link in page.css("link[rel~=alternate]"):
        if (link.attrib.get("type") or "").lower() in FEED_TYPES and link.attrib.get("href"):
            links.append(urljoin(page_url, link.attrib["href"].strip()))
    return links


def sitemap_lines(robots: str, base: str) -> list[str]:
    from scrapy.utils.sitemap import sitemap_urls_from_robots

    return list(sitemap_urls_from_robots(robots, base_url=base))


def candidate_entry(source: Source, kind: str, url: str, **extra: Any) -> dict[str, Any]:
    """A declared entry for `url`, keeping what the source says of itself."""
    data = source.model_dump(by_alias=True)
    entry = {k: data[k] for k in KEPT if k in data and data[k] not in (None, [], "")}
    entry.setdefault("id", source.id)
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if origin != source.base_url:
        entry["base_url"] = origin
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    entry["kind"] = kind
    entry[{"feed": "feeds", "sitemap": "sitemaps", "html_listing": "listings"}[kind]] = [path]
    entry.update(extra)
    order = ["id", "name", "publisher", "level", "kind", "base_url", "language", "enabled"]
    return {k: entry[k] for k in order if k in entry} | {
        k: v for k, v in entry.items() if k not in order
    }


def try_entry(
    entry: dict[str, Any], source: Source, spider: OmvarldSpider, fetcher: Fetcher
) -> tuple[int, list[str]]:
    """Rows an entry gives (its first page), with sample titles; 0 if it is not valid."""
    try:
        candidate = Sources.model_validate({"sources": [entry]}).sources[0]
    except Exception as exc:  # an entry we built that does not validate is no suggestion
        log.info("candidate for %s does not validate: %s", source.id, exc)
        return 0, []
    local = spider.to_local(candidate.base_url) if candidate.base_url == source.base_url else None
    trial = check_source(candidate, base_url=local, fetcher=fetcher, discover=False)
    return trial.rows, trial.samples


def discover_alternatives(
    source: Source, spider: OmvarldSpider, fetcher: Fetcher
) -> list[Suggestion]:
    found: list[tuple[str, str, str]] = []  # (kind, public URL, where found)
    for page_url in entry_pages(source):
        _, answer = fetcher.get(spider.to_local(page_url))
        if answer is None or answer.status_code >= 400 or "html" not in answer.headers.get(
            "content-type", "html"
        ):
            continue
        for link in feed_links(answer.text, page_url):
            found.append(("feed", link, f'<link rel="alternate"> on {page_url}'))
        items = jsonld_item_urls(jsonld_objects(Selector(text=answer.text)), page_url)
        if items:
            found.append(("jsonld", page_url, f"a JSON-LD ItemList of {len(items)} URLs on "
                          f"{page_url}"))
    robots_url = source.base_url + "/robots.txt"
    _, answer = fetcher.get(spider.to_local(robots_url))
    if answer is not None and answer.status_code < 400:
        for url in sitemap_lines(answer.text, source.base_url):
            found.append(("sitemap", url, f"`Sitemap:` in {robots_url}"))
    suggestions: list[Suggestion] = []
    seen: set[tuple[str, str]] = set()
    for kind, url, where in found:
        if (kind, url) in seen:
            continue
        seen.add((kind, url))
        if kind == "jsonld":
            entry = candidate_entry(source, "html_listing", url, jsonld_items=True)
        else:
            entry = candidate_entry(source, kind, url)
        if isinstance(source, FeedSource) and kind == "feed" and [urlsplit(url).path] == [
            urlsplit(source.base_url + p).path for p in source.feeds
        ]:
            continue  # the feed the source already reads
        rows, samples = try_entry(entry, source, spider, fetcher)
        if rows:
            suggestions.append(Suggestion(where, entry, rows, samples))
    return suggestions


def check_sources(
    sources: Iterable[Source], base_url_for: Callable[[str], str | None] = lambda _: None
) -> list[SourceCheck]:
    fetcher = Fetcher()
    return [check_source(s, base_url=base_url_for(s.id), fetcher=fetcher) for s in sources]


__all__ = ["SourceCheck", "Suggestion", "check_source", "check_sources"]
