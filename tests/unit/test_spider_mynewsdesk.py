"""The Mynewsdesk spiders (Region Skåne, Länsstyrelsen Skåne, Malmö stad) on their fixtures.

Every fixture here is WRITTEN (no real Mynewsdesk response could be recorded): an RSS 2.0
feed and release pages in the structure documented in each folder's PROVENANCE.md (feed URL
shape and `utm_*` links from public code that reads the live feeds, release URL shape and page
order from stored copies of real release pages, `h1.newsroom-headline` from a public scraper).
Feeds and pages are parsed once, at module level; a crawl against the replay server checks the
whole chain, the store and the incremental second crawl."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import FIXTURES, fixture_response
from factories import source_spider
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.generic import Row
from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

LansstyrelsenSkaneSpider = source_spider("lansstyrelsen_skane")
MalmoStadSpider = source_spider("malmo_stad")
RegionSkaneSpider = source_spider("region_skane")

SPIDERS = {
    "region_skane": RegionSkaneSpider,
    "lansstyrelsen_skane": LansstyrelsenSkaneSpider,
    "malmo_stad": MalmoStadSpider,
}
TODAY = date(2026, 11, 23)


def routes(source: str) -> list[dict]:
    return json.loads((FIXTURES / source / "routes.json").read_text(encoding="utf-8"))["routes"]


def base(source: str) -> str:
    return f"http://127.0.0.1:9/{source}"  # never contacted: parse tests hand responses over


def crawl_in_memory(source: str) -> tuple[list[Row], list[Document]]:
    """The feed's rows and the documents of their pages, as the spider makes them."""
    spider = SPIDERS[source](base_url=base(source), today=TODAY)
    feed = next(r for r in routes(source) if r["path"].startswith("/se/rss/"))
    feed_url = base(source) + feed["path"]
    requests = list(
        spider.parse_feed(
            fixture_response(f"{source}/{feed['file']}", feed_url), feed=feed_url, page=1
        )
    )
    pages = {r["path"]: r["file"] for r in routes(source) if r["file"].endswith(".html")}
    rows, docs = [], []
    for request in requests:
        row = request.cb_kwargs["row"]
        rows.append(row)
        path = request.url.removeprefix(base(source))
        response = fixture_response(f"{source}/{pages[path]}", request.url)
        docs += [d for d in spider.parse_detail(response, row=row) if isinstance(d, Document)]
    return rows, docs


PARSED = {source: crawl_in_memory(source) for source in SPIDERS}
DOCS = {source: {d.title: d for d in docs} for source, (_, docs) in PARSED.items()}


@pytest.mark.parametrize("source", list(SPIDERS))
def test_every_feed_item_is_followed_to_its_page(source):
    rows, docs = PARSED[source]
    assert len(rows) == 3 and len(docs) == 3


def test_feed_link_loses_its_utm_parameters_and_stays_on_mynewsdesk():
    rows, _ = PARSED["malmo_stad"]
    assert rows[0].url == (
        "https://www.mynewsdesk.com/se/malmo/pressreleases/"
        "kommunstyrelsen-godkaenner-avsiktsfoerklaring-om-malmoependeln-och-nya-stationer-3412550"
    )


def test_detail_request_goes_to_the_local_server_not_the_publisher():
    spider = MalmoStadSpider(base_url=base("malmo_stad"))
    assert spider.to_local(PARSED["malmo_stad"][0][0].url).startswith(
        "http://127.0.0.1:9/malmo_stad/se/malmo/pressreleases/"
    )


def test_region_skane_decision_fields():
    doc = DOCS["region_skane"][
        "Regionstyrelsen beslutar om nytt trafikförsörjningsprogram för Skåne"
    ]
    assert doc.url == (
        "https://www.mynewsdesk.com/se/region_skane/pressreleases/"
        "regionstyrelsen-beslutar-om-nytt-trafikfoersoerjningsprogram-for-skaane-3412876"
    )
    assert doc.published == date(2026, 11, 19)
    assert doc.doc_type == "decision"
    assert (doc.source, doc.publisher, doc.level) == ("region_skane", "Region Skåne", "regional")
    assert doc.summary.startswith("Regionstyrelsen har antagit ett nytt trafikförsörjningsprogram")
    assert "fyra spår mellan Malmö och Lund" in doc.text
    assert doc.source_version == "Thu, 19 Nov 2026 14:05:00 +0100"


@pytest.mark.parametrize("source", list(SPIDERS))
def test_text_leaves_out_newsroom_boilerplate_contacts_and_subjects(source):
    for doc in DOCS[source].values():
        assert "Mynewsdesk – en plattform" not in doc.text
        assert "Gå direkt till innehåll" not in doc.text
        assert not any(line.startswith("Om ") for line in doc.text.splitlines())
        assert "Presstjänst" not in doc.text and "Pressansvarig" not in doc.text


@pytest.mark.parametrize(
    ("source", "title", "doc_type", "published"),
    [
        (
            "region_skane",
            "Fler unga skåningar i arbete med ny regional kompetensplattform",
            "press_release",
            date(2026, 11, 16),
        ),
        (
            "region_skane",
            "Pressinbjudan: Invigning av klimatanpassad vårdbyggnad i Lund",
            "news",
            date(2026, 11, 11),
        ),
        (
            "lansstyrelsen_skane",
            "Länsstyrelsen upphäver detaljplan för bostäder i Vellinge",
            "decision",
            date(2026, 11, 18),
        ),
        (
            "lansstyrelsen_skane",
            "Bostadsmarknadsanalys 2026: bostadsbristen minskar i Skåne",
            "report",
            date(2026, 11, 13),
        ),
        (
            "lansstyrelsen_skane",
            "Nya miljoner till lokala naturvårdsprojekt i Skåne",
            "press_release",
            date(2026, 11, 9),
        ),
        (
            "malmo_stad",
            "Kommunstyrelsen godkänner avsiktsförklaring om Malmöpendeln och nya stationer",
            "decision",
            date(2026, 11, 20),
        ),
        (
            "malmo_stad",
            "Skolresultaten i Malmö fortsätter att förbättras",
            "press_release",
            date(2026, 11, 17),
        ),
    ],
)
def test_type_and_date_per_release(source, title, doc_type, published):
    doc = DOCS[source][title]
    assert (doc.doc_type, doc.published) == (doc_type, published)


def test_malmo_stad_is_local_and_lansstyrelsen_regional():
    assert {d.level for d in DOCS["malmo_stad"].values()} == {"local"}
    assert {d.publisher for d in DOCS["lansstyrelsen_skane"].values()} == {"Länsstyrelsen Skåne"}


@pytest.mark.parametrize(
    ("title", "doc_type"),
    [
        ("Pressinbjudan: Ett tryggare, trafiksäkrare och grönare Möllan", "news"),
        ("Regionfullmäktige antar budget för 2027", "decision"),
        ("Ny rapport om segregationen i Skåne", "report"),
        ("Malmöfestivalen 2021 ställs in – vi ses 2022!", "press_release"),
        ("Kollektivtrafiken: ny rapport visar fler resenärer", "press_release"),
        ("Regionen bjuder in till pressträff", "press_release"),
    ],
)
def test_doc_type_from_title(title, doc_type):
    # the release's URL (its slug repeats the title's words) never decides the type
    url = "https://www.mynewsdesk.com/se/region_skane/pressreleases/rapport-antar-analys-1"
    spider = RegionSkaneSpider(base_url=base("region_skane"))
    assert spider.row_doc_type(Row(url=url, title=title)) == doc_type


def test_an_html_page_where_the_feed_was_is_a_layout_change():
    spider = RegionSkaneSpider(base_url=base("region_skane"))
    response = fixture_response(
        "x.html",
        base("region_skane") + "/se/rss/source/2467/pressrelease",
        body=b"<html><body><h1>Newsroom</h1></body></html>",
    )
    with pytest.raises(LayoutChanged, match="not an RSS/Atom feed"):
        list(spider.parse_feed(response, feed=response.url, page=1))


def test_an_empty_feed_of_a_source_with_stored_documents_is_a_layout_change(store):
    store.save_document(
        DOCS["region_skane"]["Fler unga skåningar i arbete med ny regional kompetensplattform"]
    )
    spider = RegionSkaneSpider(base_url=base("region_skane"), store=store)
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    response = fixture_response("x.xml", base("region_skane") + "/feed", body=empty)
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(spider.parse_feed(response, feed=response.url, page=1))


def test_an_empty_feed_of_a_new_source_is_no_news():
    spider = RegionSkaneSpider(base_url=base("region_skane"))
    empty = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'
    response = fixture_response("x.xml", base("region_skane") + "/feed", body=empty)
    assert list(spider.parse_feed(response, feed=response.url, page=1)) == []


# -- real crawls against the replay server ------------------------------------------------


@pytest.mark.slow
def test_crawl_stores_every_release_and_a_second_crawl_fetches_only_the_feed(tmp_path: Path):
    db = f"sqlite:///{tmp_path}/t.sqlite"
    with ReplayServer(FIXTURES) as server:
        first = run_crawl_in_subprocess(
            "malmo_stad", base_url=server.base_url("malmo_stad"), database_url=db, timeout=120
        )
        before = len(server.requested("malmo_stad"))
        second = run_crawl_in_subprocess(
            "malmo_stad", base_url=server.base_url("malmo_stad"), database_url=db, timeout=120
        )
        again = server.requested("malmo_stad")[before:]
    assert (first.status, first.new, first.failed) == ("ok", 3, 0)
    assert (second.status, second.new, second.unchanged) == ("ok", 0, 3)
    assert again == ["/malmo_stad/se/rss/source/5164/pressrelease"]
    store = Store.open(db)
    rows = {r.url: r for r in store.documents()}
    store.close()
    doc = rows[
        "https://www.mynewsdesk.com/se/malmo/pressreleases/"
        "skolresultaten-i-malmoe-fortsaetter-att-foerbaettras-3411001"
    ]
    assert (doc.language, doc.doc_type, doc.level) == ("sv", "press_release", "local")
    assert "82 procent behöriga" in doc.text
