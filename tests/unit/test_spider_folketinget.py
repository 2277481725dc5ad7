"""The Folketinget (ODA) spider on WRITTEN fixtures that follow the documented OData 3 shapes
(tests/fixtures/folketinget/PROVENANCE.md: no response of oda.ft.dk was recorded), parsed
once at module level; one real crawl against the replay server at the end."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy.http import Response

from conftest import FIXTURES, fixture_response
from factories import crawl_twice
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.replay import ReplayServer, Route
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.crawl.sources.folketinget import FolketingetSpider, case_url

BASE = "http://127.0.0.1:8000/folketinget"  # never contacted by the parse tests
TODAY = date(2026, 11, 23)
LISTING = "folketinget/sag_written_p1.json"  # WRITTEN fixture (see PROVENANCE.md)
CASES = json.loads((FIXTURES / LISTING).read_text(encoding="utf-8"))["value"]
L24 = "https://www.ft.dk/samling/20261/lovforslag/l24/index.htm"
L41 = "https://www.ft.dk/samling/20261/lovforslag/l41/index.htm"
B17 = "https://www.ft.dk/samling/20261/beslutningsforslag/b17/index.htm"


def make_spider(**kwargs) -> FolketingetSpider:
    return FolketingetSpider(base_url=BASE, today=TODAY, **kwargs)


def listing_output(spider: FolketingetSpider, body: bytes | None = None, page: int = 1) -> list:
    response = fixture_response(LISTING, spider.listing_url(0), body=body)
    return list(spider.parse_listing(response, page=page))


PDF_FILES = {  # the PDFs' ft.dk paths → WRITTEN PDF fixtures (construct_pdfs.py)
    route["path"]: route["file"]
    for route in json.loads((FIXTURES / "folketinget/routes.json").read_text(encoding="utf-8"))[
        "routes"
    ]
    if route["path"].endswith(".pdf")
}


def follow_pdfs(outputs: list, pdf_bodies: dict[str, bytes] | None = None) -> list:
    """Answer the PDF requests a case yields from the fixtures, as the replay would."""
    done: list = []
    pending = list(outputs)
    while pending:
        item = pending.pop(0)
        if isinstance(item, Document):
            done.append(item)
            continue
        path = urlsplit(item.url).path.removeprefix("/folketinget")
        body = (pdf_bodies or {}).get(path)
        if body is None:
            body = (FIXTURES / "folketinget" / PDF_FILES[path]).read_bytes()
        response = Response(url=item.url, body=body, request=item)
        pending.extend(item.callback(response, **item.cb_kwargs))
    return done


def case_document(
    case: dict, body: bytes | None = None, pdf_bodies: dict[str, bytes] | None = None
) -> list[Document]:
    spider = make_spider()
    response = fixture_response(
        f"folketinget/sagdokument_written_{case['id']}.json",
        spider.documents_url(case["id"]),
        body=body,
    )
    return follow_pdfs(list(spider.parse_case(response, case=case)), pdf_bodies)


SPIDER = make_spider()
REQUESTS = listing_output(SPIDER)
DOCS = {case_url(c): case_document(c)[0] for c in CASES}


# -- listing ---------------------------------------------------------------------------


def test_the_listing_asks_for_bills_and_resolutions_updated_in_the_window():
    query = parse_qs(urlsplit(SPIDER.listing_url(0)).query)
    assert query["$filter"] == [
        "(typeid eq 3 or typeid eq 5) and opdateringsdato gt datetime'2026-10-24T00:00:00'"
    ]
    assert query["$orderby"] == ["opdateringsdato desc"]
    assert query["$expand"] == ["Periode"]
    assert query["$inlinecount"] == ["allpages"]
    assert query["$top"] == ["100"] and query["$skip"] == ["0"]
    assert "%24filter=" in SPIDER.listing_url(0)  # `$` encoded, as ODA wants it


def test_every_new_case_costs_one_documents_request():
    assert [r.callback for r in REQUESTS] == [SPIDER.parse_case] * 3
    first = parse_qs(urlsplit(REQUESTS[0].url).query)
    assert urlsplit(REQUESTS[0].url).path == "/folketinget/api/SagDokument"
    assert first["$filter"] == ["sagid eq 104511"]
    assert first["$expand"] == ["Dokument/Fil"]


def test_a_full_page_is_followed_by_the_next_skip():
    spider = make_spider()
    spider.page_size = 3
    data = json.loads((FIXTURES / LISTING).read_text(encoding="utf-8"))
    data["odata.count"] = "7"
    output = listing_output(spider, json.dumps(data).encode())
    (next_page,) = [r for r in output if r.callback == spider.parse_listing]
    assert parse_qs(urlsplit(next_page.url).query)["$skip"] == ["3"]
    assert next_page.cb_kwargs == {"page": 2}


# -- fields ----------------------------------------------------------------------------


def test_case_urls_are_the_case_pages_on_ft_dk():
    assert set(DOCS) == {L24, L41, B17}


def test_a_bill_is_a_proposition_and_a_resolution_proposal_a_motion():
    assert DOCS[L24].doc_type == "proposition"
    assert DOCS[L41].doc_type == "proposition"
    assert DOCS[B17].doc_type == "motion"


def test_title_identifier_and_summary_come_from_the_case():
    doc = DOCS[L24]
    assert doc.title.startswith("Forslag til lov om ændring af lov om en aktiv beskæftigelses")
    assert doc.identifier == "L 24 (2026-27 (1. samling))"
    assert doc.summary.startswith("Lovforslaget har til formål at få flere nyankomne")
    assert doc.source == "folketinget" and doc.publisher == "Folketinget"
    assert doc.level == "national"


def test_published_is_the_date_the_bill_was_tabled():
    assert DOCS[L24].published == date(2026, 11, 4)
    assert DOCS[B17].published == date(2026, 11, 3)


def test_the_text_has_the_justification_and_the_documents():
    text = DOCS[B17].text
    assert "Øresundsbron er i dag tæt på kapacitetsgrænsen" in text
    assert "- Beslutningsforslag som fremsat (2026-11-03)" in text


def test_attachments_are_the_pdf_files_on_ft_dk():
    assert DOCS[L24].attachments == [
        "https://www.ft.dk/samling/20261/lovforslag/l24/20261_l24_som_fremsat.pdf",
        "https://www.ft.dk/samling/20261/lovforslag/l24/bilag/1/3120455.pdf",
    ]


def test_the_source_version_is_opdateringsdato():
    assert DOCS[L41].source_version == "2026-11-12T09:15:44.1"


# -- incremental -----------------------------------------------------------------------


def test_stored_cases_with_the_same_update_are_not_fetched_again(store):
    for doc in DOCS.values():
        store.save_document(doc)
    spider = make_spider(store=store)
    assert listing_output(spider) == []
    assert spider.report.unchanged == 3


def test_a_case_updated_since_is_fetched_again(store):
    for doc in DOCS.values():
        store.save_document(doc)
    data = json.loads((FIXTURES / LISTING).read_text(encoding="utf-8"))
    data["value"][1]["opdateringsdato"] = "2026-11-22T08:00:00"
    spider = make_spider(store=store)
    output = listing_output(spider, json.dumps(data).encode())
    assert [parse_qs(urlsplit(r.url).query)["$filter"] for r in output] == [["sagid eq 104537"]]


# -- hostile input ---------------------------------------------------------------------


def test_html_where_json_was_expected_is_a_recorded_failure_not_a_crash():
    spider = make_spider()
    body = b"<!DOCTYPE html><html><body><h1>Service Unavailable</h1></body></html>"
    assert listing_output(spider, body) == []
    assert spider.report.failed == 1
    assert "HTML where JSON was expected" in spider.report.errors[0]


def test_an_empty_value_where_odata_count_says_there_are_hits_is_a_changed_layout():
    body = json.dumps({"odata.count": "12", "value": []}).encode()
    with pytest.raises(LayoutChanged, match="no `Sag` rows"):
        listing_output(make_spider(), body)


def test_an_answer_without_value_is_a_changed_layout():
    with pytest.raises(LayoutChanged, match="no OData `value` list"):
        listing_output(make_spider(), json.dumps({"d": {"results": []}}).encode())


def test_an_answer_without_odata_count_is_a_changed_layout():
    with pytest.raises(LayoutChanged, match=r"no `odata\.count`"):
        listing_output(make_spider(), json.dumps({"value": []}).encode())


def test_an_empty_window_is_no_news_not_an_error():
    spider = make_spider()
    assert listing_output(spider, json.dumps({"odata.count": "0", "value": []}).encode()) == []
    assert spider.report.failed == 0


def test_a_wrongly_encoded_answer_keeps_the_danish_letters_it_can():
    body = (FIXTURES / "folketinget/sagdokument_written_104537.json").read_text(encoding="utf-8")
    (doc,) = case_document(CASES[1], body.encode("latin-1", errors="replace"))
    assert doc.attachments  # still parsed: the JSON structure survives the wrong encoding


def test_a_tabling_date_in_the_future_is_dropped_and_reported():
    data = json.loads(
        (FIXTURES / "folketinget/sagdokument_written_104602.json").read_text(encoding="utf-8")
    )
    data["value"][0]["Dokument"]["dato"] = "2062-11-03T00:00:00"
    spider = make_spider()
    response = fixture_response(
        "folketinget/x.json", spider.documents_url(104602), body=json.dumps(data).encode()
    )
    (doc,) = spider.parse_case(response, case=CASES[2])
    assert doc.published is None
    assert any("2062-11-03 is in the future" in e for e in spider.report.errors)


def test_an_unparseable_date_falls_back_to_the_case_update():
    data = json.loads(
        (FIXTURES / "folketinget/sagdokument_written_104602.json").read_text(encoding="utf-8")
    )
    data["value"][0]["Dokument"]["dato"] = "i forgårs"
    (doc,) = case_document(CASES[2], json.dumps(data).encode())
    assert doc.published == date(2026, 11, 5)


# -- PDFs of bills ---------------------------------------------------------------------


def test_the_bill_as_tabled_is_read_into_the_text():
    text = DOCS[L41].text
    assert "[Bilaga: 20261_l41_som_fremsat.pdf]" in text
    assert "Landsbyggefonden kan i årene 2027-2030 give tilsagn om støtte" in text


def test_every_pdf_of_a_bill_is_read_in_order():
    text = DOCS[L24].text
    assert text.index("som_fremsat.pdf]") < text.index("[Bilaga: 3120455.pdf]")
    assert "KL bakker op om kravet om et virksomhedsrettet tilbud" in text


def test_a_resolution_proposal_keeps_its_pdf_as_a_link_only():
    assert "[Bilaga:" not in DOCS[B17].text
    assert DOCS[B17].attachments[0].endswith("/b17/20261_b17_som_fremsat.pdf")


def test_a_corrupt_pdf_is_reported_and_the_bill_stored_without_it():
    spider = make_spider()
    response = fixture_response(
        "folketinget/sagdokument_written_104537.json", spider.documents_url(104537)
    )
    path = "/samling/20261/lovforslag/l41/20261_l41_som_fremsat.pdf"
    (doc,) = follow_pdfs(
        list(spider.parse_case(response, case=CASES[1])), {path: b"%PDF-1.4\n%broken"}
    )
    assert doc.url == L41 and "[Bilaga:" not in doc.text
    assert doc.summary.startswith("Lovforslaget giver Landsbyggefonden")
    assert any("corrupt PDF" in e for e in spider.report.errors)


def test_an_encrypted_pdf_is_reported_and_skipped():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.encrypt("secret")
    buffer = io.BytesIO()
    writer.write(buffer)
    spider = make_spider()
    response = fixture_response(
        "folketinget/sagdokument_written_104537.json", spider.documents_url(104537)
    )
    path = "/samling/20261/lovforslag/l41/20261_l41_som_fremsat.pdf"
    (doc,) = follow_pdfs(
        list(spider.parse_case(response, case=CASES[1])), {path: buffer.getvalue()}
    )
    assert "[Bilaga:" not in doc.text
    assert any("PDF is encrypted" in e for e in spider.report.errors)


# -- a real crawl ----------------------------------------------------------------------


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder}/t.sqlite"


@pytest.mark.slow
def test_a_crawl_against_the_replay_stores_three_cases_and_a_second_fetches_one_page(tmp_path):
    first, first_requests, second, second_requests, docs = crawl_twice("folketinget", tmp_path)
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    # the listing, one per case, the PDFs of the two bills (robots.txt is the host's)
    assert first_requests == 1 + 3 + 3
    assert (second.status, second.new, second.unchanged) == ("ok", 0, 3)
    assert second_requests == 1  # the listing only
    assert set(docs) == {L24, L41, B17}
    assert docs[L41].language == "da"


@pytest.mark.slow
def test_a_listing_answering_500_fails_the_source_with_its_name(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route("folketinget", Route(path="/api/Sag", status=500))
        report = run_crawl_in_subprocess(
            "folketinget", base_url=server.base_url("folketinget"), database_url=db_url(tmp_path)
        )
    assert report.status == "failed"
    assert "folketinget: source unreachable" in report.errors[0]
