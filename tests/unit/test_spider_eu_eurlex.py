"""The EUR-Lex (CELLAR) spider: RECORDED notices (a 985 KB branch notice of COM(2018) 340 and
an object notice of Regulation 2018/196) behind a WRITTEN SPARQL JSON listing
(tests/fixtures/eurlex/PROVENANCE.md), parsed once at module level; real crawls at the end."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import FIXTURES, fixture_response
from factories import crawl_twice
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.replay import ReplayServer, Route
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.crawl.sources.eurlex import EurlexSpider, sparql_rows

TODAY = date(2026, 11, 23)
BASE = "http://127.0.0.1:8000/eurlex"  # never contacted by the parse tests
LISTING = "eurlex/sparql_written_p1.json"  # WRITTEN
NOTICES = {
    "52018PC0340": "eurlex/cellar_branch-notice_52018PC0340.xml",  # RECORDED
    "32018R0196": "eurlex/cellar_object-notice_work_32018R0196.xml",  # RECORDED
}
PLASTICS = "https://eur-lex.europa.eu/legal-content/SV/TXT/?uri=CELEX%3A52018PC0340"
TARIFFS = "https://eur-lex.europa.eu/legal-content/SV/TXT/?uri=CELEX%3A32018R0196"


def make_spider(**kwargs) -> EurlexSpider:
    return EurlexSpider(base_url=BASE, today=TODAY, **kwargs)


def listing(spider: EurlexSpider, body: bytes | None = None) -> list:
    request = spider.listing_request(spider.from_date(), 1)
    response = fixture_response(LISTING, request.url, body=body)
    return list(spider.parse_listing(response, **request.cb_kwargs))


def notice_documents(spider: EurlexSpider, requests: list, bodies: dict | None = None) -> dict:
    docs = {}
    for request in requests:
        celex = request.cb_kwargs["row"]["celex"]
        body = (bodies or {}).get(celex)
        response = fixture_response(NOTICES[celex], request.url, body=body)
        for doc in request.callback(response, **request.cb_kwargs):
            docs[doc.url] = doc
    return docs


SPIDER = make_spider()
REQUESTS = listing(SPIDER)
DOCS = notice_documents(SPIDER, REQUESTS)


# -- the SPARQL listing ----------------------------------------------------------------


def test_the_listing_is_one_sparql_get_asking_for_json():
    request = SPIDER.listing_request(date(2026, 10, 24), 1)
    parts = urlsplit(request.url)
    assert parts.path == "/eurlex/webapi/rdf/sparql"
    query = parse_qs(parts.query)
    assert query["format"] == ["application/sparql-results+json"]
    assert request.headers["Accept"] == b"application/sparql-results+json"
    sparql = query["query"][0]
    assert "cdm:work_has_resource-type ?type" in sparql
    assert "<http://publications.europa.eu/resource/authority/resource-type/PROP_DIR>" in sparql
    assert 'FILTER(?date >= "2026-10-24"^^xsd:date)' in sparql
    assert sparql.endswith("ORDER BY DESC(?date) ?celex LIMIT 50 OFFSET 0")


def test_the_second_page_is_the_next_offset():
    sparql = parse_qs(urlsplit(SPIDER.listing_request(TODAY, 3).url).query)["query"][0]
    assert sparql.endswith("LIMIT 50 OFFSET 100")


def test_a_first_crawl_reaches_back_first_crawl_days(store):
    assert make_spider(store=store).from_date() == date(2026, 10, 24)


def test_later_crawls_start_a_week_before_the_newest_stored_work(store):
    store.save_document(DOCS[PLASTICS])
    assert make_spider(store=store).from_date() == date(2018, 5, 21)


def test_each_new_work_costs_one_branch_notice_request():
    assert [urlsplit(r.url).path for r in REQUESTS] == [
        "/eurlex/resource/celex/52018PC0340",
        "/eurlex/resource/celex/32018R0196",
    ]
    assert all(r.headers["Accept"] == b"application/xml;notice=branch" for r in REQUESTS)
    assert all(urlsplit(r.url).query == "language=eng" for r in REQUESTS)


def test_sparql_rows_are_plain_values_per_variable():
    rows = sparql_rows(json.loads((FIXTURES / LISTING).read_text(encoding="utf-8")))
    assert rows[1] == {
        "work": "http://publications.europa.eu/resource/cellar/fa9532bb-12e6-11e8-9253-01aa75ed71a1",
        "celex": "32018R0196",
        "date": "2018-02-07",
        "type": "http://publications.europa.eu/resource/authority/resource-type/REG",
        "title_en": rows[1]["title_en"],
        "title_sv": "",
    }


def test_stored_works_are_not_fetched_again(store):
    store.save_document(DOCS[PLASTICS])
    spider = make_spider(store=store)
    requests = listing(spider)
    assert [r.cb_kwargs["row"]["celex"] for r in requests] == ["32018R0196"]
    assert spider.report.unchanged == 1


def test_a_work_listed_twice_is_fetched_once():
    data = json.loads((FIXTURES / LISTING).read_text(encoding="utf-8"))
    data["results"]["bindings"].append(data["results"]["bindings"][0])
    assert len(listing(make_spider(), json.dumps(data).encode())) == 2


def test_an_empty_answer_is_no_news():
    data = json.loads((FIXTURES / LISTING).read_text(encoding="utf-8"))
    data["results"]["bindings"] = []
    spider = make_spider()
    assert listing(spider, json.dumps(data).encode()) == []
    assert spider.report.failed == 0


def test_bindings_without_celex_numbers_are_a_changed_layout():
    data = json.loads((FIXTURES / LISTING).read_text(encoding="utf-8"))
    for binding in data["results"]["bindings"]:
        binding["celex"]["value"] = "n/a"
    with pytest.raises(LayoutChanged, match="works with a CELEX"):
        listing(make_spider(), json.dumps(data).encode())


def test_an_html_error_page_instead_of_sparql_json_is_one_failure_saying_so():
    spider = make_spider()
    assert listing(spider, b"<html><body><h1>Request Rejected</h1></body></html>") == []
    assert spider.report.failed == 1  # once, not again as a changed layout
    error = spider.report.errors[0]
    assert "HTML" in error and "where JSON was expected" in error
    assert "truncated" not in spider.report.errors[0]


def test_a_crawl_whose_only_listing_is_turtle_fails_as_no_listing_read():
    spider = make_spider()
    listing(spider, b"@prefix cdm: <http://publications.europa.eu/ontology/cdm#> .\n")
    spider.responses_ok += 1  # what the engine's response signal counts in a crawl
    report = spider.final_report()
    assert report.status == "failed" and report.failed == 1
    assert report.errors[0].startswith("eurlex: no listing could be read")
    assert "Turtle where JSON was expected" in report.errors[1]


def test_json_without_head_and_results_is_a_changed_layout():
    with pytest.raises(LayoutChanged, match=r"head\.vars"):
        listing(make_spider(), json.dumps({"error": "timeout"}).encode())


# -- the branch notice (recorded) ------------------------------------------------------


def test_a_commission_proposal_is_a_legislative_proposal_under_its_swedish_page():
    doc = DOCS[PLASTICS]
    assert doc.doc_type == "legislative_proposal"
    assert doc.title == (
        "Förslag till EUROPAPARLAMENTETS OCH RÅDETS DIREKTIV om minskning av vissa "
        "plastprodukters inverkan på miljön"
    )
    assert doc.published == date(2018, 5, 28)
    assert doc.level == "eu" and doc.source == "eurlex"


def test_identifier_procedure_and_author_come_from_the_notice():
    doc = DOCS[PLASTICS]
    assert doc.identifier == "COM/2018/340 final"
    assert doc.summary == (
        "Lagförslag · COM/2018/340 final · förfarande 2018/0172 (COD) · "
        "Directorate-General for Environment"
    )


def test_the_procedure_link_is_a_structured_reference_and_the_dg_responsible():
    doc = DOCS[PLASTICS]
    assert [(r.designation, r.relation, r.url) for r in doc.references] == [
        ("2018/0172(COD)", "procedure", "https://eur-lex.europa.eu/procedure/EN/2018_172")]
    assert doc.responsible == "Directorate-General for Environment"
    assert doc.authors == ["European Commission", "Directorate-General for Environment"]
    assert doc.subtitle == "COM/2018/340 final - 2018/0172 (COD)"
    assert DOCS[TARIFFS].references == [] and DOCS[TARIFFS].responsible is None


def test_the_text_carries_the_english_title_and_the_eurovoc_subjects():
    text = DOCS[PLASTICS].text
    assert text.startswith("Proposal for a DIRECTIVE OF THE EUROPEAN PARLIAMENT AND OF THE COUNCIL")
    assert "Subjects (EuroVoc): plastics; pollution control measures;" in text
    assert "marine pollution" in text and "waste management" in text


def test_the_pdf_and_the_notice_version_are_kept():
    doc = DOCS[PLASTICS]
    assert doc.attachments == [
        "https://eur-lex.europa.eu/legal-content/SV/TXT/PDF/?uri=CELEX%3A52018PC0340"
    ]
    assert doc.source_version == "2020-09-27T17:43:28.234+02:00"


# -- the object notice (recorded) ------------------------------------------------------


def test_an_adopted_regulation_is_a_law_titled_from_the_listing():
    doc = DOCS[TARIFFS]
    assert doc.doc_type == "law"
    assert doc.title.startswith("Regulation (EU) 2018/196 of the European Parliament")
    assert doc.published == date(2018, 2, 7)
    assert doc.identifier == "CELEX 32018R0196"
    assert "Subjects (EuroVoc): suspension of customs duties" in doc.text
    assert "Reintroduction of customs duties" in doc.text


# -- hostile notices -------------------------------------------------------------------


def test_a_truncated_notice_is_that_works_failure():
    spider = make_spider()
    raw = (FIXTURES / NOTICES["52018PC0340"]).read_bytes()
    docs = notice_documents(spider, listing(spider), {"52018PC0340": raw[:40_000]})
    assert list(docs) == [TARIFFS]
    assert spider.report.failed == 1
    assert "unreadable CELLAR notice" in spider.report.errors[0]


def test_an_html_page_instead_of_a_notice_is_that_works_failure():
    spider = make_spider()
    docs = notice_documents(
        spider, listing(spider), {"32018R0196": b"<html><body>WAF</body></html>"}
    )
    assert list(docs) == [PLASTICS]
    assert "not <NOTICE>" in spider.report.errors[0]


def test_entities_in_a_notice_are_never_expanded():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<NOTICE><WORK><IS_ABOUT><PREFLABEL>&lol2;</PREFLABEL></IS_ABOUT></WORK></NOTICE>"
    )
    spider = make_spider()
    docs = notice_documents(spider, listing(spider), {"32018R0196": bomb})
    assert "lollol" not in docs[TARIFFS].text
    assert docs[TARIFFS].title.startswith("Regulation (EU) 2018/196")


def test_a_work_date_in_the_future_is_dropped_and_reported():
    raw = (FIXTURES / NOTICES["52018PC0340"]).read_bytes()
    future = raw.replace(
        b'<WORK_DATE_DOCUMENT type="date">\n         <VALUE>2018-05-28</VALUE>',
        b'<WORK_DATE_DOCUMENT type="date">\n         <VALUE>2081-05-28</VALUE>',
    )
    assert future != raw
    spider = make_spider()
    docs = notice_documents(spider, listing(spider), {"52018PC0340": future})
    assert docs[PLASTICS].published is None
    assert any("2081-05-28 is in the future" in e for e in spider.report.errors)


# -- real crawls -----------------------------------------------------------------------


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder}/t.sqlite"


@pytest.mark.slow
def test_a_crawl_stores_both_works_and_a_second_costs_one_request(tmp_path):
    first, n_first, second, n_second, docs = crawl_twice("eurlex", tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 2, 0)
    assert n_first == 1 + 2
    assert (second.status, second.new, second.unchanged, n_second) == ("ok", 0, 2, 1)
    assert docs[PLASTICS].doc_type == "legislative_proposal"
    assert docs[TARIFFS].doc_type == "law"


@pytest.mark.slow
def test_a_notice_over_the_size_limit_is_refused_and_reported(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "eurlex",
            Route(
                path="/resource/celex/52018PC0340",
                content_type="application/xml",
                body=b"<NOTICE>" + b" " * (20 * 1024 * 1024) + b"</NOTICE>",
            ),
        )
        report = run_crawl_in_subprocess(
            "eurlex", base_url=server.base_url("eurlex"), database_url=db_url(tmp_path)
        )
    assert report.status == "partial"  # the listing was fine, one document was lost
    assert (report.new, report.failed) == (1, 1)
    refused = [e for e in report.errors if "52018PC0340" in e]
    assert refused and "larger than download max size (12582912)" in refused[0]
    assert "CancelledError" not in refused[0]
