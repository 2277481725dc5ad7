"""Hostile answers to the EU and Folketinget spiders in real crawls (subprocess, local HTTP):
a redirect loop, a 20 MB listing, an empty body. Each must end as a failed source with a
reason a person understands — never a hang, a crash or a stored half-document."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import FIXTURES
from omvarld.crawl.replay import ReplayServer, Route
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store


class _RedirectLoop(BaseHTTPRequestHandler):
    """Every path answers 302 to itself with one more `hop` (robots.txt: 404)."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(302)
        self.send_header("Location", self.path + ("&" if "?" in self.path else "?") + "hop=1")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass


@pytest.fixture
def redirect_loop() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RedirectLoop)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder}/t.sqlite"


def stored_count(folder: Path) -> int:
    store = Store.open(db_url(folder))
    try:
        return len(store.documents())
    finally:
        store.close()


@pytest.mark.slow
def test_a_redirect_loop_fails_the_source_with_the_reason(redirect_loop, tmp_path):
    report = run_crawl_in_subprocess(
        "have_your_say",
        base_url=f"{redirect_loop}/have_your_say",
        database_url=db_url(tmp_path),
        timeout=120,
    )
    assert report.status == "failed"
    assert "have_your_say: source unreachable" in report.errors[0]
    assert any("redirect" in e.lower() for e in report.errors)
    assert stored_count(tmp_path) == 0


@pytest.mark.slow
def test_a_20_mb_listing_is_refused_and_the_source_fails(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "folketinget",
            Route(
                path="/api/Sag",
                content_type="application/json",
                body=b'{"value": [' + b" " * (20 * 1024 * 1024) + b"]}",
            ),
        )
        report = run_crawl_in_subprocess(
            "folketinget",
            base_url=server.base_url("folketinget"),
            database_url=db_url(tmp_path),
            timeout=120,
        )
    assert report.status == "failed"
    assert "folketinget: source unreachable" in report.errors[0]
    assert stored_count(tmp_path) == 0


@pytest.mark.slow
def test_an_empty_feed_body_where_releases_were_listed_is_a_changed_layout(tmp_path):
    with ReplayServer(FIXTURES) as server:
        first = run_crawl_in_subprocess(
            "europarl_press",
            base_url=server.base_url("europarl_press"),
            database_url=db_url(tmp_path),
        )
        server.add_route(
            "europarl_press",
            Route(
                path="/rss/doc/press-releases-plenary/en.xml",
                content_type="text/html; charset=utf-8",
                body=b"<!DOCTYPE html><html><body><div id='app'></div></body></html>",
            ),
        )
        second = run_crawl_in_subprocess(
            "europarl_press",
            base_url=server.base_url("europarl_press"),
            database_url=db_url(tmp_path),
        )
    assert (first.status, first.new) == ("ok", 2)
    assert second.status == "failed"
    assert any("page layout changed" in e for e in second.errors)
    assert stored_count(tmp_path) == 2  # what was stored stays as it was
