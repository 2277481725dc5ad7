"""What every omvarld spider shares: its `Source`, the store, the crawl report.

A spider is built from a source in `config/sources.yaml` (`source_id` argument; the spider's
`name` by default). Its base URL comes from the configuration and may be overridden with a
`base_url` spider argument, so tests and `--replay` point it at a local server; the URLs of
the documents it produces are always the publisher's own, never the local server's.

The crawl report (`CrawlReport`) lives on the spider: the pipelines count what they store,
errbacks and signal handlers count what failed, and when the spider closes the report is
written to the store's crawl run. A source counts as failed when it could not be reached at
all (every request failed), when no request was answered although none failed (all were
dropped unsent), or when a page no longer had the layout the spider reads.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from pydantic import ValidationError
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

from omvarld.config.load import Source, load_sources
from omvarld.core.errors import SourceError
from omvarld.core.model import NO_LISTING, CrawlReport, Document
from omvarld.crawl.dates import check_published
from omvarld.store import Store

# Marks requests the spider itself made (robots.txt fetches are Scrapy's, not ours).
OWN_REQUEST = "omvarld_request"


class LayoutChanged(SourceError):
    """A page no longer has the structure the spider reads: fail loudly, never guess."""


def utcnow() -> datetime:
    """Naive UTC, as the store keeps its timestamps."""
    return datetime.now(UTC).replace(tzinfo=None)


def describe_failure(failure: Failure, max_bytes: int | None = None) -> str:
    """A short, readable reason for a failed request ("HTTP 500", "connection refused",
    "larger than the download limit of 10,485,760 bytes")."""
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if isinstance(exc, CancelledError):  # how Scrapy ends a download past its size limit
        if "larger than" in str(exc):  # declared by Content-Length: Scrapy names both
            return f"refused: {str(exc).strip()}"
        request = getattr(failure, "request", None)
        limit = (request.meta.get("download_maxsize") if request is not None else None
                 ) or max_bytes
        return (f"refused: the answer is larger than the download limit of {limit:,} bytes"
                if limit else "refused: the answer is larger than the download limit")
    if isinstance(exc, IgnoreRequest):
        return f"request ignored: {exc}" if str(exc) else "request ignored (robots.txt?)"
    name = type(exc).__name__
    text = str(exc).strip()
    return f"{name}: {text}" if text else name


class OmvarldSpider(scrapy.Spider):
    """Base of every omvarld spider: source, base URL, store look-ups, report, checks."""

    # No name: the base is not a spider of its own (Scrapy refuses to build it, and its
    # spider loader does not list it); each subclass is named after its source id.
    name = ""

    def __init__(
        self,
        source_id: str | None = None,
        base_url: str | None = None,
        database_url: str | None = None,
        store: Store | None = None,
        today: date | None = None,
        source: Source | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        # The day dates are checked against (`checked_date`); tests freeze it.
        self.today: date = today or date.today()
        # A `source` given directly is one not (yet) in sources.yaml: `sources check` tries
        # the entry it is about to suggest.
        self.source: Source = source or load_sources().get(source_id or self.name)
        self.base_url: str = (base_url or self.source.base_url).rstrip("/")
        self.database_url = database_url
        self.store: Store | None = store
        self._owns_store = False
        self.run_id: int | None = None
        self.report = CrawlReport(source=self.source.id, started=utcnow())
        self.requests_failed = 0
        self.responses_ok = 0
        self.layout_failed = False
        self.listings_read = 0  # listing pages whose rows were read (`known_versions`)

    # -- set-up and signals ------------------------------------------------------------

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> OmvarldSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.store is None:
            url = spider.database_url or crawler.settings.get("OMVARLD_DATABASE_URL") or None
            spider.store = Store.open(url)
            spider._owns_store = True
        run_id = crawler.settings.getint("OMVARLD_CRAWL_RUN_ID", 0)
        spider.run_id = run_id or spider.store.start_crawl(spider.source.id, spider.report.started)
        crawler.signals.connect(spider._on_response, signals.response_received)
        crawler.signals.connect(spider._on_spider_error, signals.spider_error)
        crawler.signals.connect(spider._on_item_dropped, signals.item_dropped)
        crawler.signals.connect(spider._on_item_error, signals.item_error)
        crawler.signals.connect(spider._on_spider_closed, signals.spider_closed)
        return spider

    def _on_response(
        self, response: Response, request: scrapy.Request, spider: scrapy.Spider
    ) -> None:
        if request.meta.get(OWN_REQUEST) and response.status < 400:
            self.responses_ok += 1

    def _on_spider_error(self, failure: Failure, response: Response, spider: scrapy.Spider) -> None:
        exc = failure.value
        if isinstance(exc, LayoutChanged):
            self.layout_failed = True
            self.record_failure(response.url, f"page layout changed: {exc}")
        else:
            self.record_failure(response.url, f"{type(exc).__name__}: {exc}")

    def _on_item_dropped(
        self, item: Any, response: Response, exception: DropItem, spider: scrapy.Spider
    ) -> None:
        self.logger.info("skipped %s: %s", getattr(item, "url", item), exception)

    def _on_item_error(
        self, item: Any, response: Response, spider: scrapy.Spider, failure: Failure
    ) -> None:
        self.record_failure(
            getattr(item, "url", response.url), f"{type(failure.value).__name__}: {failure.value}"
        )

    def _on_spider_closed(self, spider: scrapy.Spider, reason: str) -> None:
        report = self.final_report(reason)
        self.logger.info(
            "crawl of %s %s: %d new, %d updated, %d unchanged, %d failed",
            self.source.id,
            report.status,
            report.new,
            report.updated,
            report.unchanged,
            report.failed,
        )
        if self.store is not None and self.run_id is not None:
            self.store.finish_crawl(self.run_id, report)
        if self._owns_store and self.store is not None:
            self.store.close()

    def final_report(self, reason: str = "finished") -> CrawlReport:
        """The report as it stands, with its status decided (see the module docstring)."""
        report = self.report
        unreachable = self.requests_failed > 0 and self.responses_ok == 0
        if reason != "finished":
            report.errors.append(f"{self.source.id}: crawl stopped early ({reason})")
        if unreachable:
            report.errors.insert(
                0,
                f"{self.source.id}: source unreachable at {self.base_url}: "
                f"all {self.requests_failed} requests failed",
            )
        # Nothing answered and nothing failed: every request was dropped before it was
        # sent (a duplicate or offsite filter, a start that asked for nothing). "ok, no
        # news" would hide it. A redirect loop is not this case: `LoopSafeRedirectMiddleware`
        # fails it, so it is counted in `requests_failed` and reported as unreachable.
        unanswered = self.responses_ok == 0 and self.requests_failed == 0
        if unanswered and reason == "finished" and not self.layout_failed:
            report.errors.insert(
                0,
                f"{self.source.id}: no page of {self.base_url} was answered — every request "
                "was dropped before an answer, none failed",
            )
        failed = unreachable or unanswered or self.layout_failed or reason != "finished"
        # Answers came, but not one listing could be read (garbled, another format): a
        # failed crawl, which health calls broken when the source used to yield documents.
        no_listing = (not failed and self.listings_read == 0 and report.failed > 0
                      and report.seen == 0)
        if no_listing:
            report.errors.insert(0, f"{self.source.id}: {NO_LISTING} "
                                    f"({report.failed} answers unusable)")
        # Documents or listing pages lost: the crawl did not see everything.
        if failed or no_listing:
            report.status = "failed"
        else:
            report.status = "partial" if report.failed else "ok"
        report.finished = utcnow()
        return report

    # -- requests ----------------------------------------------------------------------

    def request(
        self, url: str, callback: Callable[..., Any], *, cb_kwargs: dict[str, Any] | None = None
    ) -> scrapy.Request:
        """A request whose failure is recorded (errback) and whose success is counted."""
        return scrapy.Request(
            url,
            callback=callback,
            errback=self._request_failed,
            cb_kwargs=cb_kwargs or {},
            meta={OWN_REQUEST: True},
        )

    def _request_failed(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else self.base_url
        self.requests_failed += 1
        settings = getattr(self, "settings", None)  # none outside a crawler (tests)
        limit = settings.getint("DOWNLOAD_MAXSIZE") if settings is not None else None
        self.record_failure(url, describe_failure(failure, limit))

    def local_url(self, public_url: str) -> str:
        """A URL the source gave (absolute, on its public host) made relative to our base.

        Listings link to the live host (`@nasta_sida` is `https://data.riksdagen.se/…`);
        following those literally would leave the replay server or a configured mirror.
        """
        parts = urlsplit(public_url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.base_url}{parts.path}{query}"

    def to_local(self, public_url: str) -> str:
        """Where to fetch a public URL: itself, unless `base_url` was overridden (a replay
        server, a mirror), in which case the part under the configured base moves to the
        override and any other host's URL keeps its path under the override."""
        source_base = self.source.base_url.rstrip("/")
        if self.base_url == source_base:
            return public_url
        if public_url == source_base or public_url.startswith(source_base + "/"):
            return self.base_url + public_url[len(source_base) :]
        return self.local_url(public_url)

    def to_public(self, fetched_url: str) -> str:
        """The publisher's own URL of a URL we fetched (the inverse of `to_local`)."""
        source_base = self.source.base_url.rstrip("/")
        if self.base_url != source_base and (
            fetched_url == self.base_url or fetched_url.startswith(self.base_url + "/")
        ):
            return source_base + fetched_url[len(self.base_url) :]
        return fetched_url

    def stored_count(self) -> int:
        """How many documents of this source the store holds (0 without a store): a source
        that used to have documents and now lists none has changed its layout."""
        if self.store is None:
            return 0
        return self.store.document_counts_by_source().get(self.source.id, 0)

    def public_path(self, local_url: str) -> str:
        """The path of a fetched URL without our base's own path prefix (`/regeringen`)."""
        path = urlsplit(local_url).path
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if prefix and path.startswith(prefix + "/"):
            return path[len(prefix) :]
        return path

    # -- documents ---------------------------------------------------------------------

    def make_document(self, **fields: Any) -> Document:
        """A `Document` of this source: source, publisher and level come from the config."""
        return Document(
            source=self.source.id,
            publisher=self.source.publisher,
            level=self.source.level,
            fetched=utcnow(),
            **fields,
        )

    def build_document(self, url: str, **fields: Any) -> Document | None:
        """`make_document`, but an invalid document is a reported failure, not a crash."""
        try:
            return self.make_document(url=url, **fields)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
            )
            self.record_failure(url, f"invalid document ({problems})")
            return None

    def known_versions(self, urls: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """What the store holds for these URLs; nothing without a store (parse tests)."""
        self.listings_read += 1  # spiders ask once per listing page they could read
        if self.store is None:
            return {}
        return self.store.known_versions(urls)

    def is_known(
        self, url: str, version: str | None, known: dict[str, tuple[str, str | None]] | None = None
    ) -> bool:
        """Stored already, with the same source version (or the source gives none).

        `known` is a `known_versions` answer for a whole listing page, so that a page
        costs one query instead of one per row.
        """
        stored = (known if known is not None else self.known_versions([url])).get(url)
        if stored is None:
            return False
        return version is None or stored[1] == version

    # -- reporting ---------------------------------------------------------------------

    def skip(self, url: str, reason: str) -> None:
        """Every skipped row or page is logged with its reason."""
        self.logger.info("skipped %s: %s", url, reason)

    def skip_unchanged(self, url: str, reason: str) -> None:
        """A row the store already has in this version: counted as unchanged, not fetched."""
        self.report.unchanged += 1
        self.skip(url, reason)

    def record_failure(self, url: str, problem: str) -> None:
        """One item or request that failed: logged, counted, and named in the report."""
        self.report.failed += 1
        self.report.errors.append(f"{url}: {problem}")
        self.logger.error("%s: %s", url, problem)

    def note(self, url: str, problem: str) -> None:
        """Something a user should know that is not a failure (a date dropped as impossible):
        logged as a warning and named in the report, without counting as failed."""
        self.report.errors.append(f"{url}: {problem}")
        self.logger.warning("%s: %s", url, problem)

    def checked_date(self, url: str, value: date | None) -> date | None:
        """A publication date as it may be stored: one in the future is dropped and noted
        (`omvarld.crawl.dates.check_published`)."""
        checked, problem = check_published(value, self.today)
        if problem:
            self.note(url, problem)
        return checked

    def check_rows(self, rows: list[Any], *, expected: bool, url: str, what: str) -> None:
        """A listing that yields no rows where the source says there are some: the layout
        changed. Raised from the callback, so Scrapy logs it and `spider_error` records it."""
        if expected and not rows:
            raise LayoutChanged(
                f"{self.source.id}: no {what} found on {url} although the source reports hits"
                " — the page structure changed; update the spider's selectors"
            )

    def load_json(self, response: Response, public_url: str | None = None) -> Any | None:
        """The JSON body, or None after recording the failure (truncated or invalid body).

        Nothing is stored from such a response, so the next crawl fetches it again.
        """
        where = f" (fetched from {response.url})" if public_url else ""
        try:  # a binary answer (an image, a zip) has no `text`
            body = response.text if hasattr(response, "text") else response.body.decode()
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            other = other_format(response)
            if other:
                problem = f"{other} where JSON was expected"
            elif isinstance(exc, UnicodeDecodeError):
                problem = f"not text: {exc.reason}"
            else:
                cut = exc.pos >= len(body.rstrip()) - 1
                problem = (f"{exc.msg} at character {exc.pos} of {len(response.body)} bytes"
                           + (" — the answer ends early (truncated)" if cut else ""))
                problem = "invalid JSON: " + problem
            self.record_failure(public_url or response.url, f"{problem}{where}")
            return None


def other_format(response: Response) -> str | None:
    """What a response that should be JSON is instead ("XML (application/rdf+xml)",
    "Turtle"), by its Content-Type and its first bytes; None when it may be JSON."""
    declared = response.headers.get(b"Content-Type", b"").decode("latin-1").split(";")[0]
    head = response.body.lstrip()[:64]
    kinds = (("turtle", "Turtle"), ("n-triples", "N-Triples"), ("html", "HTML"),
             ("xml", "XML"))
    for needle, name in kinds:
        if needle in declared.lower():
            return f"{name} ({declared.strip()})"
    if head.startswith((b"@prefix", b"@base", b"PREFIX")):
        return "Turtle"
    if head.startswith(b"<"):
        kind = "HTML" if head[:15].lower().startswith((b"<!doctype html", b"<html")) else "XML"
        return kind + (f" (declared {declared.strip()})" if declared.strip() else "")
    return None
