"""Real crawls: the spiders run in their own process (`omvarld.crawl.run`) against the replay
server, into a real SQLite file; what the store holds afterwards is what a user sees.

The subprocess crawls take a few seconds each and are marked `slow` (a label only: CI runs
them). The first crawl of each source is made once per module and copied per test."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from twisted.python.failure import Failure

from conftest import FIXTURES, PROJECT
from omvarld.core.model import CrawlReport
from omvarld.crawl.base import OmvarldSpider
from omvarld.crawl.replay import ReplayServer, Route
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.crawl.sources.riksdagen import RiksdagenSpider
from omvarld.store import Store

TIMEOUT = 180
RIKSDAGEN_URLS = {
    "https://data.riksdagen.se/dokument/HA01AU6",
    "https://data.riksdagen.se/dokument/H2021148",
}
MOT_DETAIL = "/dokumentstatus/H2021148.json"
PM_JOBB = "/pressmeddelanden/2025/12/arbetsformedlingen-ska-oka-kannedomen-om-etableringsjobb/"
EXTRA_CATEGORIES = {"1325": "ds", "1327": "directive", "1331": "sou"}


def db_url(folder: Path) -> str:
    return f"sqlite:///{folder}/t.sqlite"


def crawl(server: ReplayServer, source: str, folder: Path, **kwargs) -> CrawlReport:
    return run_crawl_in_subprocess(
        source,
        base_url=server.base_url(source),
        database_url=db_url(folder),
        timeout=TIMEOUT,
        **kwargs,
    )


def stored(folder: Path) -> dict:
    store = Store.open(db_url(folder))
    try:
        return {row.url: row for row in store.documents()}
    finally:
        store.close()


def last_run(folder: Path, source: str) -> CrawlReport:
    store = Store.open(db_url(folder))
    try:
        return store.last_crawls()[source]
    finally:
        store.close()


def copy_store(template: Path, folder: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        src = template / f"t.sqlite{suffix}"
        if src.exists():
            shutil.copy(src, folder / f"t.sqlite{suffix}")


def changed_mot_listing() -> tuple[bytes, bytes]:
    """The motion's listing row and detail with a new systemdatum (and a changed title in
    the detail): what Riksdagen serves after it edits a document."""
    listing = json.loads(
        (FIXTURES / "riksdagen/dokumentlista_constructed_mot.json").read_text(encoding="utf-8")
    )
    listing["dokumentlista"]["dokument"][0]["systemdatum"] = "2026-11-20 09:00:00"
    status = json.loads(
        (FIXTURES / "riksdagen/dokumentstatus_mot_H2021148_bostadsbyggande.json").read_text(
            encoding="utf-8"
        )
    )
    status["dokumentstatus"]["dokument"]["systemdatum"] = "2026-11-20 09:00:00"
    status["dokumentstatus"]["dokument"]["titel"] = "Bostadsbyggande i hela landet"
    return (
        json.dumps(listing, ensure_ascii=False).encode(),
        json.dumps(status, ensure_ascii=False).encode(),
    )


def serve_changed_mot_listing(server: ReplayServer, detail: Route) -> None:
    listing, _ = changed_mot_listing()
    server.add_route(
        "riksdagen",
        Route(
            path="/dokumentlista/",
            query={"doktyp": "mot"},
            content_type="application/json",
            body=listing,
        ),
    )
    server.add_route("riksdagen", detail)


@pytest.fixture(scope="module")
def riksdagen_first(tmp_path_factory):
    """One first crawl of Riksdagen: (store folder, report, requested paths)."""
    folder = tmp_path_factory.mktemp("riksdagen_first")
    with ReplayServer(FIXTURES) as server:
        report = crawl(server, "riksdagen", folder)
        return folder, report, server.requested()


@pytest.fixture(scope="module")
def regeringen_config(tmp_path_factory) -> Path:
    """The project's configuration with the Ds, directive and SOU categories added, so
    that the recorded old-template pages are listed too."""
    folder = tmp_path_factory.mktemp("config")
    for path in (PROJECT / "config").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    sources = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))
    for source in sources["sources"]:
        if source["id"] == "regeringen":
            source["params"]["categories"].update(EXTRA_CATEGORIES)
    (folder / "sources.yaml").write_text(
        yaml.safe_dump(sources, allow_unicode=True), encoding="utf-8"
    )
    return folder


@pytest.fixture(scope="module")
def regeringen_first(tmp_path_factory, regeringen_config):
    """One first crawl of regeringen.se with all five categories: (folder, report)."""
    folder = tmp_path_factory.mktemp("regeringen_first")
    with pytest.MonkeyPatch.context() as env, ReplayServer(FIXTURES) as server:
        env.setenv("OMVARLD_CONFIG_DIR", str(regeringen_config))
        return folder, crawl(server, "regeringen", folder)


# -- Riksdagen ---------------------------------------------------------------------------


@pytest.mark.slow
def test_riksdagen_crawl_stores_the_recorded_documents(riksdagen_first):
    folder, report, _ = riksdagen_first
    assert (report.status, report.new, report.failed, report.errors) == ("ok", 2, 0, [])
    docs = stored(folder)
    assert set(docs) == RIKSDAGEN_URLS
    bet = docs["https://data.riksdagen.se/dokument/HA01AU6"]
    assert (bet.doc_type, bet.identifier, bet.language, bet.source_version) == (
        "committee_report",
        "bet. 2022/23:AU6",
        "sv",
        "2023-03-20 17:09:31",
    )
    assert bet.summary.startswith("Riksdagen sa nej till cirka 25 förslag")


@pytest.mark.slow
def test_stored_urls_are_the_publishers_never_the_replay_server(riksdagen_first, regeringen_first):
    for folder in (riksdagen_first[0], regeringen_first[0]):
        for row in stored(folder).values():
            assert "127.0.0.1" not in row.url + " ".join(row.attachments)
            assert row.url.startswith("https://")


@pytest.mark.slow
def test_robots_txt_is_requested_before_the_source(riksdagen_first):
    _, _, requested = riksdagen_first
    assert requested[0] == "/robots.txt"


@pytest.mark.slow
def test_the_crawl_run_is_recorded_in_the_store(riksdagen_first):
    run = last_run(riksdagen_first[0], "riksdagen")
    assert (run.status, run.new, run.failed) == ("ok", 2, 0)
    assert run.finished is not None


@pytest.mark.slow
def test_a_second_riksdagen_crawl_stores_nothing_twice(riksdagen_first, tmp_path):
    copy_store(riksdagen_first[0], tmp_path)
    before = {url: row.id for url, row in stored(tmp_path).items()}
    with ReplayServer(FIXTURES) as server:
        report = crawl(server, "riksdagen", tmp_path)
        requested = server.requested("riksdagen")
    assert (report.status, report.new, report.updated, report.unchanged) == ("ok", 0, 0, 2)
    assert {url: row.id for url, row in stored(tmp_path).items()} == before
    assert not [path for path in requested if "/dokumentstatus/" in path]  # listings only


@pytest.mark.slow
def test_a_changed_document_is_updated_not_duplicated(riksdagen_first, tmp_path):
    copy_store(riksdagen_first[0], tmp_path)
    before = stored(tmp_path)
    _, detail = changed_mot_listing()
    with ReplayServer(FIXTURES) as server:
        serve_changed_mot_listing(
            server, Route(path=MOT_DETAIL, content_type="application/json", body=detail)
        )
        report = crawl(server, "riksdagen", tmp_path)
    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    after = stored(tmp_path)
    mot = after["https://data.riksdagen.se/dokument/H2021148"]
    assert set(after) == RIKSDAGEN_URLS
    assert mot.id == before[mot.url].id
    assert mot.title == "Bostadsbyggande i hela landet"  # the subtitle is kept apart
    assert mot.source_version == "2026-11-20 09:00:00"


@pytest.mark.slow
def test_a_truncated_detail_fails_that_item_only_and_is_fetched_next_run(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "riksdagen",
            Route(
                path=MOT_DETAIL,
                content_type="application/json",
                truncate=2000,
                file="dokumentstatus_mot_H2021148_bostadsbyggande.json",
            ),
        )
        report = crawl(server, "riksdagen", tmp_path)
    assert (report.status, report.new, report.failed) == ("partial", 1, 1)  # one lost
    (error,) = report.errors
    assert error.startswith("https://data.riksdagen.se/dokument/H2021148: invalid JSON")
    assert set(stored(tmp_path)) == {"https://data.riksdagen.se/dokument/HA01AU6"}
    with ReplayServer(FIXTURES) as server:
        again = crawl(server, "riksdagen", tmp_path)
    assert (again.new, again.unchanged, again.failed) == (1, 1, 0)
    assert set(stored(tmp_path)) == RIKSDAGEN_URLS


@pytest.mark.slow
def test_a_truncated_detail_never_changes_what_was_stored(riksdagen_first, tmp_path):
    copy_store(riksdagen_first[0], tmp_path)
    url = "https://data.riksdagen.se/dokument/H2021148"
    before = stored(tmp_path)[url]
    with ReplayServer(FIXTURES) as server:
        serve_changed_mot_listing(
            server,
            Route(
                path=MOT_DETAIL,
                content_type="application/json",
                truncate=2000,
                file="dokumentstatus_mot_H2021148_bostadsbyggande.json",
            ),
        )
        report = crawl(server, "riksdagen", tmp_path)
    assert (report.failed, report.updated) == (1, 0)
    after = stored(tmp_path)[url]
    assert (after.content_hash, after.source_version, after.fetched, after.title) == (
        before.content_hash,
        before.source_version,
        before.fetched,
        before.title,
    )


# -- regeringen.se -----------------------------------------------------------------------


@pytest.mark.slow
def test_regeringen_crawl_stores_every_listed_page(regeringen_first):
    folder, report = regeringen_first
    assert (report.status, report.new, report.failed) == ("ok", 11, 0)
    docs = stored(folder)
    assert all(url.startswith("https://www.regeringen.se/") for url in docs)
    assert sorted(row.doc_type for row in docs.values()) == [
        "directive",
        "ds",
        "press_release",
        "press_release",
        "press_release",
        "proposition",
        "remiss",
        "remiss",
        "remiss",
        "remiss",
        "sou",
    ]


@pytest.mark.slow
def test_regeringen_remisser_are_stored_with_their_deadlines(regeringen_first):
    deadlines = {
        (row.identifier, row.diarienummer): row.deadline
        for row in stored(regeringen_first[0]).values()
        if row.doc_type == "remiss"
    }
    assert {k: v.isoformat() for k, v in deadlines.items()} == {
        ("Ds 2025:28", "Ju2025/02569"): "2026-03-10",
        ("SOU 2026:3", "A2026/00012"): "2026-03-31",
        ("SOU 2025:112", "Fi2025/02098"): "2026-04-26",
        ("LI2025/02164", "LI2025/02164"): "2026-04-27",
    }


@pytest.mark.slow
def test_a_second_regeringen_crawl_fetches_no_page_again(
    regeringen_first, regeringen_config, tmp_path, monkeypatch
):
    copy_store(regeringen_first[0], tmp_path)
    monkeypatch.setenv("OMVARLD_CONFIG_DIR", str(regeringen_config))
    before = {url: row.id for url, row in stored(tmp_path).items()}
    with ReplayServer(FIXTURES) as server:
        report = crawl(server, "regeringen", tmp_path)
        requested = server.requested("regeringen")
    assert (report.new, report.updated, report.unchanged) == (0, 0, 11)
    assert {url: row.id for url, row in stored(tmp_path).items()} == before
    assert all("/Filter/GetFilteredItems" in path for path in requested)


@pytest.mark.slow
def test_a_page_without_the_expected_elements_is_that_items_error(tmp_path):
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "regeringen",
            Route(
                path=PM_JOBB,
                content_type="text/html; charset=utf-8",
                body=b"<html><body><div class='cookie-banner'></div></body></html>",
            ),
        )
        report = crawl(server, "regeringen", tmp_path)
    assert (report.status, report.new, report.failed) == ("partial", 10, 1)  # one lost
    (error,) = report.errors
    assert error.startswith(f"https://www.regeringen.se{PM_JOBB}: no h1 and no main text")
    assert f"https://www.regeringen.se{PM_JOBB}" not in stored(tmp_path)


@pytest.mark.slow
def test_a_listing_that_lost_its_layout_fails_the_source_loudly(tmp_path):
    changed = json.dumps({"TotalCount": 3, "Message": "<ul class='new-list'><li>…</li></ul>"})
    with ReplayServer(FIXTURES) as server:
        server.add_route(
            "regeringen",
            Route(
                path="/Filter/GetFilteredItems",
                query={"preFilteredCategories": "1334"},
                content_type="application/json",
                body=changed.encode(),
            ),
        )
        report = crawl(server, "regeringen", tmp_path)
    assert report.status == "failed"
    assert any("page layout changed" in e and "sortcompact" in e for e in report.errors)
    assert report.new == 8  # the other listings still had their layout


# -- failures ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_source_answering_500_fails_alone(tmp_path):
    with ReplayServer(FIXTURES) as server, ThreadPoolExecutor(2) as pool:
        server.fail_source("riksdagen")
        riksdagen = pool.submit(crawl, server, "riksdagen", tmp_path)
        regeringen = pool.submit(crawl, server, "regeringen", tmp_path)
        failed, ok = riksdagen.result(), regeringen.result()
    assert failed.status == "failed"
    assert failed.errors[0].startswith("riksdagen: source unreachable at http://127.0.0.1:")
    assert any("HTTP 500" in error for error in failed.errors)
    assert (ok.status, ok.new) == ("ok", 11)
    assert last_run(tmp_path, "riksdagen").status == "failed"
    assert last_run(tmp_path, "regeringen").status == "ok"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_entry_point_prints_one_json_report_and_exits_1_when_unreachable(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "omvarld.crawl.run",
            "riksdagen",
            "--base-url",
            f"http://127.0.0.1:{free_port()}/riksdagen",
            "--database-url",
            db_url(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=PROJECT,
        check=False,
    )
    (line,) = result.stdout.splitlines()
    report = json.loads(line)
    assert result.returncode == 1
    assert report["status"] == "failed" and isinstance(report["run_id"], int)
    assert "source unreachable" in report["errors"][0]
    assert "Connection" in " ".join(report["errors"][1:])


def test_an_unknown_source_is_a_failed_report_naming_it(tmp_path):
    report = run_crawl_in_subprocess("nosuch", database_url=db_url(tmp_path), timeout=TIMEOUT)
    assert report.status == "failed"
    assert "nosuch" in report.errors[0] and "no such source" in report.errors[0]


@pytest.mark.slow
def test_the_entry_point_reports_an_unknown_source_and_closes_its_run(tmp_path):
    store = Store.open(db_url(tmp_path))
    run_id = store.start_crawl("nosuch")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "omvarld.crawl.run",
            "nosuch",
            "--database-url",
            db_url(tmp_path),
            "--run-id",
            str(run_id),
        ],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=PROJECT,
        check=False,
    )
    report = json.loads(result.stdout)
    assert (result.returncode, report["status"], report["run_id"]) == (1, "failed", run_id)
    assert "no such source" in report["errors"][0]
    assert store.crawl_run(run_id).status == "failed"
    store.close()


@pytest.mark.slow
def test_a_crawl_over_its_time_limit_is_killed_and_reported(tmp_path):
    with ReplayServer(FIXTURES) as server:
        report = run_crawl_in_subprocess(
            "riksdagen",
            base_url=server.base_url("riksdagen"),
            database_url=db_url(tmp_path),
            timeout=0.5,
        )
    assert (report.status, report.errors) == ("failed", ["riksdagen: timed out after 0.5 s"])
    assert last_run(tmp_path, "riksdagen").status == "failed"


def test_a_child_dying_without_a_report_is_a_failed_report(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "executable", shutil.which("false"))
    report = run_crawl_in_subprocess("riksdagen", database_url=db_url(tmp_path), timeout=30)
    assert report.status == "failed"
    assert report.errors[0].startswith(
        "riksdagen: crawl process exited with status 1 without a report"
    )
    assert last_run(tmp_path, "riksdagen").status == "failed"


# -- the report's status -----------------------------------------------------------------


def spider() -> OmvarldSpider:
    return RiksdagenSpider(base_url="http://127.0.0.1:9/riksdagen")


def test_every_request_failing_makes_the_source_failed_with_its_name():
    s = spider()
    s.requests_failed = 6
    report = s.final_report()
    assert report.status == "failed"
    assert report.errors[0] == (
        "riksdagen: source unreachable at http://127.0.0.1:9/riksdagen: all 6 requests failed"
    )


def test_some_failed_requests_make_the_source_partial_not_ok():
    s = spider()
    s.requests_failed, s.responses_ok, s.listings_read = 1, 5, 1
    s.record_failure("https://data.riksdagen.se/dokument/X", "HTTP 500")
    report = s.final_report()
    assert report.status == "partial" and report.failed == 1


def test_answers_of_which_no_listing_could_be_read_make_the_source_failed():
    s = spider()
    s.responses_ok = 2
    s.record_failure("https://data.riksdagen.se/dokumentlista/", "invalid JSON: …")
    s.record_failure("https://data.riksdagen.se/dokumentlista/?p=2", "invalid JSON: …")
    report = s.final_report()
    assert report.status == "failed"
    assert report.errors[0] == "riksdagen: no listing could be read (2 answers unusable)"


def test_a_changed_layout_makes_the_source_failed():
    s = spider()
    s.responses_ok, s.layout_failed = 3, True
    assert s.final_report().status == "failed"


def test_a_crawl_stopped_early_is_failed():
    s = spider()
    s.responses_ok = 3
    report = s.final_report("shutdown")
    assert report.status == "failed" and "stopped early (shutdown)" in report.errors[-1]


def test_a_failed_request_is_recorded_with_its_url_and_reason():
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.spidermiddlewares.httperror import HttpError

    s = spider()
    request = Request("http://127.0.0.1:9/riksdagen/dokumentlista/?doktyp=bet")
    failure = Failure(HttpError(Response(request.url, status=500, request=request)))
    failure.request = request
    s._request_failed(failure)
    assert s.report.errors == ["http://127.0.0.1:9/riksdagen/dokumentlista/?doktyp=bet: HTTP 500"]
    assert (s.report.failed, s.requests_failed) == (1, 1)


def test_report_times_are_naive_utc():
    report = spider().final_report()
    assert report.finished is not None and report.finished.tzinfo is None
    assert abs((datetime.now(UTC).replace(tzinfo=None) - report.finished).total_seconds()) < 60
