"""A local HTTP server that answers like the sources, from their recorded responses.

Spiders are tested, and `omvarld weekly --replay` runs, without the internet: this server
(`http.server` on 127.0.0.1, a free port by default, in a background thread) serves the
files in `tests/fixtures/<source>/` under a per-source prefix, so `base_url("riksdagen")`
is `http://127.0.0.1:PORT/riksdagen` and the spider's configured base URL is swapped for it.

Each source folder has a `routes.json`: which request (path, plus the query parameters a
route names) gets which file with which content type. Query parameters a route does not
name are ignored, except paging: `p` / `page` must match (default 1), so a listing never
serves its first page forever. A route can also serve a fault — another status (500) or a
file truncated to N bytes — and `render: "markdown-as-html"` wraps a Markdown rendering
(the g0vse mirror's pages) into a minimal HTML page. `robots.txt` allows everything.

Hostile answers, for the tests that a crawl survives them: `headers` (a `Location` for a
redirect loop), `encoding` (the file's UTF-8 text re-encoded, e.g. to Latin-1, whatever the
content type declares), `size` (a generated body of that many bytes: a 20 MB page),
`fail_first` (the first N requests answer `fail_status`, then the route answers normally:
retries and their back-off), `method: "POST"` (a list a page fills by a POST; the form's
fields match like query parameters), and a route for `/robots.txt` replaces the allow-all
default (a `Sitemap:` line). Every request is logged with its time (`requested_at`).

Chaos, for the test that nothing garbled is stored and every loss is reported:
`chaos(rate, seed)` makes that share of recorded answers fail on their first request —
chosen by a hash of the seed and the path, so a run is reproducible — in one of five
ways: a 503, a stall that ends in a cut connection, a body cut short of its declared
length, a garbled 200 (bytes of noise, same content type) and, for a JSON answer, XML in
its place. `faulted` lists what was spoiled; `chaos(0)` ends it.

    with ReplayServer() as server:
        run_crawl_in_subprocess("riksdagen", base_url=server.base_url("riksdagen"))
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from omvarld.core.errors import ConfigError
from omvarld.core.settings import PACKAGE_DIR

log = logging.getLogger(__name__)

# The recorded responses (in a checkout, tests/fixtures/; in a wheel, a copy of it)
FIXTURES = PACKAGE_DIR / "crawl" / "recorded"
ROBOTS_TXT = b"User-agent: *\nAllow: /\n"
PAGING_PARAMS = ("p", "page")
Render = Literal["as-is", "markdown-as-html"]


@dataclass(frozen=True)
class Route:
    """One recorded (or constructed, or faulty) answer."""

    path: str
    file: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/octet-stream"
    status: int = 200
    truncate: int | None = None
    render: Render = "as-is"
    body: bytes | None = None
    note: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    encoding: str | None = None
    size: int | None = None
    fail_first: int = 0
    fail_status: int = 503
    method: str = "GET"  # a POST route matches its form fields as query parameters

    def matches(self, path: str, query: Mapping[str, str], method: str = "GET") -> bool:
        """Same path and method, the route's named parameters equal, and the same page
        (default 1)."""
        if path != self.path or method != self.method:
            return False
        for name in PAGING_PARAMS:
            if query.get(name, "1") != self.query.get(name, "1"):
                return False
        return all(query.get(k) == v for k, v in self.query.items() if k not in PAGING_PARAMS)


@dataclass
class Answer:
    status: int
    content_type: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    cut: int | None = None  # send only this many bytes of the body, then hang up
    stall: float = 0.0  # seconds of silence before the body

FAULTS = ("503", "stall", "truncated", "garbled", "content-type")


def chaos_fault(rate: float, seed: int, raw_path: str, content_type: str) -> str | None:
    """The fault chaos gives the first request of `raw_path`, or None (see above)."""
    digest = hashlib.sha256(f"{seed}:{raw_path}".encode()).digest()
    if rate <= 0 or int.from_bytes(digest[:4], "big") / 2**32 >= rate:
        return None
    fault = FAULTS[digest[4] % len(FAULTS)]
    return "garbled" if fault == "content-type" and "json" not in content_type else fault


def generated_body(size: int, content_type: str) -> bytes:
    """A body of exactly `size` bytes: an HTML page padded with paragraphs (or filler)."""
    if "html" in content_type:
        head = b"<!DOCTYPE html><html><head><title>Stor sida</title></head><body>"
        tail = b"</body></html>"
        filler = b"<p>Utfyllnad f\xc3\xb6r en mycket stor sida.</p>\n"
        if size <= len(head) + len(tail):
            return (head + tail)[:size]
        count = (size - len(head) - len(tail)) // len(filler) + 1
        body = head + filler * count
        return body[: max(0, size - len(tail))] + tail
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


def markdown_page_as_html(markdown: str) -> str:
    """A minimal HTML page from a page rendered as Markdown by the g0vse mirror.

    The `# ` line becomes the h1, `## ` lines h2, `- ` lines list items, other blocks
    paragraphs. A meta tag says that the page is such a wrapping, not the site's HTML.
    """
    title = ""
    body: list[str] = []
    for block in re.split(r"\n\s*\n", markdown.strip()):
        lines = [line.rstrip() for line in block.strip().splitlines() if line.strip()]
        if not lines:
            continue
        if lines[0].startswith("# ") and not title:
            title = lines[0][2:].strip()
            body.append(f"<h1>{html.escape(title)}</h1>")
            lines = lines[1:]
        if lines and all(line.lstrip().startswith(("- ", "* ")) for line in lines):
            items = "".join(f"<li>{html.escape(line.lstrip()[2:])}</li>" for line in lines)
            body.append(f"<ul>{items}</ul>")
        elif lines and lines[0].startswith("## "):
            body.append(f"<h2>{html.escape(lines[0][3:].strip())}</h2>")
            if lines[1:]:
                body.append(f"<p>{html.escape(' '.join(lines[1:]))}</p>")
        elif lines:
            body.append(f"<p>{html.escape(' '.join(lines))}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="sv"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="generator" content="omvarld.crawl.replay: Markdown page rendering from the '
        'g0vse mirror, wrapped as HTML; not regeringen.se markup">'
        f"</head><body><main>{''.join(body)}</main></body></html>\n"
    )


def _route_from_json(entry: Any, where: str) -> Route:
    if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
        raise ConfigError(where, "path", "each route needs a `path` string")
    known = {
        "path",
        "file",
        "query",
        "content_type",
        "status",
        "truncate",
        "render",
        "note",
        "headers",
        "encoding",
        "method",
        "size",
        "fail_first",
        "fail_status",
    }
    unknown = set(entry) - known
    if unknown:
        raise ConfigError(where, entry["path"], f"unknown route keys {sorted(unknown)}")
    if entry.get("file") is None and entry.get("size") is None and entry.get("status", 200) == 200:
        raise ConfigError(
            where, entry["path"], "a route needs a `file`, a generated `size` or a fault `status`"
        )
    query = {str(k): str(v) for k, v in (entry.get("query") or {}).items()}
    return Route(
        path=entry["path"],
        file=entry.get("file"),
        query=query,
        content_type=entry.get("content_type", "application/octet-stream"),
        status=int(entry.get("status", 200)),
        truncate=entry.get("truncate"),
        render=entry.get("render", "as-is"),
        note=entry.get("note", ""),
        headers={str(k): str(v) for k, v in (entry.get("headers") or {}).items()},
        encoding=entry.get("encoding"),
        size=entry.get("size"),
        fail_first=int(entry.get("fail_first", 0)),
        fail_status=int(entry.get("fail_status", 503)),
        method=str(entry.get("method", "GET")).upper(),
    )


def load_routes(folder: Path) -> list[Route]:
    """The routing table of one source folder; a wrong entry names the file and path."""
    path = folder / "routes.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    routes = [_route_from_json(e, str(path)) for e in data.get("routes", [])]
    for route in routes:
        if route.file and not (folder / route.file).is_file():
            raise ConfigError(str(path), route.path, f"file {route.file} not found")
    return routes


FixtureKind = Literal["recorded", "constructed"]
_TOKEN = re.compile(r"[A-Za-z0-9]+")
_CONSTRUCTED_NAME = re.compile(r"written|constructed", re.IGNORECASE)


def fixture_kinds(folder: Path) -> dict[str, FixtureKind]:
    """file → "recorded" or "constructed", as the folder's PROVENANCE.md says: a file named
    in the first column of a table under a "Recorded" heading is recorded, every other
    file is constructed (written by hand, or built from recorded ones). A name that says
    `written` or `constructed` is constructed wherever it is listed."""
    path = folder / "PROVENANCE.md"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    recorded: set[str] = set()
    for section in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
        heading = section.split("\n", 1)[0]
        if "recorded" in heading.lower():
            recorded.update(re.findall(r"^\| ([^|\s]+) \|", section, re.MULTILINE))
    return {
        p.name: "recorded" if p.name in recorded and not _CONSTRUCTED_NAME.search(p.name)
        else "constructed"
        for p in folder.iterdir() if p.is_file()
    }


def _tokens(value: str) -> set[str]:
    """The distinctive words of a URL or path: ids such as HA01AU6, 52018PC0340, 20114."""
    return {t for t in _TOKEN.findall(value)
            if len(t) >= 5 and any(c.isdigit() for c in t)}


class ReplayProvenance:
    """Which fixture a replayed document came from: recorded or constructed (see
    `fixture_kinds`), so a digest built from the replay says which entries are invented."""

    def __init__(self, root: Path = FIXTURES) -> None:
        folders = [f for f in sorted(Path(root).iterdir()) if (f / "routes.json").is_file()]
        self.routes = {f.name: load_routes(f) for f in folders}
        self.kinds = {f.name: fixture_kinds(f) for f in folders}

    def kind(self, source_id: str, url: str) -> FixtureKind:
        """"recorded" when the document's page (a route whose path ends the URL's path) or
        its detail answer (a route naming the URL's id, e.g. /dokumentstatus/HA01AU6.json
        for …/dokument/HA01AU6) is a recorded file; "constructed" otherwise, also when no
        fixture can be traced: nothing untraced passes for real."""
        routes = [r for r in self.routes.get(source_id, []) if r.file]
        kinds = self.kinds.get(source_id, {})
        parts = urlsplit(url)
        path = unquote(parts.path)
        found = [r for r in routes if len(r.path) > 1 and path.endswith(r.path)]
        if not found:
            wanted = _tokens(path) | _tokens(unquote(parts.query))
            found = [r for r in routes if wanted & (_tokens(r.path) | _tokens(r.file or ""))]
        if found and all(kinds.get(r.file or "") == "recorded" for r in found):
            return "recorded"
        return "constructed"


class ReplayServer:
    """The recorded responses of every source folder under `root`, over real HTTP."""

    def __init__(self, root: Path = FIXTURES, host: str = "127.0.0.1", port: int = 0) -> None:
        self.root = Path(root)
        self.host, self.port = host, port
        self.routes: dict[str, list[Route]] = {
            folder.name: load_routes(folder)
            for folder in sorted(self.root.iterdir())
            if (folder / "routes.json").is_file()
        }
        self.faults: dict[str, int] = {}
        self.requests: list[str] = []
        self.requested_at: list[tuple[float, str]] = []
        self._served: dict[int, int] = {}
        self._chaos: tuple[float, int] = (0.0, 0)
        self.faulted: dict[str, str] = {}  # path → fault, for chaos
        self.content_types: dict[str, str] = {}  # path → content type of what it serves
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> ReplayServer:
        server = self

        class Handler(_Handler):
            replay = server

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll interval: `stop()` waits for the serving loop to notice.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="replay", daemon=True
        )
        self._thread.start()
        log.info("replay server on %s serving %s", self.url, ", ".join(self.routes))
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def sources(self) -> list[str]:
        """The sources with recorded responses (a `routes.json` in their folder)."""
        return list(self.routes)

    def serves(self, source_id: str) -> bool:
        """Whether `source_id` has recorded responses here (sources without are not replayed)."""
        return source_id in self.routes

    def base_url(self, source_id: str) -> str:
        """The base URL a spider of `source_id` is pointed at."""
        if source_id not in self.routes:
            raise KeyError(f"no recorded responses for {source_id!r} under {self.root}")
        return f"{self.url}/{source_id}"

    # -- changing answers (tests) ------------------------------------------------------

    def add_route(self, source_id: str, route: Route) -> None:
        """Answer a request differently from now on (a changed document, a fault)."""
        with self._lock:
            self.routes.setdefault(source_id, []).insert(0, route)

    def fail_source(self, source_id: str, status: int = 500) -> None:
        """Every request under the source's prefix answers `status` (robots.txt too)."""
        with self._lock:
            self.faults[source_id] = status

    def chaos(self, rate: float, seed: int = 0) -> None:
        """Spoil `rate` of the recorded answers, each on its first request (see above)."""
        with self._lock:
            self._chaos = (rate, seed)

    def _spoil(self, raw_path: str, answer: Answer) -> Answer:
        rate, seed = self._chaos
        with self._lock:
            self.content_types[raw_path] = answer.content_type
        fault = chaos_fault(rate, seed, raw_path, answer.content_type)
        if fault is None or answer.status != 200:
            return answer
        with self._lock:
            if raw_path in self.faulted:
                return answer
            self.faulted[raw_path] = fault
        if fault == "503":
            return Answer(503, "text/plain; charset=utf-8", b"replay: chaos 503\n")
        if fault == "stall":
            return Answer(200, answer.content_type, answer.body, answer.headers, cut=0,
                          stall=1.0)
        if fault == "truncated":
            return Answer(200, answer.content_type, answer.body, answer.headers,
                          cut=len(answer.body) // 2)
        if fault == "garbled":
            noise = hashlib.shake_256(raw_path.encode()).digest(max(len(answer.body), 64))
            return Answer(200, answer.content_type, noise, answer.headers)
        return Answer(200, "application/rdf+xml",
                      b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/'
                      b'02/22-rdf-syntax-ns#"/>\n')

    def requested(self, source_id: str | None = None) -> list[str]:
        """Paths requested so far (with their query), optionally of one source only."""
        with self._lock:
            paths = list(self.requests)
        if source_id is None:
            return paths
        return [p for p in paths if p.startswith(f"/{source_id}/")]

    # -- answering ---------------------------------------------------------------------

    def answer(self, raw_path: str, method: str = "GET", form: str = "") -> Answer:
        with self._lock:
            self.requests.append(raw_path)
            self.requested_at.append((time.monotonic(), raw_path))
        parts = urlsplit(raw_path)
        path = unquote(parts.path)
        if path == "/robots.txt":
            return Answer(200, "text/plain; charset=utf-8", ROBOTS_TXT)
        source_id, _, rest = path.lstrip("/").partition("/")
        rest = "/" + rest
        if source_id not in self.routes:
            return _not_found(path)
        with self._lock:
            fault = self.faults.get(source_id)
            routes = list(self.routes[source_id])
        if fault is not None:
            return Answer(
                fault,
                "text/plain; charset=utf-8",
                f"replay: simulated HTTP {fault} for {source_id}\n".encode(),
            )
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        query.update({k: v[-1] for k, v in parse_qs(form, keep_blank_values=True).items()})
        for route in routes:
            if route.matches(rest, query, method):
                return self._spoil(raw_path, self._serve(source_id, route))
        if rest == "/robots.txt":  # a source's own robots.txt is a route like any other
            return Answer(200, "text/plain; charset=utf-8", ROBOTS_TXT)
        return _not_found(path)

    def _serve(self, source_id: str, route: Route) -> Answer:
        if route.fail_first:
            with self._lock:
                served = self._served[id(route)] = self._served.get(id(route), 0) + 1
            if served <= route.fail_first:
                return Answer(
                    route.fail_status,
                    "text/plain; charset=utf-8",
                    f"replay: simulated HTTP {route.fail_status} ({served} of "
                    f"{route.fail_first})\n".encode(),
                )
        if route.body is not None:
            body = route.body
        elif route.size is not None and route.file is None:
            body = generated_body(route.size, route.content_type)
        elif route.file is not None:
            body = (self.root / source_id / route.file).read_bytes()
        else:
            body = f"replay: simulated HTTP {route.status}\n".encode()
        if route.render == "markdown-as-html":
            body = markdown_page_as_html(body.decode("utf-8")).encode("utf-8")
        if route.encoding is not None:
            body = body.decode("utf-8").encode(route.encoding, errors="replace")
        if route.truncate is not None:
            body = body[: route.truncate]
        return Answer(route.status, route.content_type, body, dict(route.headers))


def _not_found(path: str) -> Answer:
    return Answer(
        404, "text/plain; charset=utf-8", f"replay: nothing recorded for {path}\n".encode()
    )


class _Handler(BaseHTTPRequestHandler):
    replay: ReplayServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", errors="replace") if length else ""
        self._respond(with_body=True, method="POST", form=form)

    def _respond(self, *, with_body: bool, method: str = "GET", form: str = "") -> None:
        answer = self.replay.answer(self.path, method, form)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if not with_body:
            return
        if answer.stall:
            self.wfile.flush()
            time.sleep(answer.stall)
        if answer.cut is None:
            self.wfile.write(answer.body)
            return
        self.wfile.write(answer.body[: answer.cut])  # short of Content-Length: hang up
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("replay %s - %s", self.address_string(), format % args)
