"""SKR and the Swedish agencies (`spiders/agencies.py`) on their fixtures.

Every fixture of these sources is WRITTEN (no real response of them is recorded; see each
`tests/fixtures/<source>/PROVENANCE.md` for the real structure it follows and where that was
seen). The spiders are run once per module, offline: each request is answered by the replay
server's own routing (`ReplayServer.answer`, the same answers it serves over HTTP) and the
callbacks are called directly. Field values are asserted per document. Hostile inputs (wrong
encodings, empty pages, HTML where a feed was expected, a 20 MB page, dates in the future or
unparseable) follow; real crawls over HTTP, a redirect loop and the incremental re-crawl are
at the end (subprocess crawls, marked slow).
"""

from __future__ import annotations

import asyncio
import http.server
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, TextResponse

from conftest import FIXTURES
from factories import LOCAL, TODAY, answer, page_response, run_offline, settle, source_spider
from omvarld.core.model import CrawlReport, Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.dates import parse_date, parse_remiss_deadline
from omvarld.crawl.generic import GenericSpider, Row
from omvarld.crawl.replay import ReplayServer, Route
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

ArbetsformedlingenSpider = source_spider("arbetsformedlingen")
BoverketSpider = source_spider("boverket")
MigrationsverketSpider = source_spider("migrationsverket")
NaturvardsverketSpider = source_spider("naturvardsverket")
SkolverketSpider = source_spider("skolverket")
SkrSpider = source_spider("skr")
TrafikverketSpider = source_spider("trafikverket")

SPIDERS: dict[str, type[GenericSpider]] = {
    cls.name: cls
    for cls in (
        SkrSpider,
        ArbetsformedlingenSpider,
        MigrationsverketSpider,
        SkolverketSpider,
        TrafikverketSpider,
        BoverketSpider,
        NaturvardsverketSpider,
    )
}
CHROME = (
    "Vi använder kakor",
    "Jag godkänner",
    "Sök på webbplatsen",
    "Kontakta oss",
    "Tillgänglighetsredogörelse",
)


# -- the offline replay ------------------------------------------------------------------










def spider_for(source: str, **kwargs: Any) -> GenericSpider:
    return SPIDERS[source](base_url=f"{LOCAL}/{source}", today=TODAY, **kwargs)


SERVER = ReplayServer(FIXTURES)
RUNS: dict[str, tuple[GenericSpider, dict[str, Document]]] = {}
for _source in SPIDERS:
    _spider = spider_for(_source)
    RUNS[_source] = (_spider, {d.url: d for d in run_offline(_spider, SERVER)})


def doc(url: str) -> Document:
    host = urlsplit(url).hostname or ""
    source = next(s for s, (sp, _) in RUNS.items() if urlsplit(sp.source.base_url).hostname == host)
    return RUNS[source][1][url]




def fixture_bytes(source: str, name: str) -> bytes:
    return (FIXTURES / source / name).read_bytes()


# -- what each source yields ---------------------------------------------------------------

SKR_ETAB = "https://skr.se/tjanster/press/nyheter/kommunerna-behover-langsiktiga-besked-om-etableringen.84512.html"
SKR_SKOLA = (
    "https://skr.se/tjanster/press/nyheter/statsbidragen-till-skolan-maste-bli-farre.84467.html"
)
SKR_EKONOMI = "https://skr.se/tjanster/press/nyheter/ekonomirapporten-november-2026.84401.html"
AF = "https://arbetsformedlingen.se/om-oss/press/pressmeddelanden/"
AF_ARBETSLOSHET = AF + "2026-11-17-arbetslosheten-minskar-langsamt"
AF_UTSIKTER = AF + "2026-11-10-arbetsmarknadsutsikterna-hosten-2026"
AF_NYANLANDA = AF + "2026-10-20-fler-nyanlanda-far-jobb"
MV = "https://www.migrationsverket.se/Om-Migrationsverket/Pressrum/Nyhetsarkiv/Nyhetsarkiv-2026/"
MV_PROGNOS = MV + "2026-11-18-Ny-prognos-farre-asylsokande-fler-arbetstillstand.html"
MV_ANVISNING = MV + "2026-11-09-Migrationsverket-anvisar-farre-till-kommunerna.html"
SV = "https://www.skolverket.se/om-oss/press/pressmeddelanden/pressmeddelanden/"
SV_KURSPLANER = SV + "2026-11-12-nya-kursplaner-for-grundskolan-borjar-galla-hosten-2028"
SV_SPECIAL = SV + "2026-11-05-statsbidrag-for-fler-speciallarare"
SV_MALMO = SV + "2026-10-28-skolverket-stodjer-skolor-i-malmo"
TV = "https://www.trafikverket.se/om-oss/nyheter/lansnyheter/skane/2026/2026-11/"
TV_AVS = TV + "atgardsvalsstudie-malmo-lund-klar/"
TV_GRANSKNING = TV + "jarnvagsplan-lund-hassleholm-granskning/"
TV_KLIMAT = TV + "klimatkrav-i-byggprojekt-skarps/"
BV_NEWS = "https://www.boverket.se/sv/om-boverket/nyheter-aktuellt/nyheter/"
BV_ENKAT = BV_NEWS + "bostadsmarknadsenkaten-2026/"
BV_KLIMAT = BV_NEWS + "nya-regler-om-klimatdeklaration/"
BV_REMISS = (
    "https://www.boverket.se/sv/om-boverket/remisser/remiss-foreskrifter-om-bostadsutformning/"
)
NV = "https://www.naturvardsverket.se/om-oss/aktuellt/nyheter-och-pressmeddelanden/2026/november/"
NV_UTSLAPP = NV + "utslappen-av-vaxthusgaser-minskade-2025/"
NV_KLIMATKLIVET = NV + "klimatklivet-420-miljoner-skane/"
NV_REMISS = NV + "remiss-andrade-foreskrifter-om-avfall/"

EXPECTED = {
    # url: (doc_type, published, deadline, title)
    SKR_ETAB: ("news", date(2026, 11, 20), None,
               "Kommunerna behöver långsiktiga besked om etableringen av nyanlända"),
    SKR_SKOLA: ("news", date(2026, 11, 17), None,
                "Statsbidragen till skolan måste bli färre och mer långsiktiga"),
    SKR_EKONOMI: ("report", date(2026, 11, 12), None,
                  "Ekonomirapporten, november 2026: Stramt läge för kommunerna 2027"),
    AF_ARBETSLOSHET: ("press_release", date(2026, 11, 17), None,
                      "Arbetslösheten minskar långsamt – utrikes födda fortsatt hårdast drabbade"),
    AF_UTSIKTER: ("report", date(2026, 11, 10), None,
                  "Arbetsmarknadsutsikterna hösten 2026: Stor brist på lärare och undersköterskor"),
    AF_NYANLANDA: ("press_release", date(2026, 10, 20), None,
                   "Fler nyanlända i etableringsprogrammet får jobb inom ett år"),
    MV_PROGNOS: ("report", date(2026, 11, 18), None,
                 "Ny prognos: Färre asylsökande men fler ansökningar om arbetstillstånd"),
    MV_ANVISNING: ("news", date(2026, 11, 9), None, "Färre nyanlända anvisas till kommunerna 2027"),
    SV_KURSPLANER: ("news", date(2026, 11, 12), None,
                    "Nya kursplaner för grundskolan börjar gälla hösten 2028"),
    SV_SPECIAL: ("news", date(2026, 11, 5), None,
                 "Statsbidrag för fler speciallärare – nu kan huvudmännen ansöka"),
    SV_MALMO: ("news", date(2026, 10, 28), None,
               "Skolverket stödjer tolv skolor i Malmö med samverkan för bästa skola"),
    TV_AVS: ("news", date(2026, 11, 19), None,
             "Åtgärdsvalsstudien för Malmö–Lund är klar: fyra spår och ny station i Malmö"),
    TV_GRANSKNING: ("consultation", date(2026, 11, 12), date(2027, 1, 8),
                    "Järnvägsplanen för Lund–Hässleholm ställs ut för granskning"),
    TV_KLIMAT: ("news", date(2026, 11, 4), None,
                "Skärpta klimatkrav i Trafikverkets bygg- och underhållsprojekt från 2027"),
    BV_ENKAT: ("report", date(2026, 11, 17), None,
               "Bostadsmarknadsenkäten 2026: Underskott på bostäder i 160 kommuner"),
    BV_KLIMAT: ("news", date(2026, 11, 6), None,
                "Nya regler om klimatdeklaration med gränsvärden från juli 2027"),
    BV_REMISS: ("remiss", date(2026, 11, 13), date(2027, 1, 15),
                "Remiss: Förslag till ändrade föreskrifter om bostäders utformning"),
    NV_UTSLAPP: ("news", date(2026, 11, 19), None,
                 "Utsläppen av växthusgaser minskade med 3 procent 2025"),
    NV_KLIMATKLIVET: ("news", date(2026, 11, 10), None,
                      "Klimatklivet: 420 miljoner till laddinfrastruktur och biogas i Skåne"),
    NV_REMISS: ("remiss", date(2026, 11, 3), date(2027, 1, 12),
                "Remiss: Förslag till ändrade föreskrifter om hantering av bygg- och "
                "rivningsavfall"),
}
ALL = pytest.mark.parametrize("url", sorted(EXPECTED))


def test_every_source_yields_its_documents_and_nothing_else():
    assert {s: sorted(docs) for s, (_, docs) in RUNS.items()} == {
        s: sorted(
            u
            for u in EXPECTED
            if urlsplit(u).hostname == urlsplit(RUNS[s][0].source.base_url).hostname
        )
        for s in SPIDERS
    }


def test_no_source_reported_a_problem():
    assert {s: sp.report.errors for s, (sp, _) in RUNS.items()} == {s: [] for s in SPIDERS}


@ALL
def test_title(url):
    assert doc(url).title == EXPECTED[url][3]


@ALL
def test_doc_type(url):
    assert doc(url).doc_type == EXPECTED[url][0]


@ALL
def test_published(url):
    assert doc(url).published == EXPECTED[url][1]


@ALL
def test_deadline(url):
    assert doc(url).deadline == EXPECTED[url][2]


@ALL
def test_publisher_level_and_source_come_from_the_config(url):
    d = doc(url)
    source = RUNS[d.source][0].source
    assert (d.publisher, d.level, d.source) == (source.publisher, "national", source.id)


@ALL
def test_main_text_leaves_out_cookie_notice_navigation_and_footer(url):
    text = doc(url).text
    assert len(text) > 300
    assert not [phrase for phrase in CHROME if phrase in text]


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        (SKR_ETAB, "schablonersättningen för mottagandet av nyanlända"),
        (AF_ARBETSLOSHET, "I Malmö var andelen inskrivna arbetslösa 13,1 procent."),
        (MV_ANVISNING, "bosättningslagen"),
        (SV_MALMO, "Rosengård, Fosie och Holma"),
        (TV_AVS, "ny station byggs vid Östervärn"),
        (BV_KLIMAT, "Byggnadsnämnden kontrollerar att deklarationen har lämnats"),
        (NV_KLIMATKLIVET, "laddstationer för tunga lastbilar i Malmö hamn"),
    ],
)
def test_text_is_the_article(url, phrase):
    assert phrase in doc(url).text


@pytest.mark.parametrize(
    ("url", "summary_start"),
    [
        (SKR_SKOLA, "Skolhuvudmännen kan i dag söka ett sjuttiotal riktade statsbidrag."),
        (AF_UTSIKTER, "Arbetsförmedlingens prognos visar att sysselsättningen ökar"),
        (MV_PROGNOS, "Migrationsverket räknar med att omkring 9 000 personer söker asyl"),
        (TV_KLIMAT, "Från 2027 ska klimatutsläppen från Trafikverkets byggprojekt"),
        (NV_UTSLAPP, "Sveriges territoriella utsläpp av växthusgaser minskade med 3 procent"),
    ],
)
def test_summary_is_the_listing_preamble(url, summary_start):
    assert doc(url).summary.startswith(summary_start)


@pytest.mark.parametrize(
    ("url", "attachments"),
    [
        (
            SKR_EKONOMI,
            [
                "https://skr.se/download/18.5a1b2c3d18f/1731400000000/Ekonomirapporten-november-2026.pdf"
            ],
        ),
        (
            TV_AVS,
            [
                "https://www.trafikverket.se/contentassets/4f1a2b3c4d5e4f60a1b2c3d4e5f60718/atgardsvalsstudie-malmo-lund-2026.pdf"
            ],
        ),
        (
            BV_REMISS,
            [
                "https://www.boverket.se/globalassets/remisser/2026/remiss-forslag-bostadsutformning-4521-2026.pdf"
            ],
        ),
        (SKR_ETAB, []),
    ],
)
def test_attachments_are_absolute_on_the_publishers_host(url, attachments):
    assert doc(url).attachments == attachments


@pytest.mark.parametrize(
    ("url", "pdf_phrase"),
    [
        (SKR_EKONOMI, "De generella statsbidragen"),
        (MV_PROGNOS, "Kommuntalen för 2027 omfattar 3 000 anvisade nyanlända."),
        (BV_ENKAT, "Kommunerna bedömer att 36 000 bostäder påbörjas 2027."),
        (BV_REMISS, "Produktionskostnaden för en studentbostad bedöms minska med 5 procent."),
    ],
)
def test_the_pdf_of_a_report_or_remiss_is_read_into_the_text(url, pdf_phrase):
    text = doc(url).text
    assert "[Bilaga: " in text and pdf_phrase in text


def test_the_pdf_of_a_news_item_is_linked_but_not_read():
    assert doc(TV_AVS).attachments and "[Bilaga: " not in doc(TV_AVS).text


def test_paging_follows_the_next_link_to_the_last_page():
    assert AF_NYANLANDA in RUNS["arbetsformedlingen"][1]  # the one row of page 2


def test_an_undated_listing_row_is_dated_from_its_page():
    assert doc(SV_MALMO).published == date(2026, 10, 28)


# -- incremental: stored rows are not fetched and end the paging ---------------------------


def stored_doc(url: str, source: str) -> Document:
    return Document(url=url, source=source, publisher="x", level="national", title="stored")


def test_a_stored_row_is_not_fetched_and_ends_the_paging(store):
    store.save_document(stored_doc(AF_UTSIKTER, "arbetsformedlingen"))
    spider = spider_for("arbetsformedlingen", store=store)
    (listing,) = asyncio.run(_starts(spider))
    out = list(listing.callback(answer(SERVER, listing), **listing.cb_kwargs))
    assert [r.cb_kwargs["row"].url for r in out] == [AF_ARBETSLOSHET]  # no page 2 request
    assert spider.report.unchanged == 1


async def _starts(spider: GenericSpider) -> list[Request]:
    return [r async for r in spider.start()]


# -- a changed page structure fails loudly --------------------------------------------------


def test_a_listing_without_rows_is_a_layout_change_not_no_news():
    spider = spider_for("trafikverket")
    body = b"<html><body><main><div class='ny'><a href='/x'>Ny</a></div></main></body></html>"
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(
            spider.parse_listing(
                page_response("trafikverket", "/om-oss/nyheter/lansnyheter/skane/", body), page=1
            )
        )


def test_an_empty_listing_page_is_a_layout_change():
    spider = spider_for("boverket")
    with pytest.raises(LayoutChanged):
        list(
            spider.parse_listing(
                page_response("boverket", "/sv/om-boverket/remisser/", b""), page=1
            )
        )


def test_an_empty_feed_is_a_layout_change():
    spider = spider_for("migrationsverket")
    with pytest.raises(LayoutChanged):
        list(spider.parse_feed(page_response("migrationsverket", "/rss_en", b""), feed="f", page=1))


def test_an_empty_article_page_is_a_reported_failure():
    spider = spider_for("boverket")
    row = Row(url=BV_KLIMAT, title="t")
    assert list(spider.parse_detail(page_response("boverket", "/x/", b""), row=row)) == []
    assert spider.report.failed == 1 and spider.report.errors[0].startswith(
        f"{BV_KLIMAT}: an empty page"
    )


def test_html_where_the_feed_was_expected_is_a_layout_change():
    spider = spider_for("naturvardsverket")
    body = fixture_bytes("trafikverket", "listing_lansnyheter_skane_written.html")
    with pytest.raises(LayoutChanged, match="not an RSS/Atom feed"):
        list(
            spider.parse_feed(
                page_response(
                    "naturvardsverket", "/rss/nyheter/", body, "text/html; charset=utf-8"
                ),
                feed="f",
                page=1,
            )
        )


# -- encodings ------------------------------------------------------------------------------


def article_as(source: str, name: str, body: bytes, content_type: str, row: Row) -> list[Document]:
    spider = spider_for(source)
    response = page_response(source, "/a.html", body, content_type)
    return [d for d in spider.parse_detail(response, row=row) if isinstance(d, Document)]


def test_a_latin1_page_that_says_so_is_read_correctly():
    html = fixture_bytes(
        "migrationsverket",
        "nyhet_2026-11-09-Migrationsverket-anvisar-farre-till-kommunerna_written.html",
    )
    body = html.decode("utf-8").replace('charset="utf-8"', 'charset="iso-8859-1"').encode("latin-1")
    (d,) = article_as(
        "migrationsverket", "", body, "text/html; charset=iso-8859-1", Row(url=MV_ANVISNING)
    )
    assert d.title == "Färre nyanlända anvisas till kommunerna 2027"
    assert "Länsstyrelserna fördelar därefter" in d.text


def test_a_latin1_page_that_claims_utf8_still_becomes_a_document():
    html = fixture_bytes(
        "migrationsverket",
        "nyhet_2026-11-09-Migrationsverket-anvisar-farre-till-kommunerna_written.html",
    )
    body = html.decode("utf-8").encode("latin-1")
    (d,) = article_as(
        "migrationsverket", "", body, "text/html; charset=utf-8", Row(url=MV_ANVISNING, title="t")
    )
    assert d.url == MV_ANVISNING and "anvisas till kommunerna 2027" in d.title  # ä, å mangled


# -- a 20 MB page -----------------------------------------------------------------------------


def test_a_20_mb_listing_page_still_gives_its_rows():
    listing = fixture_bytes("trafikverket", "listing_lansnyheter_skane_written.html")
    padding = b"<div class='ad'>" + b"x" * 1000 + b"</div>\n"
    body = listing.replace(b"</main>", padding * 20_000 + b"</main>")
    assert len(body) > 20_000_000
    spider = spider_for("trafikverket")
    out = list(
        spider.parse_listing(
            page_response("trafikverket", "/om-oss/nyheter/lansnyheter/skane/", body), page=1
        )
    )
    assert [r.cb_kwargs["row"].url for r in out] == [TV_AVS, TV_GRANSKNING, TV_KLIMAT]


# -- dates -----------------------------------------------------------------------------------


def test_a_publication_date_in_the_future_is_dropped_and_reported():
    spider = spider_for("migrationsverket")
    feed = fixture_bytes("migrationsverket", "rss_en_written.xml").replace(
        b"<pubDate>Wed, 18 Nov 2026", b"<pubDate>Fri, 18 Nov 2062"
    )
    assert b"2062" in feed
    response = page_response("migrationsverket", "/rss_en", feed)
    requests = spider.parse_feed(response, feed="f", page=1)
    docs = {d.url: d for d in settle(list(requests), SERVER)}
    assert docs[MV_PROGNOS].published is None
    assert docs[MV_ANVISNING].published == date(2026, 11, 9)
    assert any("2062-11-18 is in the future" in e for e in spider.report.errors)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Publicerad: 2026-10-28", date(2026, 10, 28)),
        ("Pressmeddelande, 17 november 2026", date(2026, 11, 17)),
        ("Publicerad 19 november 2026", date(2026, 11, 19)),
        ("Publicerad: den trettonde i elfte", None),
        ("2026-13-45", None),
        ("", None),
    ],
)
def test_dates_in_listing_and_page_texts(value, expected):
    assert parse_date(value, ("sv",)) == expected


def test_an_unparseable_listing_date_leaves_the_date_to_the_page():
    spider = spider_for("skolverket")
    listing = fixture_bytes("skolverket", "listing_nyheter-2026_written.html").replace(
        b'<p class="news-date">2026-11-12</p>', '<p class="news-date">igår</p>'.encode()
    )
    rows = [
        r.cb_kwargs["row"]
        for r in spider.parse_listing(page_response("skolverket", "/n/", listing), page=1)
    ]
    assert rows[0].url == SV_KURSPLANER and rows[0].published is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Svar senast 15 januari 2027. Svaren lämnas via e-post.", date(2027, 1, 15)),
        (
            "Synpunkter på granskningshandlingarna ska ha kommit in till Trafikverket senast "
            "den 8 januari 2027.",
            date(2027, 1, 8),
        ),
        ("Sista dag att lämna synpunkter är den 12 januari 2027.", date(2027, 1, 12)),
        # an application deadline or a report deadline is no remiss deadline
        ("Boverket ska redovisa uppdraget senast den 18 juni 2026.", None),
        (
            "Promemorian publicerades den 3 mars 2026. Remissvaren ska ha kommit in senast "
            "den 10 maj 2026.",
            date(2026, 5, 10),
        ),
    ],
)
def test_remiss_deadlines_as_the_agencies_write_them(text, expected):
    assert parse_remiss_deadline(text) == expected


@pytest.mark.parametrize(
    ("title", "url", "expected"),
    [
        ("Remiss: Förslag till ändrade föreskrifter", "https://x/a/", "remiss"),
        ("Förslag till föreskrifter", "https://x/sv/om-boverket/remisser/f/", "remiss"),
        ("SKR:s remissvar om kommunutredningen", "https://x/a/", "news"),
        ("Järnvägsplanen ställs ut för granskning", "https://x/a/", "consultation"),
        ("Ny prognos: färre asylsökande", "https://x/a/", "report"),
        ("Arbetslösheten minskar", "https://x/a/", "news"),
    ],
)
def test_document_type_from_title_and_path(title, url, expected):
    assert spider_for("skr").row_doc_type(Row(url=url, title=title)) == expected


def test_every_agency_is_declared_national_and_enabled():
    """Each agency is one entry of a declared kind: no class of its own. Migrationsverket's
    entry point is its English feed (the Swedish listing path is years old)."""
    for cls in SPIDERS.values():
        source = cls(base_url=LOCAL).source
        language = "en" if source.id == "migrationsverket" else "sv"
        assert (source.level, source.language, source.enabled) == ("national", language, True)
        assert source.kind in ("feed", "html_listing") and source.spider == source.kind


# -- real crawls over HTTP (subprocess) -----------------------------------------------------


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder}/t.sqlite"


def crawl_all(server: ReplayServer, folder: Path) -> dict[str, CrawlReport]:
    """Every source crawled in its own process, three at a time, into one store (SQLite
    takes the writers in turn)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            source: pool.submit(
                run_crawl_in_subprocess,
                source,
                base_url=server.base_url(source),
                database_url=db_url(folder),
                timeout=180,
            )
            for source in SPIDERS
        }
        return {source: future.result() for source, future in futures.items()}


@pytest.mark.slow
def test_crawl_and_recrawl_of_every_agency_over_http(tmp_path):
    """First crawl stores every document; the second makes one request per listing or
    feed and none for stored documents."""
    with ReplayServer(FIXTURES) as server:
        firsts = crawl_all(server, tmp_path)
        assert {s: (r.status, r.failed, r.errors) for s, r in firsts.items()} == {
            s: ("ok", 0, []) for s in SPIDERS
        }
        first = len(server.requested())
        seconds = crawl_all(server, tmp_path)
        assert {s: (r.status, r.new) for s, r in seconds.items()} == {s: ("ok", 0) for s in SPIDERS}
        second = [p for p in server.requested()[first:] if not p.endswith("/robots.txt")]
    store = Store.open(db_url(tmp_path))
    try:
        stored = {d.url: d for d in store.documents()}
    finally:
        store.close()
    assert set(EXPECTED) <= set(stored)
    assert stored[BV_REMISS].deadline == date(2027, 1, 15) and stored[BV_REMISS].language == "sv"
    listings = {
        "/skr/skr/tjanster/rss.rss.html",
        "/arbetsformedlingen/om-oss/press/pressmeddelanden?pageIndex=1&year=0&uniqueIdentifier=Riket",
        "/migrationsverket/rss_en",
        "/skolverket/om-oss/press/pressmeddelanden/pressmeddelanden",
        "/trafikverket/om-oss/nyheter/lansnyheter/skane/",
        "/boverket/sv/om-boverket/nyheter-aktuellt/nyheter/",
        "/boverket/sv/om-boverket/remisser/",
        "/naturvardsverket/rss/nyheter/",
    }
    assert sorted(second) == sorted(listings)


class _RedirectLoop(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.endswith("/robots.txt"):
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(302)
        self.send_header("Location", self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def redirect_loop() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RedirectLoop)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.slow
def test_a_redirect_loop_is_a_failed_crawl_with_its_reason(redirect_loop, tmp_path):
    report = run_crawl_in_subprocess(
        "skr", base_url=redirect_loop, database_url=db_url(tmp_path), timeout=120
    )
    assert report.status == "failed"
    assert any("redirect" in e.lower() for e in report.errors), report.errors


@pytest.mark.slow
def test_a_corrupt_pdf_is_recorded_and_the_document_kept(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "boverket",
            Route(
                path="/globalassets/remisser/2026/remiss-forslag-bostadsutformning-4521-2026.pdf",
                body=b"%PDF-1.4\n garbage, not a PDF body",
                content_type="application/pdf",
            ),
        )
        report = run_crawl_in_subprocess(
            "boverket",
            base_url=server.base_url("boverket"),
            database_url=db_url(tmp_path),
            timeout=120,
        )
    # kept, but the crawl lost the attachment's text: partial, not ok
    assert report.status == "partial" and report.new == 3 and report.failed == 1
    assert "corrupt PDF" in report.errors[0]
    store = Store.open(db_url(tmp_path))
    try:
        remiss = next(d for d in store.documents() if d.url == BV_REMISS)
    finally:
        store.close()
    assert remiss.deadline == date(2027, 1, 15) and "[Bilaga: " not in remiss.text


def test_html_response_class_for_the_fixtures():
    assert isinstance(
        answer(SERVER, Request(f"{LOCAL}/trafikverket/om-oss/nyheter/lansnyheter/skane/")),
        HtmlResponse,
    )
    assert isinstance(
        answer(SERVER, Request(f"{LOCAL}/naturvardsverket/rss/nyheter/")), TextResponse
    )


def test_a_crawl_in_which_nothing_was_answered_nor_failed_is_failed():
    """What a redirect loop leaves (Scrapy drops the looping request as a duplicate)."""
    spider = spider_for("skr")
    report = spider.final_report("finished")
    assert report.status == "failed"
    assert report.errors[0].startswith("skr: no page of http://127.0.0.1:9/skr was answered")


def test_a_crawl_with_answered_pages_stays_ok():
    spider = spider_for("skr")
    spider.responses_ok = 2
    assert spider.final_report("finished").status == "ok"


# -- entry points the evidence corrected (shared/SOURCES-EVIDENCE.md) -------------------------

CORRECTED_ENTRY_POINTS = {
    # source: (kind, entry point now, the years-old path it replaced)
    "skr": ("feed", "/skr/tjanster/rss.rss.html", "/tjanster/press/nyheter.7885.html"),
    "migrationsverket": ("feed", "/rss_en", "/Om-Migrationsverket/Pressrum/Nyhetsarkiv.html"),
    "skolverket": (
        "html_listing",
        "/om-oss/press/pressmeddelanden/pressmeddelanden",
        "/skolutveckling/nyhetsarkiv/nyheter-2026/",
    ),
}


@pytest.mark.parametrize("source_id", sorted(CORRECTED_ENTRY_POINTS))
def test_stale_listing_paths_are_replaced_by_the_current_entry_points(source_id):
    kind, now, old = CORRECTED_ENTRY_POINTS[source_id]
    source = spider_for(source_id).source
    entry_points = source.feeds if kind == "feed" else source.listings
    assert (source.kind, entry_points) == (kind, [now])
    routes = json.loads((FIXTURES / source_id / "routes.json").read_text(encoding="utf-8"))
    served = {r["path"] for r in routes["routes"]}
    assert now in served and old not in served
    assert RUNS[source_id][1], f"{source_id}: nothing read from {now}"
