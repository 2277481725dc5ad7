"""`omvarld sources record`: one crawl's answers written as fixtures with their provenance,
against the local replay server; then the recording is replayed and gives the same
documents. The command and the crawls run as subprocesses."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, PROJECT
from omvarld.crawl.replay import ReplayServer, load_routes
from omvarld.crawl.run import run_crawl_in_subprocess
from omvarld.store import Store

TIMEOUT = 180
FIELDS = ("url", "title", "subtitle", "doc_type", "identifier", "diarienummer", "published",
          "deadline", "summary", "text", "attachments", "responsible", "authors",
          "doc_references", "source_version")


def documents(url: str) -> dict[str, tuple]:
    store = Store.open(url)
    try:
        return {r.url: tuple(getattr(r, f) for f in FIELDS) for r in store.documents()}
    finally:
        store.close()


def record(source: str, base_url: str, out: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT / "src"),
           "OMVARLD_DATABASE_URL": f"sqlite:///{home}/unused.sqlite"}
    return subprocess.run(
        [sys.executable, "-m", "omvarld.cli.main", "sources", "record", source,
         "--out", str(out), "--base-url", base_url],
        capture_output=True, text=True, env=env, timeout=TIMEOUT, check=False)


@pytest.mark.parametrize("source", ["riksdagen", "regeringen"])
def test_a_recorded_crawl_replays_to_the_same_documents(source, tmp_path):
    out = tmp_path / "recordings"
    with ReplayServer(FIXTURES) as server:
        done = record(source, server.base_url(source), out, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        asked = {p.split("?", 1)[0] for p in server.requested(source)} - {f"/{source}/robots.txt"}
        original = run_crawl_in_subprocess(
            source, base_url=server.base_url(source),
            database_url=f"sqlite:///{tmp_path}/original.sqlite", timeout=TIMEOUT)
    folder = out / source
    assert "answers recorded in" in done.stdout
    # every answer the crawl got is a file, routed under the path it was asked for
    routes = load_routes(folder)
    assert {f"/{source}{r.path}" for r in routes} == asked
    with ReplayServer(out) as again:
        replayed = run_crawl_in_subprocess(
            source, base_url=again.base_url(source),
            database_url=f"sqlite:///{tmp_path}/replayed.sqlite", timeout=TIMEOUT)
    assert (original.status, replayed.status) == ("ok", "ok")
    assert replayed.new == original.new > 0 and replayed.failed == original.failed == 0
    assert documents(f"sqlite:///{tmp_path}/replayed.sqlite") == documents(
        f"sqlite:///{tmp_path}/original.sqlite")


def test_each_recorded_file_has_its_provenance(tmp_path):
    out = tmp_path / "recordings"
    with ReplayServer(FIXTURES) as server:
        done = record("riksdagen", server.base_url("riksdagen"), out, tmp_path)
        base = server.base_url("riksdagen")
    assert done.returncode == 0, done.stderr[-2000:]
    folder = out / "riksdagen"
    entries = json.loads((folder / "recorded.json").read_text(encoding="utf-8"))
    files = {p.name for p in folder.iterdir()} - {"routes.json", "recorded.json",
                                                  "PROVENANCE.md"}
    assert {e["file"] for e in entries} == files and len(files) >= 4
    detail = next(e for e in entries if e["path"] == "/dokumentstatus/H2021148.json")
    assert detail["url"] == f"{base}/dokumentstatus/H2021148.json"
    assert (detail["status"], detail["content_type"]) == (200, "application/json; charset=utf-8")
    assert detail["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", detail["fetched"])
    recorded = (FIXTURES / "riksdagen/dokumentstatus_mot_H2021148_bostadsbyggande.json")
    assert (folder / detail["file"]).read_bytes() == recorded.read_bytes()
    listing = next(e for e in entries if e["path"] == "/dokumentlista/"
                   and e["query"]["doktyp"] == "mot")
    assert listing["query"]["utformat"] == "json" and listing["query"]["p"] == "1"
    # PROVENANCE.md: one "Recorded" row per file, with the hash the replay tests check
    provenance = (folder / "PROVENANCE.md").read_text(encoding="utf-8")
    section = provenance.split("## Recorded", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", section, re.MULTILINE))
    assert set(rows) == files
    for name, digest in rows.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest


def test_recording_refuses_a_folder_that_is_not_empty(tmp_path):
    out = tmp_path / "recordings"
    (out / "riksdagen").mkdir(parents=True)
    (out / "riksdagen" / "keep.json").write_text("{}", encoding="utf-8")
    done = record("riksdagen", "http://127.0.0.1:9/riksdagen", out, tmp_path)
    assert done.returncode != 0 and "not empty" in done.stdout + done.stderr
    assert [p.name for p in (out / "riksdagen").iterdir()] == ["keep.json"]
