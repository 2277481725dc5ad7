"""The European Parliament spiders. Documents: the RECORDED work RC-10-2025-0249 and WRITTEN
listings and adopted texts in its shape; press releases: two RECORDED release pages behind a
WRITTEN feed (tests/fixtures/europarl_documents/ and europarl_press/PROVENANCE.md)."""

from __future__ import annotations

import json
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import Response

from conftest import FIXTURES, fixture_response
from factories import crawl_twice, source_spider
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.sources.europarl import EuroparlDocumentsSpider

EuroparlPressSpider = source_spider("europarl_press")

TODAY = date(2026, 11, 23)
DOCS_BASE = "http://127.0.0.1:8000/europarl_documents"  # never contacted by parse tests
PRESS_BASE = "http://127.0.0.1:8000/europarl_press"
RC = "odp-api-v2_plenary-document_RC-10-2025-0249.json"  # RECORDED
PAGE = "https://www.europarl.europa.eu/doceo/document/{}_{}.html"
IPR_DISASTER = (
    "https://www.europarl.europa.eu/news/en/press-room/20241212IPR25960/"
    "ep-paves-way-for-the-use-of-eu-funds-to-finance-natural-disaster-recovery"
)
IPR_GEORGIA = (
    "https://www.europarl.europa.eu/news/en/press-room/20250204IPR26689/"
    "meps-georgia-s-self-proclaimed-authorities-have-no-legitimacy"
)
DETAIL_FILES = {
    "RC-10-2025-0249": RC,
    "TA-10-2025-0096": "adopted-text_written_TA-10-2025-0096.json",
    "TA-10-2026-0187": "adopted-text_written_TA-10-2026-0187.json",
}


def documents_spider(**kwargs) -> EuroparlDocumentsSpider:
    return EuroparlDocumentsSpider(base_url=DOCS_BASE, today=TODAY, **kwargs)


def listing(spider, collection: str, body: bytes | None = None) -> list:
    name = f"europarl_documents/{collection}_written_listing.json"
    response = fixture_response(name, spider.listing_url(collection, 1), body=body)
    return list(spider.parse_listing(response, collection=collection, page=1))


def work(identifier: str, body: bytes | None = None, spider=None) -> list[Document]:
    spider = spider or documents_spider()
    collection = "plenary-documents" if identifier.startswith("RC") else "adopted-texts"
    response = fixture_response(
        f"europarl_documents/{DETAIL_FILES[identifier]}",
        spider.detail_url(collection, identifier),
        body=body,
    )
    return follow_pdfs(list(spider.parse_work(response, row={"identifier": identifier})))


def follow_pdfs(outputs: list) -> list:
    """Answer the PDF requests of an adopted text from the fixtures, as the replay would."""
    routes = json.loads((FIXTURES / "europarl_documents/routes.json").read_text(encoding="utf-8"))[
        "routes"
    ]
    files = {r["path"]: r["file"] for r in routes if r["path"].endswith(".pdf")}
    done, pending = [], list(outputs)
    while pending:
        item = pending.pop(0)
        if isinstance(item, Document):
            done.append(item)
            continue
        path = urlsplit(item.url).path.removeprefix("/europarl_documents")
        body = (FIXTURES / "europarl_documents" / files[path]).read_bytes()
        pending.extend(
            item.callback(Response(url=item.url, body=body, request=item), **item.cb_kwargs)
        )
    return done


def press_spider(**kwargs) -> EuroparlPressSpider:
    return EuroparlPressSpider(base_url=PRESS_BASE, today=TODAY, **kwargs)


def press_documents() -> dict[str, Document]:
    spider = press_spider()
    (feed,) = spider.feed_urls()
    requests = list(
        spider.parse_feed(
            fixture_response("europarl_press/rss_written.xml", feed), feed=feed, page=1
        )
    )
    docs = {}
    for request in requests:
        ipr = "20241212IPR25960" if "25960" in request.url else "20250204IPR26689"
        response = fixture_response(
            f"europarl_press/press-room_release-page_{ipr}.html", request.url
        )
        for doc in request.callback(response, **request.cb_kwargs):
            docs[doc.url] = doc
    return docs


SPIDER = documents_spider()
ADOPTED_REQUESTS = listing(SPIDER, "adopted-texts")
(RC_DOC,) = work("RC-10-2025-0249")
(TA_DOC,) = work("TA-10-2026-0187")
PRESS = press_documents()


# -- documents: listing ----------------------------------------------------------------


def test_the_listing_asks_for_this_years_works_as_json_ld_by_offset():
    url = SPIDER.listing_url("adopted-texts", 2)
    assert urlsplit(url).path == "/europarl_documents/api/v2/adopted-texts"
    assert parse_qs(urlsplit(url).query) == {
        "year": ["2026"],
        "format": ["application/ld+json"],
        "offset": ["50"],
        "limit": ["50"],
    }


def test_each_listed_work_costs_one_detail_request():
    assert [urlsplit(r.url).path for r in ADOPTED_REQUESTS] == [
        "/europarl_documents/api/v2/adopted-texts/TA-10-2026-0187",
        "/europarl_documents/api/v2/adopted-texts/TA-10-2025-0096",
    ]


def test_a_stored_work_is_not_fetched_again(store):
    store.save_document(TA_DOC)
    spider = documents_spider(store=store)
    requests = listing(spider, "adopted-texts")
    assert [urlsplit(r.url).path.rsplit("/", 1)[-1] for r in requests] == ["TA-10-2025-0096"]
    assert spider.report.unchanged == 1


def test_a_listing_of_works_without_identifiers_is_a_changed_layout():
    body = json.dumps({"data": [{"id": "eli/dl/doc/X", "type": "Work"}]}).encode()
    with pytest.raises(LayoutChanged, match="works with an `identifier`"):
        listing(documents_spider(), "adopted-texts", body)


def test_html_where_json_ld_was_expected_is_a_changed_layout():
    with pytest.raises(LayoutChanged, match="HTML where JSON-LD was expected"):
        listing(documents_spider(), "adopted-texts", b"<html><body>Maintenance</body></html>")


def test_an_empty_year_is_no_news():
    spider = documents_spider()
    assert listing(spider, "adopted-texts", json.dumps({"data": []}).encode()) == []
    assert spider.report.failed == 0


def test_an_empty_listing_where_works_are_stored_is_a_changed_layout(store):
    store.save_document(TA_DOC)
    with pytest.raises(LayoutChanged):
        listing(documents_spider(store=store), "adopted-texts", json.dumps({"data": []}).encode())


def test_in_january_last_year_is_listed_too_and_an_empty_new_year_is_no_news(store):
    store.save_document(TA_DOC)
    spider = EuroparlDocumentsSpider(base_url=DOCS_BASE, today=date(2027, 1, 5), store=store)
    assert spider.years() == [2027, 2026]
    response = fixture_response(
        "europarl_documents/x.json",
        spider.listing_url("adopted-texts", 1, 2027),
        body=json.dumps({"data": []}).encode(),
    )
    assert list(spider.parse_listing(response, collection="adopted-texts", page=1)) == []
    assert documents_spider().years() == [2026]


# -- documents: fields of the recorded work --------------------------------------------


def test_the_recorded_joint_motion_is_stored_under_its_swedish_page():
    assert RC_DOC.url == PAGE.format("RC-10-2025-0249", "SV")
    assert RC_DOC.title == (
        "GEMENSAMT FÖRSLAG TILL RESOLUTION om återförandet av ukrainska barn som "
        "tvångsförflyttats och deporterats av Ryssland"
    )
    assert RC_DOC.doc_type == "motion"
    assert RC_DOC.identifier == "RC-10-2025-0249"
    assert RC_DOC.published == date(2025, 5, 7)
    assert RC_DOC.level == "eu" and RC_DOC.publisher == "European Parliament"


def test_the_summary_names_the_kind_and_the_procedure():
    assert RC_DOC.summary == (
        "Gemensamt resolutionsförslag · RC-10-2025-0249 · förfarande 2025-2691"
    )


def test_the_text_is_the_swedish_long_title():
    assert RC_DOC.text.startswith("GEMENSAMT FÖRSLAG TILL RESOLUTION - i enlighet med artiklarna")


def test_the_attachments_are_the_swedish_files_pdf_first():
    assert RC_DOC.attachments == [
        "https://data.europarl.europa.eu/distribution/reds_iPlRc/RC-10-2025-0249/"
        "RC-10-2025-0249_sv.pdf",
        "https://data.europarl.europa.eu/distribution/reds_iPlRc/RC-10-2025-0249/"
        "RC-10-2025-0249_sv.docx",
    ]


def test_an_adopted_text_is_a_decision():
    assert TA_DOC.doc_type == "decision"
    assert TA_DOC.published == date(2026, 11, 12)
    assert TA_DOC.title.startswith("Bostadskrisen i Europeiska unionen")
    assert "upprustning av utsatta bostadsområden" in TA_DOC.text


def test_the_swedish_pdf_of_an_adopted_text_is_read_into_the_text():
    assert "[Bilaga: TA-10-2026-0187_sv.pdf]" in TA_DOC.text
    words = " ".join(TA_DOC.text.split())  # the PDF's lines break where they break
    assert "hindrar arbetskraftens rörlighet och kompetensförsörjningen" in words


def test_a_motions_pdf_stays_a_link():
    assert "[Bilaga:" not in RC_DOC.text


def test_english_is_used_where_the_work_has_no_swedish_title():
    data = json.loads((FIXTURES / "europarl_documents" / RC).read_text(encoding="utf-8"))
    del data["data"][0]["title_dcterms"]["sv"]
    (doc,) = work("RC-10-2025-0249", json.dumps(data).encode())
    assert doc.url == PAGE.format("RC-10-2025-0249", "EN")
    assert doc.title.startswith("JOINT MOTION FOR A RESOLUTION on the return of Ukrainian")


def test_a_document_date_in_the_future_is_dropped_and_reported():
    data = json.loads((FIXTURES / "europarl_documents" / RC).read_text(encoding="utf-8"))
    data["data"][0]["document_date"] = "2052-05-07"
    spider = documents_spider()
    (doc,) = work("RC-10-2025-0249", json.dumps(data).encode(), spider)
    assert doc.published is None
    assert any("2052-05-07 is in the future" in e for e in spider.report.errors)


def test_a_truncated_work_is_a_failure_of_that_document_only():
    raw = (FIXTURES / "europarl_documents" / RC).read_bytes()
    spider = documents_spider()
    assert work("RC-10-2025-0249", raw[:5000], spider) == []
    assert spider.report.failed == 1
    assert "invalid JSON" in spider.report.errors[0]


# -- press releases --------------------------------------------------------------------


def test_each_feed_item_is_followed_to_its_release_page():
    assert set(PRESS) == {IPR_DISASTER, IPR_GEORGIA}


def test_the_release_page_gives_title_text_and_date():
    doc = PRESS[IPR_DISASTER]
    # the title the page declares (og:title, its site name cut off); the h1 reads
    # "Parliament paves way …"
    assert doc.title == "EP paves way for the use of EU funds to finance natural disaster recovery"
    assert doc.doc_type == "press_release"
    assert doc.published == date(2024, 12, 17)
    assert "natural disasters" in doc.text
    assert doc.summary.startswith("Two new EU laws will offer quick EU funding")


def test_the_pdf_version_is_an_attachment():
    assert (
        "https://www.europarl.europa.eu/pdfs/news/expert/2024/12/press_release/20241212IPR25960/"
        "20241212IPR25960_en.pdf" in PRESS[IPR_DISASTER].attachments
    )


def test_tracking_parameters_never_reach_the_stored_url():
    assert all("utm_" not in url for url in PRESS)


def test_stored_releases_are_not_fetched_again(store):
    for doc in PRESS.values():
        store.save_document(doc)
    spider = press_spider(store=store)
    (feed,) = spider.feed_urls()
    response = fixture_response("europarl_press/rss_written.xml", feed)
    assert list(spider.parse_feed(response, feed=feed, page=1)) == []
    assert spider.report.unchanged == 2


def test_an_empty_release_page_is_that_items_failure():
    spider = press_spider()
    (feed,) = spider.feed_urls()
    (request, _) = spider.parse_feed(
        fixture_response("europarl_press/rss_written.xml", feed), feed=feed, page=1
    )
    empty = fixture_response("europarl_press/empty.html", request.url, body=b"")
    assert list(request.callback(empty, **request.cb_kwargs)) == []
    assert spider.report.failed == 1 and "an empty page" in spider.report.errors[0]


# -- real crawls -----------------------------------------------------------------------


@pytest.mark.slow
def test_europarl_documents_crawl_and_recrawl(tmp_path):
    first, n_first, second, n_second, docs = crawl_twice("europarl_documents", tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    assert n_first == 2 + 3 + 2  # two listings, one request per work, two adopted-text PDFs
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 3, 2)
    assert docs[PAGE.format("TA-10-2026-0187", "SV")].language == "sv"


@pytest.mark.slow
def test_europarl_press_crawl_and_recrawl(tmp_path):
    first, n_first, second, n_second, docs = crawl_twice("europarl_press", tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 2, 0)
    assert n_first == 1 + 2
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 2, 1)
    assert docs[IPR_GEORGIA].language == "en"
