"""The Commission's press corner and Have your say spiders on WRITTEN fixtures (no response
of either API was recorded; tests/fixtures/ec_presscorner/ and have_your_say/PROVENANCE.md say
which real structure each follows), parsed once at module level; real crawls at the end."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import FIXTURES, fixture_response
from factories import crawl_twice
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.sources.ec import EcPresscornerSpider, HaveYourSaySpider

TODAY = date(2026, 11, 23)
PC_BASE = "http://127.0.0.1:8000/ec_presscorner"  # never contacted by the parse tests
HYS_BASE = "http://127.0.0.1:8000/have_your_say"
PC_FEED = "ec_presscorner/rss_written_p1.xml"  # WRITTEN (see PROVENANCE.md)
HYS_LISTING = "have_your_say/searchinitiatives_written_p0.json"  # WRITTEN
DETAIL = "https://ec.europa.eu/commission/presscorner/detail/en/{}"
HYS = "https://ec.europa.eu/info/law/better-regulation/have-your-say/initiatives/{}"


def presscorner(**kwargs) -> EcPresscornerSpider:
    return EcPresscornerSpider(base_url=PC_BASE, today=TODAY, **kwargs)


def have_your_say(**kwargs) -> HaveYourSaySpider:
    return HaveYourSaySpider(base_url=HYS_BASE, today=TODAY, **kwargs)


def feed_output(spider: EcPresscornerSpider, body: bytes | None = None) -> list:
    url = spider.feed_urls()[0]
    return list(spider.parse_feed(fixture_response(PC_FEED, url, body=body), feed=url, page=1))


def hys_documents(listing: str = HYS_LISTING) -> dict[str, Document]:
    """Listing → detail requests → documents, each detail from its written fixture."""
    spider = have_your_say()
    requests = list(spider.parse_api(fixture_response(listing, spider.api_url(1)), page=1))
    docs = {}
    for request in requests:
        ident = request.url.rsplit("/", 1)[-1]
        response = fixture_response(
            f"have_your_say/groupinitiatives_written_{ident}.json", request.url
        )
        for doc in request.callback(response, **request.cb_kwargs):
            docs[doc.url] = doc
    return docs


PC_SPIDER = presscorner()
PC_OUTPUT = feed_output(PC_SPIDER)
PC_DOCS = {d.url: d for d in PC_OUTPUT if isinstance(d, Document)}
HYS_DOCS = hys_documents()


# -- press corner ----------------------------------------------------------------------


def test_the_feed_url_is_the_press_corner_rss_api_with_its_odd_query():
    (url,) = PC_SPIDER.feed_urls()
    assert url.startswith(f"{PC_BASE}/commission/presscorner/api/rss?search?language=en&")
    assert "documenttype=1" in url and "pagesize=50" in url and url.endswith("&page=1")
    assert PC_SPIDER.page_url(url, 2).endswith("&pagesize=50&page=2")  # pagesize kept


def test_each_item_is_a_press_release_named_by_its_guid():
    assert set(PC_DOCS) == {DETAIL.format(i) for i in ("ip_26_2514", "ip_26_2488", "ip_26_2430")}
    doc = PC_DOCS[DETAIL.format("ip_26_2514")]
    assert doc.doc_type == "press_release"
    assert doc.identifier == "IP_26_2514"
    assert doc.title.startswith("Commission proposes a European Climate Adaptation Plan")
    assert doc.published == date(2026, 11, 19)
    assert doc.level == "eu" and doc.publisher == "European Commission"


def test_the_description_is_summary_and_text_without_markup():
    doc = PC_DOCS[DETAIL.format("ip_26_2488")]
    assert doc.summary.startswith("The Commission welcomes the provisional agreement")
    assert "<p>" not in doc.summary
    assert "Public employment services will validate vacancies" in doc.text


def test_the_printable_pdf_is_the_attachment():
    assert PC_DOCS[DETAIL.format("ip_26_2430")].attachments == [
        "https://ec.europa.eu/commission/presscorner/api/files/document/print/en/"
        "ip_26_2430/IP_26_2430.pdf"
    ]


def test_a_page_of_new_items_asks_for_the_next_page():
    (next_page,) = [r for r in PC_OUTPUT if not isinstance(r, Document)]
    assert next_page.url.endswith("&page=2") and next_page.cb_kwargs["page"] == 2


def test_stored_releases_are_not_produced_again_and_end_the_paging(store):
    for doc in PC_DOCS.values():
        store.save_document(doc)
    spider = presscorner(store=store)
    assert feed_output(spider) == []
    assert spider.report.unchanged == 3


def test_an_item_without_a_document_id_is_skipped():
    body = (
        (FIXTURES / PC_FEED)
        .read_text(encoding="utf-8")
        .replace("detail/en/ip_26_2488</guid>", "detail/en/</guid>")
        .replace("detail/en/ip_26_2488</link>", "detail/en/</link>")
    )
    docs = [d for d in feed_output(presscorner(), body.encode()) if isinstance(d, Document)]
    assert len(docs) == 2


def test_html_instead_of_the_feed_is_a_changed_layout():
    body = b"<!DOCTYPE html><html><head><title>Press corner</title></head><body><div id=app>"
    with pytest.raises(LayoutChanged, match="not an RSS/Atom feed"):
        feed_output(presscorner(), body)


def test_an_empty_feed_where_releases_were_stored_is_a_changed_layout(store):
    store.save_document(next(iter(PC_DOCS.values())))
    empty = (FIXTURES / "ec_presscorner/rss_written_empty.xml").read_bytes()
    with pytest.raises(LayoutChanged):
        feed_output(presscorner(store=store), empty)


def test_a_future_pubdate_is_dropped_and_reported():
    body = (
        (FIXTURES / PC_FEED)
        .read_text(encoding="utf-8")
        .replace("Thu, 19 Nov 2026", "Fri, 19 Nov 2066")
    )
    spider = presscorner()
    docs = {d.url: d for d in feed_output(spider, body.encode()) if isinstance(d, Document)}
    assert docs[DETAIL.format("ip_26_2514")].published is None
    assert any("2066-11-19 is in the future" in e for e in spider.report.errors)


def test_an_unparseable_pubdate_leaves_the_release_without_a_date():
    body = (
        (FIXTURES / PC_FEED)
        .read_text(encoding="utf-8")
        .replace("Tue, 17 Nov 2026 15:30:00 GMT", "sometime next week")
    )
    docs = {d.url: d for d in feed_output(presscorner(), body.encode()) if isinstance(d, Document)}
    assert docs[DETAIL.format("ip_26_2488")].published is None


def test_a_latin1_feed_that_says_so_is_read_correctly():
    body = (
        (FIXTURES / PC_FEED)
        .read_text(encoding="utf-8")
        .replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
        .replace("€2.1", "EUR 2.1")
        .encode("latin-1", errors="replace")  # the en dash of Copenhagen–Malmö becomes "?"
    )
    docs = {d.url: d for d in feed_output(presscorner(), body) if isinstance(d, Document)}
    assert "Øresund" in docs[DETAIL.format("ip_26_2430")].title


# -- Have your say ---------------------------------------------------------------------


def test_the_listing_asks_for_open_initiatives_page_0():
    query = parse_qs(urlsplit(have_your_say().api_url(1)).query)
    assert urlsplit(have_your_say().api_url(1)).path.endswith("/brpapi/searchInitiatives")
    assert query == {
        "language": ["EN"],
        "feedbackStatus": ["OPEN"],
        "size": ["50"],
        "page": ["0"],
    }


def test_each_open_initiative_is_a_consultation_with_its_feedback_deadline():
    assert set(HYS_DOCS) == {HYS.format(i) for i in (20114, 20187, 20203)}
    doc = HYS_DOCS[HYS.format(20187)]
    assert doc.doc_type == "consultation"
    assert doc.deadline == date(2026, 12, 15)
    assert doc.published == date(2026, 11, 17)
    assert doc.identifier == "Ares(2026)7984410"
    assert doc.title == (
        "Skills portability – faster recognition of qualifications of third-country nationals"
    )


def test_the_summary_says_what_kind_of_consultation_on_what_until_when():
    assert HYS_DOCS[HYS.format(20114)].summary == (
        "Public consultation on a regulation. Topics: Competition, Regional policy. "
        "Feedback from 2026-11-03 to 2027-01-26."
    )


def test_the_dossier_summary_is_the_text():
    text = HYS_DOCS[HYS.format(20114)].text
    assert text.startswith("The Commission consults on a revision of the Decision on services")


def test_the_newer_listing_shape_gives_the_same_documents():
    newer = hys_documents("have_your_say/searchinitiatives_written_newer-shape.json")
    assert {u: (d.title, d.deadline) for u, d in newer.items()} == {
        u: (d.title, d.deadline) for u, d in HYS_DOCS.items()
    }


def test_an_initiative_with_a_moved_deadline_is_fetched_again(store):
    for doc in HYS_DOCS.values():
        store.save_document(doc)
    data = json.loads((FIXTURES / HYS_LISTING).read_text(encoding="utf-8"))
    data["_embedded"]["initiativeResultDtoes"][0]["currentStatuses"][0]["feedbackEndDate"] = (
        "2027/01/08 23:59:59"
    )
    spider = have_your_say(store=store)
    response = fixture_response(HYS_LISTING, spider.api_url(1), body=json.dumps(data).encode())
    requests = list(spider.parse_api(response, page=1))
    assert [r.url.rsplit("/", 1)[-1] for r in requests] == ["20203"]
    assert spider.report.unchanged == 2


def test_html_where_the_listing_json_was_expected_is_a_changed_layout():
    spider = have_your_say()
    body = b"<html><body>Please enable JavaScript</body></html>"
    with pytest.raises(LayoutChanged, match="answered HTML where JSON was expected"):
        list(spider.parse_api(fixture_response(HYS_LISTING, spider.api_url(1), body=body), page=1))


def test_a_listing_without_either_known_shape_is_a_changed_layout():
    spider = have_your_say()
    body = json.dumps({"results": []}).encode()
    wanted = r"no `initiativeResultDtoPage\.content` or `_embedded\.initiativeResultDtoes` list"
    with pytest.raises(LayoutChanged, match=wanted):
        list(spider.parse_api(fixture_response(HYS_LISTING, spider.api_url(1), body=body), page=1))


def hys_listing_requests(data: dict) -> list:
    spider = have_your_say()
    response = fixture_response(HYS_LISTING, spider.api_url(1), body=json.dumps(data).encode())
    return list(spider.parse_api(response, page=1))


def test_both_listing_shapes_give_their_totals_for_paging():
    old = json.loads((FIXTURES / HYS_LISTING).read_text(encoding="utf-8"))
    old["page"]["totalElements"] = 60  # more than the page of 50: a next page is asked for
    assert hys_listing_requests(old)[-1].url.endswith("page=1")
    newer = {"initiativeResultDtoPage": {"content": [], "totalElements": 0}}
    assert hys_listing_requests(newer) == []  # nothing open: no rows due, none asked


def test_an_empty_hal_listing_without_embedded_is_no_news():
    assert hys_listing_requests({"page": {"size": 50, "totalElements": 0}}) == []


# -- real crawls -----------------------------------------------------------------------


@pytest.mark.slow
def test_presscorner_crawl_and_recrawl(tmp_path):
    first, n_first, second, n_second, docs = crawl_twice("ec_presscorner", tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    assert n_first == 2  # feed page 1 (three new releases) and the empty page 2
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 3, 1)
    assert docs[DETAIL.format("ip_26_2514")].language == "en"


@pytest.mark.slow
def test_have_your_say_crawl_and_recrawl(tmp_path):
    first, n_first, second, n_second, docs = crawl_twice("have_your_say", tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    assert n_first == 1 + 3
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 3, 1)
    assert docs[HYS.format(20203)].deadline == date(2026, 12, 18)
