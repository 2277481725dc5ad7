"""Benchmark of the spiders' parsing: pages per second, against a bare parsel parse.

Every configured source with a fixture folder (`tests/fixtures/<source>/routes.json`) is
replayed without a network: the spider's start requests, and every request its callbacks
yield, are answered by the replay server's own routing (`ReplayServer.answer`, the bytes it
would serve over HTTP) and kept as Scrapy responses. Then, on the clock, each page's callback
is called and its output consumed (listing → rows → requests, article → trafilatura →
document), `--repeat` times; and, on the same pages, a bare parsel parse: `Selector(text)`,
the `<title>` and every link (for feeds the item titles and links, for JSON a `jmespath`
of the top-level keys). The ratio spider/parsel says what a spider's parsing costs beyond
reading the page at all (1.0 = nothing). PDF attachments are left out of both sides (parsel
cannot read a PDF); their text extraction is `omvarld.crawl.pdf`'s and bounded by its limits.

    .venv/bin/python bench/bench_parse.py [--repeat 5] [--source skr --source dk_trm]

Prints one line per source, then per spider family (feed, HTML listing, JSON API, and the
custom spiders written on the base alone) and overall: pages, pages/s of each side, ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.responsetypes import responsetypes
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

from omvarld.config.load import load_sources
from omvarld.crawl.generic import FeedSpider, HtmlListingSpider, JsonApiSpider
from omvarld.crawl.replay import ReplayServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
LOCAL = "http://127.0.0.1:9"  # never contacted
TODAY = date(2026, 11, 23)  # the fixtures' "today": their newest documents are of November 2026
FAMILIES = ((FeedSpider, "feed"), (HtmlListingSpider, "HTML listing"), (JsonApiSpider, "JSON API"))


@dataclass
class Page:
    """One answered request: the response and the callback that parses it."""

    response: TextResponse
    callback: Callable[..., Any]
    cb_kwargs: dict[str, Any]


@dataclass
class Result:
    source: str
    family: str
    pages: int = 0
    spider_seconds: float = 0.0
    parsel_seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


def family_of(cls: type) -> str:
    for base, name in FAMILIES:
        if issubclass(cls, base):
            return name
    return "custom"


def make_spider(cls: type, source: str) -> Any:
    """The spider pointed at the (never contacted) local base, without a store."""
    try:
        return cls(source_id=source, base_url=f"{LOCAL}/{source}", today=TODAY)
    except TypeError:  # spiders that take no `today`
        return cls(source_id=source, base_url=f"{LOCAL}/{source}")


def answer(server: ReplayServer, request: Request) -> Response:
    parts = urlsplit(request.url)
    got = server.answer(parts.path + (f"?{parts.query}" if parts.query else ""))
    headers = {"Content-Type": got.content_type}
    cls = responsetypes.from_args(headers=headers, url=request.url, body=got.body)
    return cls(url=request.url, status=got.status, headers=headers, body=got.body, request=request)


def consume(output: Iterable[Any] | None) -> list[Any]:
    return list(output or ())


def collect_pages(spider: Any, server: ReplayServer, result: Result) -> list[Page]:
    """Replay the whole crawl once (outside the clock), keeping every text page."""

    async def first() -> list[Request]:
        return [r async for r in spider.start()]

    queue: list[Any] = asyncio.run(first())
    pages: list[Page] = []
    seen: set[str] = set()
    while queue:
        request = queue.pop(0)
        if request.url in seen:
            continue
        seen.add(request.url)
        response = answer(server, request)
        if response.status >= 400:
            result.skipped.append(f"HTTP {response.status} {urlsplit(request.url).path}")
            continue
        if not isinstance(response, TextResponse):  # PDF attachments: see the docstring
            continue
        callback = request.callback or spider.parse
        try:
            output = consume(callback(response, **request.cb_kwargs))
        except Exception as exc:  # a fault route (truncated JSON …) the spider rejects
            result.skipped.append(f"{type(exc).__name__} {urlsplit(request.url).path}")
            continue
        pages.append(Page(response, callback, dict(request.cb_kwargs)))
        queue.extend(o for o in output if isinstance(o, Request))
    return pages


def bare_parsel(response: TextResponse) -> int:
    """The baseline: parse the page and read its title and links, nothing else."""
    content_type = response.headers.get("Content-Type", b"").decode().lower()
    if "json" in content_type:
        selector = Selector(text=response.text, type="json")
        return len(selector.jmespath("keys(@)").getall())
    if "xml" in content_type or response.text.lstrip().startswith("<?xml"):
        selector = Selector(text=response.text, type="xml")
        selector.remove_namespaces()
        return len(selector.xpath("//title/text()").getall()) + len(
            selector.xpath("//link/text() | //link/@href").getall()
        )
    selector = Selector(text=response.text)
    title = selector.css("title::text").get()
    return len(selector.css("a::attr(href)").getall()) + (1 if title else 0)


def measure(source: str, cls: type, server: ReplayServer, repeat: int) -> Result:
    result = Result(source=source, family=family_of(cls))
    pages = collect_pages(make_spider(cls, source), server, result)
    result.pages = len(pages) * repeat
    for page in pages:  # warm-up of the baseline (collect_pages was the spider's)
        bare_parsel(page.response)
    started = time.perf_counter()
    for _ in range(repeat):
        for page in pages:
            consume(page.callback(page.response, **page.cb_kwargs))
    result.spider_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(repeat):
        for page in pages:
            bare_parsel(page.response)
    result.parsel_seconds = time.perf_counter() - started
    return result


def line(label: str, pages: int, spider_s: float, parsel_s: float) -> str:
    spider_rate = pages / spider_s if spider_s else 0.0
    parsel_rate = pages / parsel_s if parsel_s else 0.0
    ratio = spider_s / parsel_s if parsel_s else float("nan")
    return f"{label:<36} {pages:>6} {spider_rate:>12.1f} {parsel_rate:>12.1f} {ratio:>10.1f}×"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over every page")
    parser.add_argument("--source", action="append", help="only these sources (repeatable)")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the spiders log every skip; the figures are the point

    settings = Settings()
    settings.setmodule("omvarld.crawl.settings", priority="project")
    loader = SpiderLoader.from_settings(settings)
    server = ReplayServer(FIXTURES)
    configured = {s.id: s for s in load_sources().sources}
    sources = [
        s for s in server.sources if s in configured and (not args.source or s in args.source)
    ]
    print(f"parse throughput over the fixtures of {len(sources)} sources, {args.repeat} passes")
    header = f"{'source':<36} {'pages':>6} {'spider p/s':>12} {'parsel p/s':>12} {'ratio':>11}"
    print(header)
    print("-" * len(header))
    results: list[Result] = []
    for source in sources:
        cls = loader.load(configured[source].spider)
        result = measure(source, cls, server, args.repeat)
        results.append(result)
        note = f"   (skipped: {', '.join(result.skipped)})" if result.skipped else ""
        print(
            line(f"{source} [{result.family}]", result.pages, result.spider_seconds,
                 result.parsel_seconds) + note
        )  # fmt: skip
    print("-" * len(header))
    by_family: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_family[result.family].append(result)
    for name, group in sorted(by_family.items()):
        print(
            line(
                f"family: {name}",
                sum(r.pages for r in group),
                sum(r.spider_seconds for r in group),
                sum(r.parsel_seconds for r in group),
            )
        )
    print(
        line(
            "overall",
            sum(r.pages for r in results),
            sum(r.spider_seconds for r in results),
            sum(r.parsel_seconds for r in results),
        )
    )
    print("ratio = spider parse time / bare parsel time on the same pages (1.0 = no extra cost)")


if __name__ == "__main__":
    main()
