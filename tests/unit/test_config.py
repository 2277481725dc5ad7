"""Configuration: the shipped files load; a wrong value names the file, the key, the problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from omvarld.config.load import load_focus_areas, load_sources, load_stakeholders
from omvarld.core.errors import ConfigError
from omvarld.core.settings import Settings, get_settings

PROJECT_CONFIG = Path(__file__).parent.parent.parent / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(PROJECT_CONFIG, target)
    return target


def test_the_six_focus_areas_load_with_three_languages_of_vocabulary():
    areas = load_focus_areas(PROJECT_CONFIG)
    assert areas.ids == ["arbetsmarknad", "migration", "utbildning", "transport", "bostader",
                         "miljo"]
    for area in areas.areas:
        assert area.descriptions["sv"] and area.descriptions["en"]
        assert all(area.vocabulary.get(lang) for lang in ("sv", "en", "da"))


def test_sources_and_stakeholders_load():
    sources = load_sources(PROJECT_CONFIG)
    assert {s.id for s in sources.enabled} >= {"riksdagen", "regeringen"}
    assert sources.get("riksdagen").level == "national"
    assert any(s.name == "MalmöLundregionen" for s in load_stakeholders(PROJECT_CONFIG)
               .stakeholders)


def test_missing_base_url_names_file_source_and_key(config_dir: Path):
    path = config_dir / "sources.yaml"
    path.write_text(path.read_text().replace("    base_url: https://www.regeringen.se\n", ""))
    with pytest.raises(ConfigError) as caught:
        load_sources(config_dir)
    message = str(caught.value)
    assert "sources.yaml" in message
    assert "sources[regeringen].base_url" in message
    assert "required" in message.lower()


def test_wrong_level_is_refused(config_dir: Path):
    path = config_dir / "sources.yaml"
    path.write_text(path.read_text().replace("level: national", "level: planetary", 1))
    with pytest.raises(ConfigError, match=r"sources\[riksdagen\]\.level"):
        load_sources(config_dir)


def test_broken_yaml_names_the_line(config_dir: Path):
    (config_dir / "focus_areas.yaml").write_text("areas:\n  - id: [unclosed\n")
    with pytest.raises(ConfigError, match=r"focus_areas\.yaml.*line"):
        load_focus_areas(config_dir)


def test_area_without_english_description_is_refused(config_dir: Path):
    path = config_dir / "focus_areas.yaml"
    text = path.read_text()
    start = text.index("      en: >-\n        Labour market")
    end = text.index("      da: >-", start)
    path.write_text(text[:start] + text[end:])
    with pytest.raises(ConfigError, match=r"areas\[arbetsmarknad\]\.descriptions.*en"):
        load_focus_areas(config_dir)


def test_unknown_source_id_lists_the_known_ones():
    with pytest.raises(ConfigError, match="known: riksdagen, regeringen"):
        load_sources(PROJECT_CONFIG).get("nosuch")


def test_environment_overrides_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMVARLD_DATABASE_URL", "sqlite:///elsewhere.sqlite")
    monkeypatch.setenv("OMVARLD_BATCH_SIZE", "4")
    settings = Settings()
    assert settings.database_url == "sqlite:///elsewhere.sqlite"
    assert settings.batch_size == 4
    assert "contact:" in settings.user_agent


def test_wrong_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMVARLD_SMTP_PORT", "not-a-port")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match="OMVARLD_SMTP_PORT"):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_unknown_database_scheme_is_refused(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMVARLD_DATABASE_URL", "mysql://x")
    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"OMVARLD_DATABASE_URL.*sqlite"):
            get_settings()
    finally:
        get_settings.cache_clear()


# -- sources by kind ---------------------------------------------------------------------

LISTING = """
  - id: ny_kalla
    name: Ny källa
    publisher: Exempelkommun
    level: local
    kind: html_listing
    base_url: https://www.exempelkommun.se
    listings: [/nyheter/]
    row: div.nyhet
"""


def add_source(config_dir: Path, entry: str) -> None:
    path = config_dir / "sources.yaml"
    path.write_text(path.read_text(encoding="utf-8") + entry, encoding="utf-8")


def test_every_source_has_a_kind_and_most_need_no_code():
    sources = load_sources().sources
    declared = [s for s in sources if s.kind != "spider"]
    assert len(declared) >= 18
    assert {s.kind for s in declared} <= {"feed", "sitemap", "html_listing", "json_api"}
    for s in sources:  # what the rest of the code reads of a source
        assert s.id and s.name and s.publisher and s.level and s.language
        assert isinstance(s.enabled, bool) and isinstance(s.params, dict) and s.spider


def test_a_named_spider_keeps_its_params():
    riksdagen = load_sources().get("riksdagen")
    assert (riksdagen.kind, riksdagen.spider) == ("spider", "riksdagen")
    assert riksdagen.params["doktyp"][0] == "prop"


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        (("    row: div.nyhet\n", ""), "sources[ny_kalla]", "row: Field required"),
        (("    row: div.nyhet\n", "    row: div.nyhet\n    rows: li\n"), "sources[ny_kalla].rows",
         "Extra inputs"),
        (("kind: html_listing", "kind: scraper"), "sources[ny_kalla]", "does not match"),
        (("listings: [/nyheter/]", "listings: [nyheter/]"), "sources[ny_kalla].listings",
         "starts with /"),
        (("    row: div.nyhet\n", "    row: div.nyhet\n    type_rules: [['(remiss', remiss]]\n"),
         "sources[ny_kalla].type_rules", "not a regular expression"),
        (("    row: div.nyhet\n", "    row: div.nyhet\n    date_order: MD\n"),
         "sources[ny_kalla].date_order", "'DMY'"),
    ],
)
def test_a_declared_source_is_validated_by_its_kind(config_dir: Path, change, where, problem):
    add_source(config_dir, LISTING.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_sources(config_dir)
    message = str(caught.value)
    assert message.startswith("sources.yaml: ") and f"`{where}" in message and problem in message


def test_a_declared_listing_loads_with_its_defaults(config_dir: Path):
    add_source(config_dir, LISTING)
    source = load_sources(config_dir).get("ny_kalla")
    assert (source.spider, source.link, source.date, source.date_order) == (
        "html_listing", "a::attr(href)", "time::attr(datetime)", "DMY"
    )
    assert source.params["row"] == "div.nyhet" and "publisher" not in source.params


def test_a_kinds_spider_refuses_a_source_of_another_kind():
    from omvarld.crawl.sources.declared import DeclaredFeedSpider

    with pytest.raises(ConfigError, match=r"sources\[cor\]\.kind.*'html_listing'"):
        DeclaredFeedSpider(source_id="cor")
