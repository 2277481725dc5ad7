"""The Riksdagen spider on recorded data.riksdagen.se responses (parsed once, at module
level); crawls against the replay server are in test_crawl_subprocess.py."""

from __future__ import annotations

import json
from datetime import date

import pytest

from conftest import FIXTURES, fixture_response
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.sources.riksdagen import (
    RiksdagenSpider,
    document_url,
    parse_doc_type,
    parse_identifier,
)

BASE = "http://127.0.0.1:8000/riksdagen"  # a local base: never contacted by these tests
TODAY = date(2026, 11, 23)


def make_spider(**kwargs) -> RiksdagenSpider:
    return RiksdagenSpider(base_url=BASE, today=TODAY, **kwargs)


DETAILS = {  # dok_id → (recorded dokumentstatus, constructed listing row of it)
    "HA01AU6": (
        "dokumentstatus_bet_HA01AU6_integration.json",
        "dokumentlista_constructed_bet.json",
    ),
    "H2021148": (
        "dokumentstatus_mot_H2021148_bostadsbyggande.json",
        "dokumentlista_constructed_mot.json",
    ),
}


def detail(dok_id: str) -> Document:
    """The Document built from a recorded dokumentstatus and its listing row."""
    status_file, listing_file = DETAILS[dok_id]
    listing = json.loads((FIXTURES / "riksdagen" / listing_file).read_text(encoding="utf-8"))
    row = listing["dokumentlista"]["dokument"][0]
    response = fixture_response(f"riksdagen/{status_file}", f"{BASE}/dokumentstatus/{dok_id}.json")
    (doc,) = make_spider().parse_document(response, row=row)
    return doc


SPIDER = make_spider()
SFS_URL = f"{BASE}/dokumentlista/?doktyp=sfs&p=1"
SFS_OUTPUT = list(
    SPIDER.parse_listing(
        fixture_response("riksdagen/dokumentlista_sfs_1880-1900_p1.json", SFS_URL),
        doktyp="sfs",
        page=1,
    )
)
SFS_DETAILS = [r for r in SFS_OUTPUT if r.callback == SPIDER.parse_document]
SFS_NEXT = [r for r in SFS_OUTPUT if r.callback == SPIDER.parse_listing]
DOCS = {dok_id: detail(dok_id) for dok_id in DETAILS}
BOTH = pytest.mark.parametrize("dok_id", list(DOCS))


# -- listing ---------------------------------------------------------------------------


def test_every_row_of_the_recorded_sfs_page_becomes_a_detail_request():
    assert len(SFS_DETAILS) == 20
    assert all(
        r.url.startswith(f"{BASE}/dokumentstatus/") and r.url.endswith(".json") for r in SFS_DETAILS
    )


def test_dok_ids_with_spaces_are_quoted_in_the_detail_url():
    assert f"{BASE}/dokumentstatus/sfs-1895-bih.%2052%20s.%201.json" in {r.url for r in SFS_DETAILS}


def test_nasta_sida_is_followed_on_the_configured_base_not_the_live_host():
    (next_page,) = SFS_NEXT
    assert next_page.url.startswith(f"{BASE}/dokumentlista/?")
    assert "data.riksdagen.se" not in next_page.url
    assert next_page.url.endswith("&p=2")
    assert next_page.cb_kwargs == {"doktyp": "sfs", "page": 2}


def test_paging_stops_at_max_pages():
    spider = make_spider()
    spider.max_pages = 1
    output = list(
        spider.parse_listing(
            fixture_response("riksdagen/dokumentlista_sfs_1880-1900_p1.json", SFS_URL),
            doktyp="sfs",
            page=1,
        )
    )
    assert not [r for r in output if r.callback == spider.parse_listing]


def test_first_crawl_lists_each_doktyp_from_first_crawl_days_back():
    requests = list(make_spider().listing_requests())
    assert [r.cb_kwargs["doktyp"] for r in requests] == ["prop", "sou", "ds", "bet", "mot", "fpm"]
    assert all(
        "from=2026-10-24" in r.url
        and "sort=datum" in r.url
        and "utformat=json" in r.url
        and "sz=50" in r.url
        and r.url.endswith("p=1")
        for r in requests
    )


def test_later_crawls_start_a_few_days_before_the_newest_stored_document(store):
    store.save_document(DOCS["HA01AU6"])  # published 2023-02-17
    assert make_spider(store=store).from_date() == date(2023, 2, 14)


def test_stored_rows_with_the_same_systemdatum_are_not_fetched_again(store):
    spider = make_spider(store=store)
    output = list(
        spider.parse_listing(
            fixture_response("riksdagen/dokumentlista_constructed_bet.json", f"{BASE}/x"),
            doktyp="bet",
            page=1,
        )
    )
    assert [r.url for r in output] == [f"{BASE}/dokumentstatus/HA01AU6.json"]
    store.save_document(DOCS["HA01AU6"])
    again = make_spider(store=store)
    assert (
        list(
            again.parse_listing(
                fixture_response("riksdagen/dokumentlista_constructed_bet.json", f"{BASE}/x"),
                doktyp="bet",
                page=1,
            )
        )
        == []
    )
    assert again.report.unchanged == 1


def test_a_page_of_stored_documents_ends_the_paging(store):
    rows = json.loads(
        fixture_response("riksdagen/dokumentlista_sfs_1880-1900_p1.json", SFS_URL).text
    )["dokumentlista"]["dokument"]
    for row in rows:
        store.save_document(
            Document(
                url=document_url(row["dok_id"]),
                source="riksdagen",
                publisher="Sveriges riksdag",
                level="national",
                title=row["titel"],
                source_version=row["systemdatum"],
            )
        )
    spider = make_spider(store=store)
    output = list(
        spider.parse_listing(
            fixture_response("riksdagen/dokumentlista_sfs_1880-1900_p1.json", SFS_URL),
            doktyp="sfs",
            page=1,
        )
    )
    assert output == []
    assert spider.report.unchanged == 20


def test_an_empty_listing_is_not_an_error():
    spider = make_spider()
    assert (
        list(
            spider.parse_listing(
                fixture_response("riksdagen/dokumentlista_constructed_empty.json", f"{BASE}/x"),
                doktyp="prop",
                page=1,
            )
        )
        == []
    )
    assert spider.report.failed == 0


def test_hits_without_rows_mean_the_layout_changed():
    body = json.dumps({"dokumentlista": {"@traffar": "3", "@sida": "1"}}).encode()
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(
            make_spider().parse_listing(
                fixture_response("x.json", f"{BASE}/x", body=body), doktyp="bet", page=1
            )
        )


def test_a_truncated_listing_is_a_reported_error_not_a_crash():
    body = (FIXTURES / "riksdagen/dokumentlista_sfs_1880-1900_p1.json").read_bytes()[:5000]
    spider = make_spider()
    assert (
        list(
            spider.parse_listing(
                fixture_response("x.json", SFS_URL, body=body), doktyp="sfs", page=1
            )
        )
        == []
    )
    assert spider.report.failed == 1
    assert SFS_URL in spider.report.errors[0] and "invalid JSON" in spider.report.errors[0]


# -- detail: one test per field --------------------------------------------------------


@BOTH
def test_url_is_the_public_document_url(dok_id):
    assert DOCS[dok_id].url == f"https://data.riksdagen.se/dokument/{dok_id}"


@pytest.mark.parametrize(
    ("dok_id", "title", "subtitle"),
    [
        ("HA01AU6", "Integration", ""),
        ("H2021148", "Bostadsbyggande", "av Monica Haider och Tomas Eneroth (S)"),
    ],
)
def test_title_without_the_subtitle_which_is_kept_apart(dok_id, title, subtitle):
    assert (DOCS[dok_id].title, DOCS[dok_id].subtitle) == (title, subtitle)


@pytest.mark.parametrize(
    ("dok_id", "responsible", "subtype"),
    [("HA01AU6", "Arbetsmarknadsutskottet", "bet"), ("H2021148", "Civilutskottet",
                                                     "Enskild motion")],
)
def test_committee_from_organ_and_subtype_are_kept(dok_id, responsible, subtype):
    assert (DOCS[dok_id].responsible, DOCS[dok_id].subtype) == (responsible, subtype)


def test_authors_from_dokintressent_in_their_order_with_party():
    assert DOCS["H2021148"].authors == ["Monica Haider (S)", "Tomas Eneroth (S)"]
    assert DOCS["HA01AU6"].authors == []  # a committee report has no dokintressent


def test_proposals_of_a_motion_and_of_a_committee_are_kept():
    assert DOCS["H2021148"].proposals == [
        "Riksdagen tillkännager för regeringen som sin mening vad som anförs i motionen om "
        "behovet av ökat bostadsbyggande."
    ]
    committee = DOCS["HA01AU6"].proposals
    assert committee[0] == (
        "Målet för integrationspolitiken: Riksdagen avslår motion 2022/23:960 av "
        "Ann-Christine From Utterstedt m.fl. (SD)."
    )
    assert len(committee) == 10  # one per utskottsförslag punkt


def test_dokreferens_become_structured_references():
    (ref,) = DOCS["H2021148"].references
    assert (ref.designation, ref.relation, ref.title, ref.url) == (
        "bet. 2014/15:CU7", "behandlas_i", "Bostadspolitik",
        "https://data.riksdagen.se/dokument/H201CU7",
    )
    refs = DOCS["HA01AU6"].references
    assert len(refs) == 18  # 15 motions treated, the agenda and two minutes
    treated = [r.designation for r in refs if r.relation == "behandlar"]
    assert len(treated) == 15 and treated[0] == "mot. 2022/23:1230"


@pytest.mark.parametrize(
    ("dok_id", "doc_type"), [("HA01AU6", "committee_report"), ("H2021148", "motion")]
)
def test_doc_type(dok_id, doc_type):
    assert DOCS[dok_id].doc_type == doc_type


@pytest.mark.parametrize(
    ("dok_id", "identifier"), [("HA01AU6", "bet. 2022/23:AU6"), ("H2021148", "mot. 2014/15:1148")]
)
def test_identifier(dok_id, identifier):
    assert DOCS[dok_id].identifier == identifier


@pytest.mark.parametrize(
    ("dok_id", "published"), [("HA01AU6", date(2023, 2, 17)), ("H2021148", date(2014, 11, 7))]
)
def test_published_is_the_documents_own_date(dok_id, published):
    assert DOCS[dok_id].published == published


def test_summary_is_beslut_i_korthet_without_html():
    summary = DOCS["HA01AU6"].summary
    assert summary.startswith("Riksdagen sa nej till cirka 25 förslag")
    assert "<" not in summary and "Default" not in summary


def test_summary_is_empty_when_riksdagen_wrote_none():
    assert DOCS["H2021148"].summary == ""


@pytest.mark.parametrize(
    ("dok_id", "phrase"),
    [
        ("HA01AU6", "Utskottet föreslår att riksdagen avslår samtliga motionsyrkanden"),
        (
            "H2021148",
            "Ett allt för lågt byggande har lett till en mycket besvärlig bostadssituation",
        ),
    ],
)
def test_text_is_the_main_text_without_styles(dok_id, phrase):
    text = DOCS[dok_id].text
    assert phrase in text
    assert "Aspose" not in text and "@page" not in text and "<p" not in text


def test_text_is_capped():
    assert len(DOCS["HA01AU6"].text) <= 200_000


@pytest.mark.parametrize(
    ("dok_id", "attachments"),
    [
        ("HA01AU6", ["http://data.riksdagen.se/fil/FDEE2792-03FA-4299-90CC-A85A94E89428"]),
        (
            "H2021148",
            [
                "http://data.riksdagen.se/fil/649654A3-AC63-4C51-9F5B-0593697B8BEE",
                "http://data.riksdagen.se/fil/FDB0C71A-AF7E-4ABD-9A31-DFC2551659EC",
            ],
        ),
    ],
)
def test_attachments_from_one_bilaga_or_a_list(dok_id, attachments):
    assert DOCS[dok_id].attachments == attachments


@pytest.mark.parametrize(
    ("dok_id", "version"), [("HA01AU6", "2023-03-20 17:09:31"), ("H2021148", "2016-04-27 10:37:56")]
)
def test_source_version_is_systemdatum(dok_id, version):
    assert DOCS[dok_id].source_version == version


@BOTH
def test_source_publisher_and_level_come_from_the_config(dok_id):
    doc = DOCS[dok_id]
    assert (doc.source, doc.publisher, doc.level) == ("riksdagen", "Sveriges riksdag", "national")


def test_a_truncated_detail_is_reported_with_its_document_url_and_yields_nothing():
    body = (FIXTURES / "riksdagen/dokumentstatus_mot_H2021148_bostadsbyggande.json").read_bytes()[
        :2000
    ]
    spider = make_spider()
    output = list(
        spider.parse_document(
            fixture_response("x.json", f"{BASE}/dokumentstatus/H2021148.json", body=body),
            row={"dok_id": "H2021148", "systemdatum": "2016-04-27 10:37:56"},
        )
    )
    assert output == []
    assert spider.report.failed == 1
    assert spider.report.errors[0].startswith("https://data.riksdagen.se/dokument/H2021148: ")
    assert "invalid JSON" in spider.report.errors[0]


# -- mappings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doktyp", "doc_type"),
    [
        ("prop", "proposition"),
        ("mot", "motion"),
        ("bet", "committee_report"),
        ("sou", "sou"),
        ("ds", "ds"),
        ("fpm", "report"),
        ("sfs", "law"),
        ("ip", "other"),
    ],
)
def test_doc_type_mapping(doktyp, doc_type):
    assert parse_doc_type({"doktyp": doktyp}) == doc_type


@pytest.mark.parametrize(
    ("dok", "identifier"),
    [
        ({"doktyp": "prop", "rm": "2016/17", "beteckning": "14"}, "prop. 2016/17:14"),
        ({"doktyp": "bet", "rm": "2022/23", "beteckning": "AU6"}, "bet. 2022/23:AU6"),
        ({"doktyp": "mot", "rm": "2014/15", "beteckning": "1148"}, "mot. 2014/15:1148"),
        ({"doktyp": "sou", "rm": "2025", "beteckning": "12"}, "SOU 2025:12"),
        ({"doktyp": "ds", "rm": "2016", "beteckning": "46"}, "Ds 2016:46"),
        (
            {"doktyp": "sfs", "rm": "1895", "beteckning": "1895:bih. 52 s. 1"},
            "SFS 1895:bih. 52 s. 1",
        ),
        ({"doktyp": "prop", "rm": "", "beteckning": "14"}, None),
    ],
)
def test_identifier_formats(dok, identifier):
    assert parse_identifier(dok) == identifier
