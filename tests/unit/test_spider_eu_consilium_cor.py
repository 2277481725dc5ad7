"""The Council (consilium) and Committee of the Regions (cor) on CONSTRUCTED fixtures that
follow what public code shows of the real sites (shared/SOURCES-EVIDENCE.md; the release
texts and one CoR text are excerpts of real ones — tests/fixtures/consilium/ and
cor/PROVENANCE.md). Both are declared in config/sources.yaml; neither has a class.

The defects the evidence showed, each with its test: the Council's rows carry their link on
the wrapping `a.gsc-excerpt-item__link` (the old `h3 … a::attr(href)` dropped every row);
its dates are month-first (`4/10/2025 1:10:00 PM` is 10 April); its RSS has `a10:updated`
and no `pubDate`; the CoR moved from SharePoint to Drupal cards at /en/news."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import urlsplit

import pytest
from scrapy.http import HtmlResponse

from conftest import FIXTURES, fixture_response
from factories import crawl_twice, source_spider
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.dates import parse_date

ConsiliumSpider = source_spider("consilium")
CorSpider = source_spider("cor")

TODAY = date(2026, 11, 23)
COUNCIL = "https://www.consilium.europa.eu/en/press/press-releases/"
SAFE_THIRD = (
    COUNCIL + "2025/12/18/safe-third-country-council-and-european-parliament-agree-on-new-eu-"
    "law-restricting-admissibility-of-asylum-claims/"
)
ENTRY_EXIT = (
    COUNCIL + "2025/05/19/border-management-council-and-european-parliament-strike-agreement-"
    "about-progressive-launch-of-entry-exit-system/"
)
SOIL = COUNCIL + "2025/04/10/soil-monitoring-law-council-reaches-deal-with-parliament/"
COR = "https://cor.europa.eu/en/news/{}"
HOUSING = COR.format("regions-call-for-an-eu-housing-strategy-that-reaches-deprived-neighbourhoods")
HIGHLIGHTS = COR.format("highlights-of-the-february-plenary-session")

# The Council's listing, declared as the comment in sources.yaml describes it (the fallback
# to its RSS), and as it was declared before the evidence (the link on an inner h3 > a).
COUNCIL_LISTING = """
- id: consilium_listing
  name: Council of the EU – press releases (listing)
  publisher: Council of the European Union
  level: eu
  kind: html_listing
  base_url: https://www.consilium.europa.eu
  language: en
  listings: [/en/press/press-releases/]
  row: li.gsc-excerpt-item
  link: a.gsc-excerpt-item__link::attr(href)
  title: span.gsc-excerpt-item__title ::text
  date: time::attr(datetime)
  summary: "#excerpt-text p ::text"
  doc_type: press_release
  date_languages: [en]
  date_order: MDY
- id: consilium_listing_before
  name: Council of the EU – press releases (the selectors before the evidence)
  publisher: Council of the European Union
  level: eu
  kind: html_listing
  base_url: https://www.consilium.europa.eu
  language: en
  listings: [/en/press/press-releases/]
  row: li.gsc-excerpt-item
  link: h3.gsc-excerpt-item__title a::attr(href)
  title: h3.gsc-excerpt-item__title a ::text
  date: time::attr(datetime)
"""


def spider(cls, source: str, **kwargs):
    return cls(base_url=f"http://127.0.0.1:8000/{source}", today=TODAY, **kwargs)


def page_file(source: str, url: str) -> str:
    """The fixture serving a public page URL, from the folder's routes.json."""
    routes = json.loads((FIXTURES / source / "routes.json").read_text(encoding="utf-8"))
    path = urlsplit(url).path
    return next(f"{source}/{r['file']}" for r in routes["routes"] if r["path"] == path)


def read_feed(body: bytes | None = None, **kwargs) -> tuple:
    s = spider(ConsiliumSpider, "consilium", **kwargs)
    (url,) = s.feed_urls()
    response = fixture_response("consilium/rss_written.xml", url, body=body)
    return s, list(s.parse_feed(response, feed=url, page=1))


def crawl_listing(cls, source: str, body: bytes | None = None, **kwargs) -> tuple:
    s = spider(cls, source, **kwargs)
    (url,) = s.listing_urls()
    response = fixture_response(f"{source}/listing_written.html", url, body=body)
    return s, list(s.parse_listing(response, page=1))


def documents(s, requests, folder: str) -> dict[str, Document]:
    docs = {}
    for request in requests:
        public = s.to_public(request.url)
        response = fixture_response(page_file(folder, public), request.url)
        for doc in request.callback(response, **request.cb_kwargs):
            docs[doc.url] = doc
    return docs


COUNCIL_DOCS = documents(*read_feed(), "consilium")
COR_DOCS = documents(*crawl_listing(CorSpider, "cor"), "cor")


# -- Council: the feed -----------------------------------------------------------------


def test_the_council_is_read_from_its_rss():
    source = ConsiliumSpider(base_url="http://127.0.0.1:9").source
    assert (source.kind, source.feeds) == ("feed", ["/en/rss/pressreleases.ashx"])
    assert set(COUNCIL_DOCS) == {SAFE_THIRD, ENTRY_EXIT, SOIL}


def test_a_feed_item_without_pubdate_is_dated_by_its_a10_updated():
    _, requests = read_feed()
    rows = {r.cb_kwargs["row"].url: r.cb_kwargs["row"] for r in requests}
    assert b"<pubDate>" not in (FIXTURES / "consilium/rss_written.xml").read_bytes()
    assert rows[SOIL].published == date(2025, 4, 10)
    assert rows[ENTRY_EXIT].published == date(2025, 5, 19)


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
    s, output = read_feed(store=store)
    assert output == []
    assert s.report.unchanged == 3


def test_a_challenge_page_where_the_feed_was_is_a_changed_layout():
    body = b"<html><body><h1>Just a moment...</h1><p>Checking your browser</p></body></html>"
    with pytest.raises(LayoutChanged, match="not an RSS/Atom feed"):
        read_feed(body)


def test_a_release_page_in_a_wrong_encoding_is_still_read():
    _, requests = read_feed()
    request = next(r for r in requests if "safe-third" in r.url)
    raw = (FIXTURES / page_file("consilium", SAFE_THIRD)).read_text(encoding="utf-8")
    response = HtmlResponse(
        url=request.url, body=raw.encode("cp1252", errors="replace"), encoding="cp1252"
    )
    (doc,) = request.callback(response, **request.cb_kwargs)
    assert doc.title.startswith("Safe third country")
    assert "asylum system more efficient and robust" in doc.text


# -- Council: the listing (the defect the evidence showed) ------------------------------


def test_the_old_listing_selectors_drop_every_row(sources_config):
    """The link is on the wrapping `a`, not on an inner `h3 a`: no row has a link, which
    is a changed layout (not "no news")."""
    sources_config(COUNCIL_LISTING)
    before = source_spider("consilium_listing_before")
    with pytest.raises(LayoutChanged, match=r"no `li\.gsc-excerpt-item` rows"):
        crawl_listing(before, "consilium")


def test_the_corrected_listing_reads_every_row_with_month_first_dates(sources_config):
    sources_config(COUNCIL_LISTING)
    _, requests = crawl_listing(source_spider("consilium_listing"), "consilium")
    rows = {r.cb_kwargs["row"].url: r.cb_kwargs["row"] for r in requests}
    assert set(rows) == {SAFE_THIRD, ENTRY_EXIT, SOIL}
    # "4/10/2025 1:10:00 PM" is 10 April (month first), not 4 October
    assert rows[SOIL].published == date(2025, 4, 10)
    assert rows[SAFE_THIRD].published == date(2025, 12, 18)
    assert rows[SOIL].title == "Soil monitoring law: Council reaches deal with Parliament"
    assert rows[ENTRY_EXIT].summary.startswith("A provisional deal agreed today")


@pytest.mark.parametrize(
    ("value", "order", "expected"),
    [
        ("9/25/2026 1:10:00 PM", "MDY", date(2026, 9, 25)),
        ("4/10/2025 1:10:00 PM", "MDY", date(2025, 4, 10)),
        ("4/10/2025", "DMY", date(2025, 10, 4)),
        ("18-11-2026", "DMY", date(2026, 11, 18)),
    ],
)
def test_numeric_dates_follow_the_sources_order(value, order, expected):
    assert parse_date(value, ("en",), order) == expected


# -- Committee of the Regions ----------------------------------------------------------


def test_the_cor_is_read_from_its_drupal_cards_at_en_news():
    source = CorSpider(base_url="http://127.0.0.1:9").source
    assert (source.kind, source.listings, source.row) == ("html_listing", ["/en/news"],
                                                          "article.c-card")
    assert len(COR_DOCS) == 3 and HOUSING in COR_DOCS and HIGHLIGHTS in COR_DOCS


def test_the_old_sharepoint_listing_is_gone_from_the_fixtures():
    routes = json.loads((FIXTURES / "cor/routes.json").read_text(encoding="utf-8"))["routes"]
    assert not any("/Pages/" in r["path"] for r in routes)


def test_an_adopted_opinion_is_a_report_and_news_is_news():
    assert COR_DOCS[HOUSING].doc_type == "report"
    assert COR_DOCS[HIGHLIGHTS].doc_type == "news"


def test_cor_dates_are_read_from_the_cards_iso_datetime():
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


@pytest.mark.slow
@pytest.mark.parametrize("source", ["consilium", "cor"])
def test_crawl_and_recrawl(source, tmp_path):
    first, n_first, second, n_second, docs = crawl_twice(source, tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    assert n_first == 1 + 3
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 3, 1)
    assert all(d.language == "en" for d in docs.values())
