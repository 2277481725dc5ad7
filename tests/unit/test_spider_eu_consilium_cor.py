"""The Council (consilium) and Committee of the Regions (cor) spiders on WRITTEN fixtures:
the markup is written (no page of either site was recorded), the Council's release texts and
one CoR text are excerpts of real ones (tests/fixtures/consilium/ and cor/PROVENANCE.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse

from conftest import FIXTURES, fixture_response
from factories import source_spider
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

ConsiliumSpider = source_spider("consilium")
CorSpider = source_spider("cor")

TODAY = date(2026, 11, 23)
COUNCIL = "https://www.consilium.europa.eu/en/press/press-releases/"
SAFE_THIRD = (
    COUNCIL + "2025/12/18/safe-third-country-council-and-european-parliament-agree-on-new-eu-"
    "law-restricting-admissibility-of-asylum-claims/"
)
SOIL = COUNCIL + "2025/04/10/soil-monitoring-law-council-reaches-deal-with-parliament/"
COR = "https://cor.europa.eu/en/news/Pages/{}.aspx"
HOUSING = COR.format("regions-call-for-an-eu-housing-strategy-that-reaches-deprived-neighbourhoods")
HIGHLIGHTS = COR.format("highlights-of-the-february-plenary-session")


def spider(cls, source: str, **kwargs):
    return cls(base_url=f"http://127.0.0.1:8000/{source}", today=TODAY, **kwargs)


def page_file(source: str, url: str) -> str:
    """The fixture serving a public page URL, from the folder's routes.json."""
    routes = json.loads((FIXTURES / source / "routes.json").read_text(encoding="utf-8"))
    path = urlsplit(url).path
    return next(f"{source}/{r['file']}" for r in routes["routes"] if r["path"] == path)


def crawl_listing(cls, source: str, body: bytes | None = None, **kwargs) -> tuple:
    s = spider(cls, source, **kwargs)
    (url,) = s.listing_urls()
    response = fixture_response(f"{source}/listing_written.html", url, body=body)
    return s, list(s.parse_listing(response, page=1))


def documents(cls, source: str) -> dict[str, Document]:
    s, requests = crawl_listing(cls, source)
    docs = {}
    for request in requests:
        public = s.to_public(request.url)
        response = fixture_response(page_file(source, public), request.url)
        for doc in request.callback(response, **request.cb_kwargs):
            docs[doc.url] = doc
    return docs


COUNCIL_DOCS = documents(ConsiliumSpider, "consilium")
COR_DOCS = documents(CorSpider, "cor")


# -- Council ---------------------------------------------------------------------------


def test_every_listed_release_is_read_from_its_page():
    assert len(COUNCIL_DOCS) == 3
    assert SAFE_THIRD in COUNCIL_DOCS and SOIL in COUNCIL_DOCS


def test_a_council_release_has_title_date_summary_and_main_text():
    doc = COUNCIL_DOCS[SAFE_THIRD]
    assert doc.title.startswith("Safe third country: Council and European Parliament agree")
    assert doc.doc_type == "press_release"
    assert doc.published == date(2025, 12, 18)
    assert doc.summary.startswith("Today, the Danish presidency of the Council of the EU")
    assert "reject an asylum application as inadmissible" in doc.text
    assert doc.level == "eu" and doc.publisher == "Council of the European Union"


def test_navigation_and_footer_stay_out_of_the_text():
    text = COUNCIL_DOCS[SOIL].text
    assert "over 60% of soils in the EU are not in a good condition" in text
    assert "General Secretariat" not in text and "Cookies" not in text


def test_stored_releases_are_not_fetched_again(store):
    for doc in COUNCIL_DOCS.values():
        store.save_document(doc)
    s, output = crawl_listing(ConsiliumSpider, "consilium", store=store)
    assert output == []
    assert s.report.unchanged == 3


def test_a_council_listing_without_rows_is_a_changed_layout():
    body = b"<html><body><h1>Just a moment...</h1><p>Checking your browser</p></body></html>"
    with pytest.raises(LayoutChanged, match="gsc-excerpt-item"):
        crawl_listing(ConsiliumSpider, "consilium", body)


def test_a_release_page_in_a_wrong_encoding_is_still_read():
    _, requests = crawl_listing(ConsiliumSpider, "consilium")
    request = next(r for r in requests if "safe-third" in r.url)
    raw = (FIXTURES / page_file("consilium", SAFE_THIRD)).read_text(encoding="utf-8")
    response = HtmlResponse(
        url=request.url, body=raw.encode("cp1252", errors="replace"), encoding="cp1252"
    )
    (doc,) = request.callback(response, **request.cb_kwargs)
    assert doc.title.startswith("Safe third country")
    assert "asylum system more efficient and robust" in doc.text


# -- Committee of the Regions ----------------------------------------------------------


def test_every_listed_cor_item_is_read_from_its_page():
    assert len(COR_DOCS) == 3 and HOUSING in COR_DOCS and HIGHLIGHTS in COR_DOCS


def test_an_adopted_opinion_is_a_report_and_news_is_news():
    assert COR_DOCS[HOUSING].doc_type == "report"
    assert COR_DOCS[HIGHLIGHTS].doc_type == "news"


def test_cor_dates_written_day_first_are_read_day_first():
    assert COR_DOCS[HOUSING].published == date(2026, 11, 20)
    assert COR_DOCS[HIGHLIGHTS].published == date(2017, 2, 10)


def test_a_cor_item_has_its_summary_and_text():
    doc = COR_DOCS[HOUSING]
    assert doc.summary.startswith("The European Committee of the Regions adopted its opinion")
    assert "renovation of deprived neighbourhoods" in doc.summary
    assert "nurses, teachers and bus drivers" in doc.text
    assert doc.publisher == "European Committee of the Regions"


def test_an_empty_cor_listing_is_a_changed_layout():
    with pytest.raises(LayoutChanged):
        crawl_listing(CorSpider, "cor", b"")


# -- real crawls -----------------------------------------------------------------------


def crawl_twice(source: str, folder: Path) -> tuple:
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


@pytest.mark.slow
@pytest.mark.parametrize("source", ["consilium", "cor"])
def test_crawl_and_recrawl(source, tmp_path):
    first, n_first, second, n_second, docs = crawl_twice(source, tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    assert n_first == 1 + 3
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 3, 1)
    assert all(d.language == "en" for d in docs.values())
