"""Hostile answers, against the real replay server: a crawl survives them, stores what is
good, and reports the rest by URL and reason.

Each scenario is a route added to the replay server in front of the recorded ones
(`ReplayServer.add_route`): a page in Latin-1 declared UTF-8 and one in UTF-8 declared
Latin-1, a 20 MB page, a redirect loop, a PDF larger than the limit, a page that answers 503
twice before it works (retries with back-off), an empty listing. The fixtures underneath are
the WRITTEN MalmöLundregionen and Greater Copenhagen ones (see their PROVENANCE.md).

Decisions these tests pin down:
- a wrong charset is repaired (the bytes decide, not the label), never stored as mojibake;
- a body over DOWNLOAD_MAXSIZE (10 MiB) is refused while downloading and reported;
- a redirect loop is a reported failure as soon as it closes (longer chains end after
  REDIRECT_MAX_TIMES, 5);
- a publication date in the future is dropped (stored without a date) and reported; an
  unparseable one is no date, and the page's own date is used where it has one;
- an empty listing means the source is broken (failed), never "no news";
- retries wait 2^n × OMVARLD_RETRY_BACKOFF seconds.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from conftest import FIXTURES, fixture_response
from factories import source_spider
from omvarld.crawl.generic import repair_encoding
from omvarld.crawl.middlewares import backoff_delay
from omvarld.crawl.replay import ReplayServer, Route
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

LundsKommunSpider = source_spider("lunds_kommun")

MLR = "https://www.malmolundregionen.se"
POST_912 = "/2026/11/remissvar-nationell-plan-for-transportinfrastrukturen/"
POST_905 = "/2026/11/gemensam-kompetensforsorjning-i-sydvastra-skane/"
POST_899 = "/2026/10/klimatanpassning-over-kommungranserna/"
POST_880 = "/2026/10/styrelsemote-oktober/"
POST_871 = "/2026/09/ny-samordnare-for-naringslivsfragor/"
PDF = "/wp-content/uploads/2026/11/remissvar-nationell-plan-2026-2037.pdf"
BACKOFF = 0.4
HOP_A = "/malmolundregionen/hop-a/"
HOP_B = "/malmolundregionen/hop-b/"


def hostile_routes() -> list[Route]:
    html_utf8 = "text/html; charset=utf-8"
    return [
        Route(
            POST_912,
            file="post_912_written.html",
            content_type=html_utf8,
            encoding="cp1252",
            note="Latin-1 bytes declared UTF-8",
        ),
        Route(
            POST_905,
            file="post_905_written.html",
            content_type="text/html; charset=iso-8859-1",
            note="UTF-8 bytes declared Latin-1",
        ),
        Route(POST_899, size=20_000_000, content_type=html_utf8, note="a 20 MB page"),
        Route(POST_880, status=302, headers={"Location": "/malmolundregionen/hop-a/"}),
        Route("/hop-a/", status=302, headers={"Location": "/malmolundregionen/hop-b/"}),
        Route("/hop-b/", status=302, headers={"Location": "/malmolundregionen/hop-a/"}),
        Route(
            POST_871,
            file="post_871_written.html",
            content_type=html_utf8,
            fail_first=2,
            note="503 twice, then the page",
        ),
        Route(PDF, size=20_000_000, content_type="application/pdf", note="a 20 MB PDF"),
    ]


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory):
    """One crawl of malmolundregionen through every hostile route; the report, the stored
    documents and when each path was requested."""
    folder: Path = tmp_path_factory.mktemp("hostile")
    db = f"sqlite:///{folder}/t.sqlite"
    mp = pytest.MonkeyPatch()
    mp.setenv("OMVARLD_RETRY_BACKOFF", str(BACKOFF))
    try:
        with ReplayServer(FIXTURES) as server:
            for route in hostile_routes():
                server.add_route("malmolundregionen", route)
            report = run_crawl_in_subprocess(
                "malmolundregionen",
                base_url=server.base_url("malmolundregionen"),
                database_url=db,
                timeout=180,
            )
            times = list(server.requested_at)
    finally:
        mp.undo()
    store = Store.open(db)
    docs = {row.url: row for row in store.documents()}
    store.close()
    return report, docs, times


def errors_for(report, path: str) -> list[str]:
    """Errors about `path`: public URLs for what was parsed, the fetched (replay) URL for
    requests that never got an answer."""
    return [e for e in report.errors if e.split(": ", 1)[0].endswith(path)]


@pytest.mark.slow
def test_the_crawl_goes_on_and_stores_what_is_good(hostile_crawl):
    report, docs, _ = hostile_crawl
    assert report.status == "partial"  # the good is stored; the refused pages are losses
    assert set(docs) == {MLR + POST_912, MLR + POST_905, MLR + POST_871}
    assert report.new == 3


@pytest.mark.slow
def test_latin1_declared_utf8_is_read_as_latin1(hostile_crawl):
    _, docs, _ = hostile_crawl
    doc = docs[MLR + POST_912]
    assert "Kommunerna i MalmöLundregionen välkomnar att fyra spår" in doc.text
    assert "\ufffd" not in doc.text + doc.title


@pytest.mark.slow
def test_utf8_declared_latin1_is_read_as_utf8(hostile_crawl):
    _, docs, _ = hostile_crawl
    doc = docs[MLR + POST_905]
    assert doc.title == "Gemensam satsning på kompetensförsörjning i sydvästra Skåne"
    assert "Ã" not in doc.text


@pytest.mark.slow
def test_a_20_mb_page_is_refused_and_reported(hostile_crawl):
    report, docs, _ = hostile_crawl
    assert MLR + POST_899 not in docs
    (error,) = errors_for(report, POST_899)
    assert "larger than download max size" in error


@pytest.mark.slow
def test_a_redirect_loop_ends_as_a_reported_failure(hostile_crawl):
    report, docs, times = hostile_crawl
    assert MLR + POST_880 not in docs
    (error,) = [e for e in report.errors if "redirect loop" in e]
    chain = error.split("redirect loop: ", 1)[1].split(" → ")
    assert [url.split("/malmolundregionen", 1)[1] for url in chain] == [
        POST_880,
        "/hop-a/",
        "/hop-b/",
        "/hop-a/",
    ]
    # the loop is seen when it closes: each URL fetched once, not REDIRECT_MAX_TIMES times
    assert [
        p
        for _, p in times
        if p.startswith(("/malmolundregionen/hop", f"/malmolundregionen{POST_880}"))
    ] == [f"/malmolundregionen{POST_880}", "/malmolundregionen/hop-a/", "/malmolundregionen/hop-b/"]


@pytest.mark.slow
def test_an_oversized_pdf_is_skipped_and_the_document_stored_without_it(hostile_crawl):
    report, docs, _ = hostile_crawl
    assert "[Bilaga:" not in docs[MLR + POST_912].text
    (error,) = errors_for(report, PDF)
    assert f"attachment of {MLR}{POST_912}" in error and "not downloaded" in error


@pytest.mark.slow
def test_retries_wait_longer_each_time(hostile_crawl):
    _, docs, times = hostile_crawl
    attempts = [t for t, path in times if path == f"/malmolundregionen{POST_871}"]
    assert len(attempts) == 3
    first_wait, second_wait = attempts[1] - attempts[0], attempts[2] - attempts[1]
    assert first_wait >= BACKOFF * 0.9
    assert second_wait >= 2 * BACKOFF * 0.9
    assert "Samordnaren ska arbeta" in docs[MLR + POST_871].text


def test_backoff_delay_doubles_up_to_its_cap():
    assert [backoff_delay(n, 1.0, 5.0) for n in (0, 1, 2, 3, 4)] == [0.0, 1.0, 2.0, 4.0, 5.0]
    assert backoff_delay(3, 0.0, 5.0) == 0.0


@pytest.mark.slow
def test_an_empty_listing_makes_the_source_failed_not_quiet(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "greater_copenhagen", Route("/nyheter", size=0, content_type="text/html; charset=utf-8")
        )
        report = run_crawl_in_subprocess(
            "greater_copenhagen",
            base_url=server.base_url("greater_copenhagen"),
            database_url=f"sqlite:///{tmp_path}/t.sqlite",
            timeout=120,
        )
    assert report.status == "failed"
    assert any("answered an empty body" in e for e in report.errors)


# -- parse level: charsets and dates ---------------------------------------------------------

LUND_BASE = "http://127.0.0.1:9/lunds_kommun"
LUND_LIST = "/kommun-och-politik/press-och-informationsmaterial/pressmeddelanden/"
LUND_PAGE = LUND_LIST + "byggnadsnamnden-antar-detaljplan-for-600-bostader-pa-brunnshog/"


def lund(path: str, file: str, replace: tuple[bytes, bytes] | None = None):
    body = (FIXTURES / "lunds_kommun" / file).read_bytes()
    if replace:
        body = body.replace(*replace)
    return fixture_response("x.html", LUND_BASE + path, body=body)


def test_repair_encoding_leaves_ascii_and_correct_pages_alone():
    from scrapy.http import HtmlResponse

    ascii_page = HtmlResponse("http://x/", body=b"<p>Malmo</p>", encoding="iso-8859-1")
    right = HtmlResponse("http://x/", body="<p>Malmö</p>".encode(), encoding="utf-8")
    assert repair_encoding(ascii_page) is ascii_page
    assert repair_encoding(right).text == "<p>Malmö</p>"


def test_a_listing_date_in_the_future_is_dropped_and_reported():
    spider = LundsKommunSpider(base_url=LUND_BASE, today=date(2026, 11, 23))
    listing = lund(
        LUND_LIST, "listing_pressmeddelanden_written.html", (b"2026-11-18", b"2031-11-18")
    )
    requests = list(spider.parse_listing(listing, page=1))
    row = requests[0].cb_kwargs["row"]
    assert row.published == date(2031, 11, 18)
    page = lund(LUND_PAGE, "press_1_written.html", (b"Publicerad 18 november 2026", b""))
    (doc,) = spider.parse_detail(page, row=row)
    assert doc.published is None
    assert spider.report.errors == [
        f"https://lund.se{LUND_PAGE}: publication date 2031-11-18 is in the future; "
        "stored without a date"
    ]
    assert spider.report.failed == 0


def test_an_unparseable_listing_date_falls_back_to_the_page():
    spider = LundsKommunSpider(base_url=LUND_BASE, today=date(2026, 11, 23))
    listing = lund(LUND_LIST, "listing_pressmeddelanden_written.html", (b"2026-11-18", b"nyss"))
    row = next(iter(spider.parse_listing(listing, page=1))).cb_kwargs["row"]
    assert row.published is None
    (doc,) = spider.parse_detail(lund(LUND_PAGE, "press_1_written.html"), row=row)
    assert doc.published == date(2026, 11, 18)  # "Publicerad 18 november 2026" on the page


def test_an_unparseable_date_everywhere_is_no_date():
    spider = LundsKommunSpider(base_url=LUND_BASE, today=date(2026, 11, 23))
    listing = lund(LUND_LIST, "listing_pressmeddelanden_written.html", (b"2026-11-18", b"32/13"))
    row = next(iter(spider.parse_listing(listing, page=1))).cb_kwargs["row"]
    page = lund(
        LUND_PAGE, "press_1_written.html", (b"Publicerad 18 november 2026", b"Publicerad snart")
    )
    (doc,) = spider.parse_detail(page, row=row)
    assert doc.published is None and spider.report.failed == 0


def test_an_empty_detail_page_is_a_reported_failure():
    spider = LundsKommunSpider(base_url=LUND_BASE)
    listing = lund(LUND_LIST, "listing_pressmeddelanden_written.html")
    row = next(iter(spider.parse_listing(listing, page=1))).cb_kwargs["row"]
    assert (
        list(
            spider.parse_detail(
                fixture_response("x.html", LUND_BASE + LUND_PAGE, body=b""), row=row
            )
        )
        == []
    )
    assert spider.report.errors[0].startswith(f"https://lund.se{LUND_PAGE}: an empty page")
