"""The Danish ministries (`spiders/dk_ministries.py`) on their fixtures.

Every fixture of these sources is WRITTEN (no real response is recorded; see
`tests/fixtures/dk_*/PROVENANCE.md` for the real structure each follows and where it was
seen: Via Ritzau's release pages and feed address, uim.dk's and trm.dk's stored news pages,
the KEFM feed address in public code). The spiders run once per module, offline, against the
replay server's own answers (`run_offline` from the agencies' tests); field values are
asserted per document. A crawl and re-crawl over HTTP is at the end (slow).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import FIXTURES
from factories import TODAY, answer, page_response, run_offline, source_spider
from omvarld.core.model import Document
from omvarld.crawl.base import LayoutChanged
from omvarld.crawl.dates import parse_date, parse_remiss_deadline
from omvarld.crawl.generic import GenericSpider, Row
from omvarld.crawl.replay import ReplayServer
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

BeskaeftigelsesministerietSpider = source_spider("dk_bm")
KlimaEnergiForsyningsministerietSpider = source_spider("dk_kefm")
TransportministerietSpider = source_spider("dk_trm")
UdlaendingeIntegrationsministerietSpider = source_spider("dk_uim")

LOCAL = "http://127.0.0.1:9"
SPIDERS: dict[str, type[GenericSpider]] = {
    cls.name: cls
    for cls in (
        BeskaeftigelsesministerietSpider,
        UdlaendingeIntegrationsministerietSpider,
        TransportministerietSpider,
        KlimaEnergiForsyningsministerietSpider,
    )
}
CHROME = ("Vi bruger cookies", "Accepter", "Søg på siden", "Kontakt os", "Tilgængelighedserklæring")

SERVER = ReplayServer(FIXTURES)
RUNS: dict[str, tuple[GenericSpider, dict[str, Document]]] = {}
for _source, _cls in SPIDERS.items():
    _spider = _cls(base_url=f"{LOCAL}/{_source}", today=TODAY)
    RUNS[_source] = (_spider, {d.url: d for d in run_offline(_spider, SERVER)})
DOCS: dict[str, Document] = {url: d for _, docs in RUNS.values() for url, d in docs.items()}

RITZAU = "https://via.ritzau.dk/pressemeddelelse/"
BM_SENIOR = RITZAU + "14123456/ny-aftale-skal-fa-flere-seniorer-i-job?publisherId=90520"
BM_LEDIGHED = (
    RITZAU + "14118790/beskaeftigelsesministerens-kommentar-til-ledighedstallet-for-oktober-2026"
    "?publisherId=90520"
)
BM_FLYGTNINGE = RITZAU + "14110021/flere-flygtninge-i-arbejde?publisherId=90520"
UIM = "https://uim.dk/nyhedsarkiv/2026/"
UIM_FAMILIE = UIM + "november/nye-regler-for-familiesammenfoering-traeder-i-kraft/"
UIM_KVINDER = UIM + "november/flere-kvinder-med-ikke-vestlig-baggrund-i-beskaeftigelse/"
UIM_HOERING = UIM + "oktober/udkast-til-lovforslag-om-danskuddannelse-i-hoering/"
TRM = "https://www.trm.dk/nyheder/2026/"
TRM_OERESUND = TRM + "forundersoegelse-af-fast-forbindelse-helsingoer-helsingborg/"
TRM_BUS = TRM + "to-milliarder-til-groen-bustrafik/"
KEFM = "https://www.kefm.dk/aktuelt/nyheder/2026/nov/"
KEFM_STATUS = KEFM + "klimastatus-og-fremskrivning-2026"
KEFM_FJERNVARME = KEFM + "aftale-om-udbygning-af-fjernvarme"

EXPECTED = {
    # url: (source, doc_type, published, deadline, title)
    BM_SENIOR: ("dk_bm", "press_release", date(2026, 11, 19), None,
                "Ny aftale skal få flere ledige seniorer i job"),
    BM_LEDIGHED: ("dk_bm", "press_release", date(2026, 11, 13), None,
                  "Beskæftigelsesministerens kommentar til ledighedstallet for oktober 2026"),
    BM_FLYGTNINGE: ("dk_bm", "press_release", date(2026, 11, 5), None,
                    "Flere flygtninge og familiesammenførte er kommet i arbejde"),
    UIM_FAMILIE: ("dk_uim", "news", date(2026, 11, 18), None,
                  "Nye regler for ægtefællesammenføring træder i kraft 1. januar 2027"),
    UIM_KVINDER: ("dk_uim", "news", date(2026, 11, 10), None,
                  "Flere kvinder med ikke-vestlig baggrund er i beskæftigelse"),
    UIM_HOERING: ("dk_uim", "consultation", date(2026, 10, 29), date(2026, 11, 27),
                  "Udkast til lovforslag om danskuddannelse sendt i høring"),
    TRM_OERESUND: ("dk_trm", "news", date(2026, 11, 20), None,
                   "Forundersøgelsen af en fast forbindelse mellem Helsingør og Helsingborg "
                   "fortsætter"),
    TRM_BUS: ("dk_trm", "news", date(2026, 11, 13), None,
              "Regeringen afsætter to milliarder kroner til grøn omstilling af bustrafikken"),
    KEFM_STATUS: ("dk_kefm", "report", date(2026, 11, 16), None,
                  "Klimastatus og -fremskrivning 2026: Danmark er tæt på 70-procentsmålet"),
    KEFM_FJERNVARME: ("dk_kefm", "news", date(2026, 11, 9), None,
                      "Aftale om udbygning af fjernvarmen i 40 kommuner"),
}  # fmt: skip
ALL = pytest.mark.parametrize("url", sorted(EXPECTED))


def test_every_ministry_yields_its_documents_and_nothing_else():
    assert {s: sorted(docs) for s, (_, docs) in RUNS.items()} == {
        s: sorted(u for u, e in EXPECTED.items() if e[0] == s) for s in SPIDERS
    }


def test_no_ministry_reported_a_problem():
    assert {s: sp.report.errors for s, (sp, _) in RUNS.items()} == {s: [] for s in SPIDERS}


@ALL
def test_source_and_publisher(url):
    d = DOCS[url]
    source = RUNS[d.source][0].source
    assert (d.source, d.publisher, d.level) == (EXPECTED[url][0], source.publisher, "national")


def test_bm_documents_are_the_ministrys_although_they_live_on_via_ritzau():
    assert DOCS[BM_SENIOR].publisher == "Beskæftigelsesministeriet"
    assert urlsplit(BM_SENIOR).hostname == "via.ritzau.dk"


@ALL
def test_doc_type(url):
    assert DOCS[url].doc_type == EXPECTED[url][1]


@ALL
def test_published(url):
    assert DOCS[url].published == EXPECTED[url][2]


@ALL
def test_deadline(url):
    assert DOCS[url].deadline == EXPECTED[url][3]


@ALL
def test_title(url):
    assert DOCS[url].title == EXPECTED[url][4]


@ALL
def test_main_text_leaves_out_cookie_notice_navigation_and_footer(url):
    text = DOCS[url].text
    assert len(text) > 300
    assert not [phrase for phrase in CHROME if phrase in text]


def test_via_ritzaus_publisher_box_stays_out_of_the_text():
    assert "Følg pressemeddelelser" not in DOCS[BM_SENIOR].text


@pytest.mark.parametrize(
    ("url", "phrase"),
    [
        (BM_SENIOR, "ret til seks ugers jobrettet uddannelse"),
        (BM_FLYGTNINGE, "58 procent af de flygtninge og familiesammenførte"),
        (UIM_FAMILIE, "selvforsørgende i fem år"),
        (UIM_HOERING, "Høringsfristen er den 27. november 2026."),
        (TRM_OERESUND, "aflaste Øresundsbroen"),
        (TRM_BUS, "Movia, Midttrafik, FynBus"),
        (KEFM_FJERNVARME, "tilslutte boligområder, der i dag opvarmes med gas"),
    ],
)
def test_text_is_the_article(url, phrase):
    assert phrase in DOCS[url].text


@pytest.mark.parametrize(
    ("url", "summary_start"),
    [
        (BM_LEDIGHED, "I oktober 2026 var der 84.200 ledige."),
        (UIM_KVINDER, "Beskæftigelsesfrekvensen for kvinder med ikke-vestlig baggrund"),
        (TRM_BUS, "Med en ny pulje på to milliarder kroner"),
        (KEFM_STATUS, "Den nye klimafremskrivning viser"),
    ],
)
def test_summary_from_the_feed_or_listing(url, summary_start):
    assert DOCS[url].summary.startswith(summary_start)


def test_attachments():
    assert DOCS[TRM_OERESUND].attachments == [
        "https://www.trm.dk/media/12345/kommissorium-forundersoegelse-helsingoer-helsingborg.pdf"
    ]
    assert DOCS[TRM_BUS].attachments == [] and DOCS[BM_SENIOR].attachments == []


def test_the_news_lists_date_is_taken_from_the_article_when_the_row_has_none():
    assert DOCS[TRM_OERESUND].published == date(2026, 11, 20)  # "20. november 2026"


# -- Danish dates, deadlines and types ---------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20. november 2026", date(2026, 11, 20)),
        ("3. marts 2025", date(2025, 3, 3)),
        ("18-11-2026", date(2026, 11, 18)),
        ("19.11.2026 10:00:00 CET", date(2026, 11, 19)),
        ("Thu, 19 Nov 2026 10:00:00 +0100", date(2026, 11, 19)),
        ("november 2026", None),
        ("i forgårs", None),
    ],
)
def test_danish_dates(value, expected):
    assert parse_date(value, ("da", "en")) == expected  # English: RFC 822 day and month names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Høringsfristen er den 27. november 2026. Høringssvar sendes til ministeriet.",
         date(2026, 11, 27)),
        ("Fristen for høringssvar er 4. januar 2027.", date(2027, 1, 4)),
        ("Loven træder i kraft den 1. juli 2027.", None),
    ],
)  # fmt: skip
def test_danish_consultation_deadlines(text, expected):
    assert parse_remiss_deadline(text) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Udkast til bekendtgørelse sendt i høring", "consultation"),
        ("Ny analyse af pendling over Øresund", "report"),
        ("Klimastatus og -fremskrivning 2026", "report"),
        ("Minister besøger Malmö", "news"),
    ],
)
def test_document_type_from_danish_titles(title, expected):
    spider = UdlaendingeIntegrationsministerietSpider(base_url=LOCAL)
    assert spider.row_doc_type(Row(url="https://uim.dk/x/", title=title)) == expected


# -- hostile inputs ---------------------------------------------------------------------------


def test_a_future_date_in_the_listing_is_dropped_and_reported():
    spider = UdlaendingeIntegrationsministerietSpider(base_url=f"{LOCAL}/dk_uim", today=TODAY)
    listing = (FIXTURES / "dk_uim/listing_nyhedsarkiv_written.html").read_bytes()
    listing = listing.replace(b">18-11-2026<", b">18-11-2062<")
    requests = list(spider.parse_listing(page_response("dk_uim", "/nyhedsarkiv/", listing), page=1))
    first = requests[0]
    (doc,) = first.callback(
        page_response(
            "dk_uim",
            "/nyhedsarkiv/2026/november/nye-regler-for-familiesammenfoering-traeder-i-kraft/",
            (
                FIXTURES
                / "dk_uim/nyhed_nye-regler-for-familiesammenfoering-traeder-i-kraft_written.html"
            ).read_bytes(),
        ),
        **first.cb_kwargs,
    )
    assert doc.url == UIM_FAMILIE and doc.published is None
    assert spider.report.errors == [
        f"{UIM_FAMILIE}: publication date 2062-11-18 is in the future; stored without a date"
    ]


def test_a_changed_news_list_is_a_layout_change():
    spider = TransportministerietSpider(base_url=f"{LOCAL}/dk_trm", today=TODAY)
    body = (
        "<html><body><main><h1>Nyheder</h1><section class='cards'></section></main></body></html>"
    )
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(spider.parse_listing(page_response("dk_trm", "/nyheder/", body.encode()), page=1))


def test_transportministeriet_static_news_page_holds_no_rows_only_the_form_token():
    """The defect the evidence showed: /nyheder/ is filled by a POST; read as a plain
    listing it has no rows at all."""
    static = (FIXTURES / "dk_trm" / "listing_nyheder_written.html").read_text(encoding="utf-8")
    assert "card__list" not in static and "__RequestVerificationToken" in static
    spider = TransportministerietSpider(base_url=f"{LOCAL}/dk_trm", today=TODAY)
    with pytest.raises(LayoutChanged, match="structure changed"):
        list(spider.parse_listing(page_response("dk_trm", "/nyheder/", static.encode()), page=1))


def test_transportministeriet_rows_come_from_the_post_with_the_pages_token():
    spider = TransportministerietSpider(base_url=f"{LOCAL}/dk_trm", today=TODAY)
    static = (FIXTURES / "dk_trm" / "listing_nyheder_written.html").read_bytes()
    (post,) = spider.parse_listing_page(page_response("dk_trm", "/nyheder/", static), page=1)
    assert post.method == "POST"
    assert post.url == f"{LOCAL}/dk_trm/surface/FilterListe/GetFilterlisteContent"
    assert b"__RequestVerificationToken=CfDJ8constructed-token-0001" in post.body
    rows = [r.cb_kwargs["row"] for r in post.callback(answer(SERVER, post), **post.cb_kwargs)]
    assert [(r.url, r.published) for r in rows] == [
        (TRM_OERESUND, date(2026, 11, 20)),  # ".label span": "20. nov. 2026"
        (TRM_BUS, date(2026, 11, 13)),
    ]


def test_transportministeriet_without_a_form_token_is_a_layout_change():
    spider = TransportministerietSpider(base_url=f"{LOCAL}/dk_trm", today=TODAY)
    body = b"<html><body><main><h1>Nyheder</h1></main></body></html>"
    with pytest.raises(LayoutChanged, match="no form token"):
        list(spider.parse_listing_page(page_response("dk_trm", "/nyheder/", body), page=1))


def test_a_feed_answering_an_html_error_page_is_a_layout_change():
    spider = KlimaEnergiForsyningsministerietSpider(base_url=f"{LOCAL}/dk_kefm", today=TODAY)
    body = b"<!DOCTYPE html><html><body><h1>Siden findes ikke</h1></body></html>"
    response = page_response("dk_kefm", "/handlers/DynamicRss.ashx", body, "text/html")
    with pytest.raises(LayoutChanged, match="not an RSS/Atom feed"):
        list(spider.parse_feed(response, feed="f", page=1))


def test_every_ministry_is_configured_national_danish_and_enabled():
    for cls in SPIDERS.values():
        source = cls(base_url=LOCAL).source
        assert (source.level, source.language, source.enabled) == ("national", "da", True)
        assert source.kind in ("feed", "html_listing") and source.spider == source.kind


# -- real crawls over HTTP (subprocess) -----------------------------------------------------


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder}/t.sqlite"


def crawl_all(server: ReplayServer, folder: Path) -> dict:
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {
            s: pool.submit(
                run_crawl_in_subprocess,
                s,
                base_url=server.base_url(s),
                database_url=db_url(folder),
                timeout=180,
            )
            for s in SPIDERS
        }
        return {s: f.result() for s, f in futures.items()}


@pytest.mark.slow
def test_crawl_and_recrawl_of_every_ministry_over_http(tmp_path):
    with ReplayServer(FIXTURES) as server:
        firsts = crawl_all(server, tmp_path)
        assert {s: (r.status, r.new, r.errors) for s, r in firsts.items()} == {
            "dk_bm": ("ok", 3, []),
            "dk_uim": ("ok", 3, []),
            "dk_trm": ("ok", 2, []),
            "dk_kefm": ("ok", 2, []),
        }
        first = len(server.requested())
        seconds = crawl_all(server, tmp_path)
        second = [p for p in server.requested()[first:] if not p.endswith("/robots.txt")]
    assert {s: (r.status, r.new, r.unchanged) for s, r in seconds.items()} == {
        "dk_bm": ("ok", 0, 3),
        "dk_uim": ("ok", 0, 3),
        "dk_trm": ("ok", 0, 2),
        "dk_kefm": ("ok", 0, 2),
    }
    assert sorted(second) == sorted(
        [
            "/dk_bm/rss/releases/latest?publisherId=90520",
            "/dk_uim/nyhedsarkiv/",
            # the listing page (its form token), then the POST that answers the rows
            "/dk_trm/nyheder/",
            "/dk_trm/surface/FilterListe/GetFilterlisteContent",
            "/dk_kefm/handlers/DynamicRss.ashx?id=76163fac-6c0a-4edb-8e6e-86a4dcf36bd4",
        ]
    )
    store = Store.open(db_url(tmp_path))
    try:
        stored = {d.url: d for d in store.documents()}
    finally:
        store.close()
    assert set(EXPECTED) <= set(stored)
    assert {stored[u].language for u in EXPECTED} == {"da"}
    assert stored[UIM_HOERING].deadline == date(2026, 11, 27)
