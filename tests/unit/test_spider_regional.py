"""The regional and local site spiders (MalmöLundregionen, Greater Copenhagen, Mälardalsrådet,
Lunds kommun) on their fixtures.

Every fixture here is WRITTEN (no real response could be recorded): listings and pages in the
structure documented in each folder's PROVENANCE.md — WordPress archive markup for
MalmöLundregionen (its slugs are WordPress's), Drupal 7 Views markup for Greater Copenhagen
(its pages are Drupal nodes), the "2017.03.27." dates of Mälardalsrådet's stored news list and
the date/title/summary rows of lund.se's stored press-release list. Listings and pages are parsed
once, at module level; crawls against the replay server check paging, PDF text and the store."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from conftest import FIXTURES, fixture_response
from factories import source_spider
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

GreaterCopenhagenSpider = source_spider("greater_copenhagen")
LundsKommunSpider = source_spider("lunds_kommun")
MalardalsradetSpider = source_spider("malardalsradet")
MalmoLundregionenSpider = source_spider("malmolundregionen")

SPIDERS = {
    "malmolundregionen": MalmoLundregionenSpider,
    "greater_copenhagen": GreaterCopenhagenSpider,
    "malardalsradet": MalardalsradetSpider,
    "lunds_kommun": LundsKommunSpider,
}
TODAY = date(2026, 11, 23)
MLR = "https://www.malmolundregionen.se"
REMISSVAR = f"{MLR}/2026/11/remissvar-nationell-plan-for-transportinfrastrukturen/"


def routes(source: str) -> dict[str, str]:
    data = json.loads((FIXTURES / source / "routes.json").read_text(encoding="utf-8"))
    return {r["path"]: r["file"] for r in data["routes"]}


def base(source: str) -> str:
    return f"http://127.0.0.1:9/{source}"  # never contacted: parse tests hand responses over


def response_for(source: str, url: str):
    return fixture_response(f"{source}/{routes(source)[url.removeprefix(base(source))]}", url)


def parse_all(source: str) -> tuple[list, list[Document]]:
    """Every listing page the spider asks for and the documents of every page it follows
    (PDF requests are left out here; the crawl test reads the PDF)."""
    spider = SPIDERS[source](base_url=base(source), today=TODAY)
    pending = [(url, spider.parse_listing, {"page": 1}) for url in spider.listing_urls()]
    listings, docs = [], []
    while pending:
        url, callback, kwargs = pending.pop(0)
        if callback == spider.parse_listing:
            listings.append(url)
        for out in callback(response_for(source, url), **kwargs):
            if isinstance(out, Document):
                docs.append(out)
            elif out.callback in (spider.parse_listing, spider.parse_detail):
                pending.append((out.url, out.callback, out.cb_kwargs))
            else:  # the PDF chain of a report: its document without the PDF text
                docs.append(out.cb_kwargs["doc"])
    return listings, docs


PARSED = {source: parse_all(source) for source in SPIDERS}
DOCS = {source: {d.url: d for d in docs} for source, (_, docs) in PARSED.items()}


@pytest.mark.parametrize(
    ("source", "count"),
    [
        ("malmolundregionen", 5),
        ("greater_copenhagen", 3),
        ("malardalsradet", 3),
        ("lunds_kommun", 3),
    ],
)
def test_every_listed_item_becomes_a_document(source, count):
    assert len(DOCS[source]) == count


def test_malmolundregionen_follows_the_next_page_link():
    assert PARSED["malmolundregionen"][0] == [
        f"{base('malmolundregionen')}/nyheter/",
        f"{base('malmolundregionen')}/nyheter/page/2/",
    ]


def test_malmolundregionen_consultation_response():
    doc = DOCS["malmolundregionen"][REMISSVAR]
    assert doc.title == (
        "Remissvar: MalmöLundregionen om förslaget till nationell plan för transportinfrastrukturen"
    )
    assert (doc.doc_type, doc.published, doc.level) == ("report", date(2026, 11, 12), "regional")
    assert doc.summary.startswith("MalmöLundregionens elva kommuner står bakom")
    assert "fyra spår mellan Malmö och Lund" in doc.text
    assert doc.attachments == [
        f"{MLR}/wp-content/uploads/2026/11/remissvar-nationell-plan-2026-2037.pdf"
    ]


def test_malmolundregionen_text_leaves_out_menu_and_footer():
    doc = DOCS["malmolundregionen"][
        f"{MLR}/2026/11/gemensam-kompetensforsorjning-i-sydvastra-skane/"
    ]
    assert "yrkesvux i hela regionen" in doc.text
    assert "Hoppa till innehåll" not in doc.text and "Samhällsplanering" not in doc.text
    assert doc.doc_type == "news" and doc.published == date(2026, 11, 5)


def test_greater_copenhagen_danish_item():
    doc = DOCS["greater_copenhagen"][
        "https://www.greatercph.se/nyheter/graensehinder-for-pendlare-skal-fjernes"
    ]
    assert (
        doc.title == "Greater Copenhagen: Grænsehindringer for pendlere over Øresund skal fjernes"
    )
    assert doc.published == date(2026, 11, 17)
    assert "20.000 personer over Øresund" in doc.text
    assert "Cookies" not in doc.text and "Nyropsgade" not in doc.text
    assert (doc.publisher, doc.level) == ("Greater Copenhagen", "regional")


def test_greater_copenhagen_summary_from_the_listing():
    doc = DOCS["greater_copenhagen"][
        "https://www.greatercph.se/nyheter/ny-analys-pendlingen-over-oresund-okar-igen"
    ]
    assert doc.summary.startswith("Antalet personer som pendlar mellan Skåne och Själland")


@pytest.mark.parametrize(
    ("path", "published"),
    [
        ("/nyheter/pendlarna-maste-prioriteras-i-nya-infrastrukturplanen/", date(2026, 11, 13)),
        ("/nyheter/kompetensforsorjning-i-stockholm-malarregionen-ny-rapport/", date(2026, 11, 2)),
        ("/nyheter/rapport-bostadsbyggande-och-klimat-i-malarregionen/", date(2026, 10, 21)),
    ],
)
def test_malardalsradet_dates_written_with_dots(path, published):
    assert DOCS["malardalsradet"]["https://www.malardalsradet.se" + path].published == published


def test_malardalsradet_text_and_share_links():
    doc = DOCS["malardalsradet"][
        "https://www.malardalsradet.se/nyheter/pendlarna-maste-prioriteras-i-nya-infrastrukturplanen/"
    ]
    assert "dubbelspår på Mälarbanan" in doc.text
    assert "LinkedIn" not in doc.text and "Centralplan" not in doc.text


def test_lunds_kommun_press_release():
    url = (
        "https://lund.se/kommun-och-politik/press-och-informationsmaterial/pressmeddelanden/"
        "byggnadsnamnden-antar-detaljplan-for-600-bostader-pa-brunnshog/"
    )
    doc = DOCS["lunds_kommun"][url]
    assert doc.title == "Byggnadsnämnden antar detaljplan för 600 bostäder på Brunnshög"
    assert (doc.doc_type, doc.published, doc.level) == (
        "press_release",
        date(2026, 11, 18),
        "local",
    )
    assert "En tredjedel av bostäderna ska vara hyresrätter." in doc.text
    assert "Kontaktcenter" not in doc.text


@pytest.mark.parametrize("source", list(SPIDERS))
def test_urls_are_the_publishers_never_the_local_server(source):
    assert all(not url.startswith("http://127.0.0.1") for url in DOCS[source])


def test_a_listing_without_rows_is_a_layout_change():
    spider = LundsKommunSpider(base_url=base("lunds_kommun"))
    response = fixture_response(
        "x.html",
        base("lunds_kommun") + "/x",
        body=b"<html><body><div class='ny-lista'>Nyheter</div></body></html>",
    )
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(spider.parse_listing(response, page=1))


def test_a_listing_page_with_a_stored_row_ends_the_paging(store):
    store.save_document(DOCS["malmolundregionen"][REMISSVAR])
    spider = MalmoLundregionenSpider(base_url=base("malmolundregionen"), store=store)
    out = list(
        spider.parse_listing(response_for("malmolundregionen", spider.listing_urls()[0]), page=1)
    )
    assert [r.callback for r in out] == [spider.parse_detail, spider.parse_detail]
    assert spider.report.unchanged == 1


# -- real crawls against the replay server ------------------------------------------------


@pytest.mark.slow
def test_crawl_reads_the_pdf_of_a_consultation_response_and_pages_once(tmp_path: Path):
    db = f"sqlite:///{tmp_path}/t.sqlite"
    with ReplayServer(FIXTURES) as server:
        first = run_crawl_in_subprocess(
            "malmolundregionen",
            base_url=server.base_url("malmolundregionen"),
            database_url=db,
            timeout=120,
        )
        before = len(server.requested("malmolundregionen"))
        second = run_crawl_in_subprocess(
            "malmolundregionen",
            base_url=server.base_url("malmolundregionen"),
            database_url=db,
            timeout=120,
        )
        again = server.requested("malmolundregionen")[before:]
    assert (first.status, first.new, first.failed) == ("ok", 5, 0)
    assert (second.status, second.new, second.unchanged) == ("ok", 0, 3)
    assert again == ["/malmolundregionen/nyheter/"]
    store = Store.open(db)
    rows = {r.url: r for r in store.documents()}
    store.close()
    assert len(rows) == 5
    text = rows[REMISSVAR].text
    assert "[Bilaga: remissvar-nationell-plan-2026-2037.pdf]" in text
    assert "byggstart tidigareläggs till 2028" in " ".join(text.split())


REGIONAL_AND_LOCAL = {
    "region_skane": "regional",
    "lansstyrelsen_skane": "regional",
    "malmolundregionen": "regional",
    "greater_copenhagen": "regional",
    "malardalsradet": "regional",
    "malmo_stad": "local",
    "lunds_kommun": "local",
}


def test_scrapy_lists_a_spider_for_every_regional_and_local_source():
    from scrapy.settings import Settings
    from scrapy.spiderloader import SpiderLoader

    from omvarld.config.load import load_sources

    loader = SpiderLoader.from_settings(Settings({"SPIDER_MODULES": ["omvarld.crawl.sources"]}))
    sources = {s.id: s for s in load_sources().sources}
    for source_id, level in REGIONAL_AND_LOCAL.items():
        # a declared source is read by its kind's spider: no class of its own
        source = sources[source_id]
        assert source.kind in ("feed", "html_listing") and source.spider in loader.list()
        assert (source.spider, source.level) == (source.kind, level)
        assert (FIXTURES / source_id / "PROVENANCE.md").is_file()


def test_lunds_listing_is_at_its_current_single_hyphen_path():
    """`kommun--politik` paths are years old (shared/SOURCES-EVIDENCE.md)."""
    source = LundsKommunSpider(base_url=base("lunds_kommun")).source
    assert source.listings == [
        "/kommun-och-politik/press-och-informationsmaterial/pressmeddelanden/"
    ]
    assert "--" not in json.dumps(routes("lunds_kommun"))
