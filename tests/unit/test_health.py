"""Per-source health from the crawl runs a real SQLite store records: failure streaks,
last success, and a source that answers but returns nothing where it used to return
documents — broken, not a quiet week."""

from __future__ import annotations

from datetime import datetime, timedelta

from omvarld.core.model import CrawlReport
from omvarld.ops.health import close_abandoned_runs, source_health

T0 = datetime(2026, 11, 2, 5, 30)


def record(store, source: str, day: int, status: str = "ok", *, new: int = 0,
           unchanged: int = 0, errors: list[str] | None = None) -> None:
    started = T0 + timedelta(days=day)
    run_id = store.start_crawl(source, started=started)
    store.finish_crawl(run_id, CrawlReport(
        source=source, started=started, finished=started + timedelta(minutes=3),
        status=status, new=new, unchanged=unchanged, errors=errors or []))


def test_a_source_never_crawled_is_never(store):
    h = source_health(store, ["riksdagen"])["riksdagen"]
    assert (h.status, h.last_run, h.last_success, h.problem) == ("never", None, None, None)


def test_a_failure_streak_counts_from_the_last_success(store):
    record(store, "riksdagen", 0, new=5)
    record(store, "riksdagen", 1, "failed", errors=["riksdagen: HTTP 500 on /dokumentlista/"])
    record(store, "riksdagen", 2, "failed", errors=["first"])
    record(store, "riksdagen", 3, "failed", errors=["riksdagen: timed out after 1800 s"])
    h = source_health(store, ["riksdagen"], now=T0 + timedelta(days=4))["riksdagen"]
    assert h.status == "failed"
    assert h.consecutive_failures == 3
    assert h.last_success == T0 + timedelta(minutes=3)
    assert h.failing_since == T0 + timedelta(days=1)
    assert h.errors == ["riksdagen: timed out after 1800 s"]
    assert h.problem == "failed 3 runs in a row: riksdagen: timed out after 1800 s"
    assert h.new_recent == 5


def test_a_success_ends_the_streak(store):
    record(store, "regeringen", 0, "failed", errors=["x"])
    record(store, "regeringen", 1, "failed", errors=["x"])
    record(store, "regeringen", 2, new=1, unchanged=40)
    h = source_health(store, ["regeringen"])["regeringen"]
    assert (h.status, h.consecutive_failures, h.new_last_run, h.items_last_run) == (
        "ok", 0, 1, 41)
    assert h.problem is None


def test_nothing_where_there_used_to_be_many_is_broken_not_no_news(store):
    for day, seen in enumerate((50, 48, 52)):
        record(store, "regeringen", day, unchanged=seen)
    record(store, "regeringen", 3, new=0, unchanged=0)  # ok status, zero items
    h = source_health(store, ["regeringen"])["regeringen"]
    assert h.status == "broken"
    assert h.typical_items == 50
    assert h.consecutive_failures == 0
    assert "returned no documents where it used to return about 50" in h.problem


def test_a_source_that_always_returned_nothing_is_not_broken(store):
    record(store, "riksdagen", 0)
    record(store, "riksdagen", 1)
    assert source_health(store, ["riksdagen"])["riksdagen"].status == "ok"


def test_a_small_source_is_broken_only_above_the_configured_yield(store):
    record(store, "riksdagen", 0, unchanged=2)
    record(store, "riksdagen", 1)
    assert source_health(store, ["riksdagen"], min_items=3)["riksdagen"].status == "ok"
    assert source_health(store, ["riksdagen"], min_items=1)["riksdagen"].status == "broken"


def test_a_run_killed_halfway_is_closed_as_failed(store):
    record(store, "riksdagen", 0, new=3)
    store.start_crawl("riksdagen", started=T0 + timedelta(days=1))  # never finished
    now = T0 + timedelta(days=1, hours=2)
    assert source_health(store, ["riksdagen"], now=now)["riksdagen"].status == "ok"
    assert close_abandoned_runs(store, timedelta(hours=3), now=now) == 0  # may still run
    assert close_abandoned_runs(store, timedelta(hours=1), now=now) == 1
    h = source_health(store, ["riksdagen"], now=now)["riksdagen"]
    assert h.status == "failed" and h.consecutive_failures == 1
    assert h.errors == ["abandoned: the run was interrupted before it finished"]


def test_omvarld_sources_shows_a_broken_source_as_broken(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from omvarld.cli.main import app
    from omvarld.core.settings import get_settings
    from omvarld.store import Store

    url = f"sqlite:///{tmp_path}/cli.sqlite"
    store = Store.open(url)
    for day, seen in enumerate((40, 44, 0)):
        record(store, "regeringen", day, unchanged=seen)
    for day in range(3):
        record(store, "riksdagen", day, "failed", errors=["HTTP 500"])
    monkeypatch.setenv("OMVARLD_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["sources"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines()
            if line.startswith("│")}
    assert "broken: no documents (usually 42)" in rows["regeringen"]
    assert "failed 3× in a row" in rows["riksdagen"]
