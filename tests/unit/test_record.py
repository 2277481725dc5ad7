"""Recording answers as fixtures (`omvarld.crawl.record`): file names, routes (redirects
included), provenance, and the recording served back by the replay server. The whole
command against the replay server is tests/integration/test_sources_record.py."""

from __future__ import annotations

import hashlib
import json

from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from conftest import FIXTURES
from omvarld.crawl.record import RecordMiddleware, file_name, relative_path
from omvarld.crawl.replay import ReplayServer, load_routes
from omvarld.crawl.sources.regeringen import RegeringenSpider

BASE = "http://127.0.0.1:8000/regeringen"


def test_file_names_are_readable_and_unique():
    assert file_name("/dokumentlista/", {"doktyp": "bet", "p": "1"}, "application/json") == (
        "dokumentlista_doktyp-bet_p-1.json")
    assert file_name("/dokumentstatus/H2021148.json", {}, "application/json; charset=utf-8") == (
        "dokumentstatus_H2021148.json")
    assert file_name("/", {}, "text/html") == "index.html"
    long = file_name("/" + "a" * 300, {}, "text/html")
    assert len(long) < 130 and long != file_name("/" + "a" * 301, {}, "text/html")


def test_paths_are_relative_to_the_crawl_base():
    assert relative_path(f"{BASE}/remisser/x/?a=1", BASE) == "/remisser/x/"
    assert relative_path("https://other.example/files/y.pdf", BASE) == "/files/y.pdf"


def test_answers_are_written_with_routes_and_provenance_and_replay(tmp_path):
    folder = tmp_path / "regeringen"
    middleware = RecordMiddleware(folder)
    spider = RegeringenSpider(base_url=BASE)
    page = (FIXTURES / "regeringen/prop-2017-18-86_document-page.html").read_bytes()
    url = f"{BASE}/rattsdokument/proposition/2018/01/prop.-20171886/"
    request = Request(url, meta={"redirect_urls": [f"{BASE}/old/prop-86/?v=2"]})
    middleware.process_response(request, HtmlResponse(
        url=url, body=page, headers={"Content-Type": "text/html; charset=utf-8"},
        request=request), spider)
    listing_url = f"{BASE}/Filter/GetFilteredItems?preFilteredCategories=1329&page=1"
    listing = TextResponse(url=listing_url, body=b'{"TotalCount": 0, "Message": ""}',
                           status=503, headers={"Content-Type": "application/json"})
    middleware.process_response(Request(listing_url), listing, spider)
    robots = TextResponse(url=f"{BASE}/robots.txt", body=b"User-agent: *")
    middleware.process_response(Request(robots.url), robots, spider)
    middleware.spider_closed(spider)

    entries = {e["file"]: e for e in json.loads((folder / "recorded.json").read_text())}
    assert set(entries) == {"rattsdokument_proposition_2018_01_prop.-20171886.html",
                            "Filter_GetFilteredItems_preFilteredCategories-1329_page-1.json"}
    prop = entries["rattsdokument_proposition_2018_01_prop.-20171886.html"]
    assert (prop["status"], prop["sha256"]) == (200, hashlib.sha256(page).hexdigest())
    assert prop["headers"]["Content-Type"] == "text/html; charset=utf-8"
    routes = load_routes(folder)
    assert {(r.path, tuple(sorted(r.query.items())), r.status) for r in routes} == {
        ("/rattsdokument/proposition/2018/01/prop.-20171886/", (), 200),
        ("/old/prop-86/", (("v", "2"),), 200),  # the redirect's first URL: the same answer
        ("/Filter/GetFilteredItems", (("page", "1"), ("preFilteredCategories", "1329")), 503),
    }
    with ReplayServer(tmp_path) as server:
        again = server.answer("/regeringen/rattsdokument/proposition/2018/01/prop.-20171886/")
        moved = server.answer("/regeringen/old/prop-86/?v=2")
        failed = server.answer("/regeringen/Filter/GetFilteredItems?preFilteredCategories=1329")
    assert again.body == moved.body == page and again.content_type.startswith("text/html")
    assert failed.status == 503
    assert "robots" not in " ".join(p.name for p in folder.iterdir())
