"""Recording a crawl's responses as fixtures: what `omvarld sources record ID` writes.

The first run on the internet turns guesses into real fixtures. With the setting
`OMVARLD_RECORD_DIR`, `RecordMiddleware` (a downloader middleware placed after Scrapy's
decompression and redirects, so it sees each final, decoded answer) writes every response of
the crawl into that folder, in the layout `tests/fixtures/<source>/` uses:

- one file per answer, named after its path and query (`dokumentlista_doktyp-bet_p-1.json`),
  byte for byte as received (after HTTP decompression);
- `routes.json`, so that `omvarld.crawl.replay` serves the recording: each answer under its
  path relative to the crawl's base URL, with every query parameter it was asked with, its
  content type and, unless 200, its status; a redirect's first URLs get the same answer;
- `recorded.json`, the provenance of each file: URL, time (UTC), status, response headers,
  size and sha256;
- `PROVENANCE.md`, the same as a "Recorded" table (file, what, where it came from, sha256) in
  the form the replay tests read, to be completed by hand with what each file is.

A retried answer replaces the failed one (the file is named by the request). robots.txt is
not recorded (the replay answers it itself). An answer from a host whose path cannot be told
apart from the base's is still recorded under its path and listed as such.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

log = logging.getLogger(__name__)

SETTING = "OMVARLD_RECORD_DIR"
# After HttpCompressionMiddleware (590) and the redirects (600) on the way back: the answer
# as the spider gets it. Before RetryMiddleware (550): a retried failure is replaced.
PRIORITY = 585
_EXTENSIONS = {
    "json": ".json", "xml": ".xml", "rss": ".xml", "atom": ".xml", "html": ".html",
    "pdf": ".pdf", "turtle": ".ttl", "plain": ".txt", "csv": ".csv",
}
_SLUG = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 100


@dataclass
class Recorded:
    """One recorded answer: where it came from and what it was."""

    file: str
    url: str
    path: str
    query: dict[str, str]
    status: int
    fetched: str
    content_type: str
    headers: dict[str, str]
    size: int
    sha256: str
    also_for: list[str] = field(default_factory=list)


def extension(content_type: str, path: str) -> str:
    """The file ending for a content type ("application/json" → ".json"), else the path's."""
    kind = content_type.split(";")[0].strip().lower()
    for word, ending in _EXTENSIONS.items():
        if word in kind:
            return ending
    suffix = Path(urlsplit(path).path).suffix
    return suffix if 1 < len(suffix) <= 6 else ".bin"


def file_name(path: str, query: dict[str, str], content_type: str) -> str:
    """A readable, unique file name for an answer: its path and query as a slug, cut to
    `MAX_NAME` characters with a short hash of the whole request when cut."""
    stem = path.strip("/").replace("/", "_") or "index"
    stem = re.sub(r"\.[A-Za-z0-9]{1,5}$", "", stem)
    if query:
        stem += "_" + "_".join(f"{k}-{v}" for k, v in query.items())
    stem = _SLUG.sub("-", stem).strip("-_") or "index"
    if len(stem) > MAX_NAME:
        digest = hashlib.sha256(f"{path}?{sorted(query.items())}".encode()).hexdigest()[:10]
        stem = f"{stem[:MAX_NAME]}-{digest}"
    return stem + extension(content_type, path)


def relative_path(url: str, base_url: str) -> str:
    """The path a replay route names: under the crawl's base URL, else the URL's own path."""
    base = base_url.rstrip("/")
    bare = url.split("?", 1)[0].split("#", 1)[0]
    if bare == base or bare.startswith(base + "/"):
        return bare[len(base):] or "/"
    return urlsplit(url).path or "/"


def _headers(response: Response) -> dict[str, str]:
    return {
        name.decode("latin-1"): b", ".join(values).decode("latin-1")
        for name, values in response.headers.items()
    }


class RecordMiddleware:
    """Write every answer of the crawl into `OMVARLD_RECORD_DIR` (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.recorded: dict[str, Recorded] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordMiddleware:
        folder = crawler.settings.get(SETTING)
        if not folder:
            raise NotConfigured(f"{SETTING} not set")
        middleware = cls(Path(folder))
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response, spider: Spider) -> Response:
        if urlsplit(response.url).path.endswith("/robots.txt"):
            return response
        base_url = getattr(spider, "base_url", "") or ""
        path = relative_path(response.url, base_url)
        query = dict(parse_qsl(urlsplit(response.url).query, keep_blank_values=True))
        content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
        name = file_name(path, query, content_type)
        taken = self.recorded.get(name)
        if taken is not None and (taken.path, taken.query) != (path, query):
            digest = hashlib.sha256(response.url.encode()).hexdigest()[:10]
            stem, dot, ending = name.rpartition(".")
            name = f"{stem}-{digest}{dot}{ending}"
        body = response.body
        (self.folder / name).write_bytes(body)
        also = [
            relative_path(u, base_url)
            + (f"?{urlsplit(u).query}" if urlsplit(u).query else "")
            for u in request.meta.get("redirect_urls", [])
        ]
        self.recorded[name] = Recorded(
            file=name, url=response.url, path=path, query=query, status=response.status,
            fetched=datetime.now(UTC).replace(microsecond=0).isoformat(),
            content_type=content_type or "application/octet-stream",
            headers=_headers(response), size=len(body),
            sha256=hashlib.sha256(body).hexdigest(), also_for=also,
        )
        return response

    def spider_closed(self, spider: Spider) -> None:
        write_index(self.folder, getattr(spider, "name", "?"), list(self.recorded.values()))
        log.info("recorded %d answers into %s", len(self.recorded), self.folder)


def routes(entries: list[Recorded]) -> list[dict[str, Any]]:
    """The replay's routing table for the recorded answers (redirected URLs included)."""
    out = []
    for entry in entries:
        targets = [(entry.path, entry.query)]
        for also in entry.also_for:
            path, _, query = also.partition("?")
            targets.append((path, dict(parse_qsl(query, keep_blank_values=True))))
        for path, query in targets:
            route: dict[str, Any] = {"path": path}
            if query:
                route["query"] = query
            route["file"] = entry.file
            route["content_type"] = entry.content_type
            if entry.status != 200:
                route["status"] = entry.status
            route["note"] = f"RECORDED {entry.fetched} from {entry.url}"
            out.append(route)
    return out


def provenance_markdown(source: str, entries: list[Recorded]) -> str:
    """PROVENANCE.md of a recording: a "Recorded" table in the form the replay tests read."""
    lines = [
        f"# tests/fixtures/{source} — provenance",
        "",
        f"Answers of one crawl of `{source}`, **RECORDED** by `omvarld sources record "
        f"{source}` and saved byte for byte as received (after HTTP decompression).",
        "`recorded.json` holds each file's URL, time, status, response headers and sha256.",
        "Describe what each file is before the folder becomes a test fixture.",
        "",
        "## Recorded",
        "",
        "| file | what it is | where it came from | sha256 |",
        "| --- | --- | --- | --- |",
    ]
    for e in sorted(entries, key=lambda e: e.file):
        what = f"HTTP {e.status}, {e.content_type}, {e.size:,} bytes"
        lines.append(f"| {e.file} | {what} | {e.url}, fetched {e.fetched} | {e.sha256} |")
    lines += [
        "",
        "## Routing",
        "",
        "`routes.json` maps each request path (with every query parameter it was asked "
        "with) to its file for `omvarld.crawl.replay`.",
        "",
    ]
    return "\n".join(lines)


def write_index(folder: Path, source: str, entries: list[Recorded]) -> None:
    """routes.json, recorded.json and PROVENANCE.md of a recording folder."""
    entries = sorted(entries, key=lambda e: (e.path, sorted(e.query.items())))
    table = {
        "source": source,
        "note": "Recorded by `omvarld sources record`; see PROVENANCE.md and recorded.json.",
        "routes": routes(entries),
    }
    (folder / "routes.json").write_text(
        json.dumps(table, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (folder / "recorded.json").write_text(
        json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2) + "\n",
        encoding="utf-8")
    (folder / "PROVENANCE.md").write_text(provenance_markdown(source, entries), encoding="utf-8")
