"""What the tests build again and again: documents in a store, a week's digest data, an SMTP
inbox, offline Scrapy runs over the replay server. Tests import from here, never from each
other."""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from email import policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.http import Response
from scrapy.responsetypes import responsetypes

from omvarld.core.model import Document, Evidence, Label
from omvarld.crawl.generic import GenericSpider
from omvarld.crawl.replay import ReplayServer
from omvarld.store import Store

WEEK = "2026-W47"



IN_WEEK = datetime(2026, 11, 18, 9, 0)  # Wednesday, naive UTC as the store holds it



NOW = datetime(2026, 11, 23, 7, 0)  # Monday morning after the week (08:00 in Malmö)



SCRIPT_TITLE = "<script>alert(1)</script>"



def add(
    store: Store,
    slug: str,
    *,
    seen: datetime = IN_WEEK,
    labels: dict[str, float] | None = None,
    title: str | None = None,
    doc_type: str = "report",
    level: str = "national",
    published: date | None = date(2026, 11, 17),
    deadline: date | None = None,
    summary: str = "",
    text: str = "Regeringen föreslår en ny lag. Den gäller från 2027. Mer text här.",
    terms: list[str] | None = None,
) -> int:
    """Store one document first seen at `seen`, with accepted labels {area: score}."""
    doc = Document(
        url=f"https://example.se/{slug}",
        source="test",
        publisher="Regeringskansliet",
        level=level,
        doc_type=doc_type,
        title=title or f"Dokument {slug}",
        summary=summary,
        text=text,
        language="sv",
        published=published,
        deadline=deadline,
    )
    store.save_document(doc, now=seen)
    doc_id = next(row.id for row in store.documents() if row.url == doc.url)
    store.save_labels(
        doc_id,
        doc.content_hash,
        [
            Label(
                area=area,
                score=score,
                threshold=0.5,
                evidence=Evidence(
                    terms=terms or ["arbetsmarknad", "sysselsättning"],
                    sentence="Arbetsmarknaden behöver fler insatser.",
                    similarity=0.7,
                    margin=0.1,
                ),
                model_version="test-v1",
            )
            for area, score in (labels or {}).items()
        ],
    )
    return doc_id



EVERYTHING = "strateg@malmo.test"



TRANSPORT_AND_ENVIRONMENT = "hallbar@malmo.test"



TRANSPORT = "trafik@malmo.test"



DIGEST_YAML = f"""
per_area: 3
pdf: false
subject: "Omvärld v{{week_number}}"
recipients:
  everything: [{EVERYTHING}]
  areas:
    transport: [{TRANSPORT}, {TRANSPORT_AND_ENVIRONMENT}]
    miljo: [{TRANSPORT_AND_ENVIRONMENT}]
"""



class Inbox:
    """An aiosmtpd handler that keeps every message it is handed, per envelope."""

    def __init__(self) -> None:
        self.envelopes: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=policy.default)
        self.envelopes.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def for_recipient(self, address: str) -> list[email.message.EmailMessage]:
        return [m for rcpts, m in self.envelopes if address in rcpts]



def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



TODAY = date(2026, 11, 23)



LOCAL = "http://127.0.0.1:9"  # never contacted: requests are answered in-process



def answer(server: ReplayServer, request: Request) -> Response:
    """The replay server's answer to `request` as a Scrapy response (no socket)."""
    parts = urlsplit(request.url)
    raw = parts.path + (f"?{parts.query}" if parts.query else "")
    got = server.answer(raw, request.method, request.body.decode("utf-8", errors="replace"))
    headers = {"Content-Type": got.content_type}
    cls = responsetypes.from_args(headers=headers, url=request.url, body=got.body)
    return cls(url=request.url, status=got.status, headers=headers, body=got.body, request=request)



def run_offline(spider: GenericSpider, server: ReplayServer) -> list[Document]:
    """Every request the spider makes, answered from the fixtures, until none is left."""

    async def first() -> list[Request]:
        return [r async for r in spider.start()]

    return settle(asyncio.run(first()), server)



def settle(queue: list[Any], server: ReplayServer) -> list[Document]:
    """Answer every request in `queue` (and those its callbacks yield) from the fixtures."""
    queue = list(queue)
    docs: list[Document] = []
    while queue:
        request = queue.pop(0)
        response = answer(server, request)
        if response.status >= 400:
            out = request.errback(_Failure(request, response)) if request.errback else None
        else:
            out = request.callback(response, **request.cb_kwargs)
        for item in out or []:
            (docs if isinstance(item, Document) else queue).append(item)
    return docs



class _Failure:
    """What an errback reads of a failed request (its request and an HTTP error)."""

    def __init__(self, request: Request, response: Response) -> None:
        from scrapy.spidermiddlewares.httperror import HttpError

        self.request = request
        self.value = HttpError(response, "HTTP error")



def page_response(source: str, path: str, body: bytes, content_type: str = "text/html") -> Response:
    url = f"{LOCAL}/{source}{path}"
    headers = {"Content-Type": content_type}
    cls = responsetypes.from_args(headers=headers, url=url, body=body)
    return cls(url=url, headers=headers, body=body, request=Request(url))



# -- settings and Prefect ------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@contextmanager
def settings_env(**values: str) -> Iterator[None]:
    """`OMVARLD_*` (and other) environment variables set for a block, the settings
    re-read on entry and exit."""
    from omvarld.core.settings import get_settings

    with pytest.MonkeyPatch.context() as env:
        for key, value in values.items():
            env.setenv(key, value)
        get_settings.cache_clear()
        try:
            yield
        finally:
            get_settings.cache_clear()
    get_settings.cache_clear()


def config_copy(folder: Path, schedule: str | None = None) -> Path:
    """A copy of the project's `config/` in `folder`, with `schedule.yaml` replaced."""
    config = folder / "config"
    shutil.copytree(ROOT / "config", config)
    if schedule is not None:
        (config / "schedule.yaml").write_text(schedule, encoding="utf-8")
    return config


def source_spider(source_id: str) -> type[GenericSpider]:
    """The spider class of a declared source, named after it, so that
    `source_spider("skr")(base_url=…)` reads the `skr` entry of `config/sources.yaml` as a
    crawl does (the class itself is the kind's, configured by the entry alone)."""
    from omvarld.crawl.sources.declared import spider_class

    base = spider_class(source_id)
    return type(f"{source_id.title().replace('_', '')}Spider", (base,), {"name": source_id})


def crawl_twice(source: str, folder: Path) -> tuple:
    """Crawl `source` from the replay server twice, each in its own process, into one
    SQLite store: (first report, its requests, second report, its requests, the stored
    documents by URL) — what a first crawl and an incremental re-crawl cost and keep."""
    from omvarld.crawl.run import run_crawl_in_subprocess

    url = f"sqlite:///{folder}/t.sqlite"
    with ReplayServer(FIXTURES) as server:
        first = run_crawl_in_subprocess(source, base_url=server.base_url(source), database_url=url)
        n_first = len(server.requested(source))
        second = run_crawl_in_subprocess(source, base_url=server.base_url(source), database_url=url)
        n_second = len(server.requested(source)) - n_first
    store = Store.open(url)
    try:
        docs = {d.url: d for d in store.documents()}
    finally:
        store.close()
    return first, n_first, second, n_second, docs
