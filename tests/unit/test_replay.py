"""The replay server answers like the sources, from tests/fixtures/, over real HTTP; the
fixtures it serves are what their PROVENANCE.md says they are."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import FIXTURES
from omvarld.core.errors import ConfigError
from omvarld.crawl.replay import ReplayServer, Route, load_routes, markdown_page_as_html

SOURCES = ("riksdagen", "regeringen")
OWN_FILES = {"routes.json", "PROVENANCE.md", "construct_listings.py"}


def get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


# -- serving ----------------------------------------------------------------------------


def test_base_url_is_a_per_source_prefix_on_localhost(replay_server):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/riksdagen", replay_server.base_url("riksdagen"))


def test_every_configured_source_has_recorded_responses(replay_server):
    """`omvarld weekly --replay` crawls every source: each needs its fixture folder."""
    from omvarld.config.load import load_sources

    configured = {s.id for s in load_sources().sources}
    assert configured <= set(replay_server.sources)
    assert replay_server.serves("riksdagen") and not replay_server.serves("no_such_source")


def test_recorded_file_is_served_byte_identical_with_its_content_type(replay_server):
    status, content_type, body = get(
        replay_server.base_url("riksdagen") + "/dokumentstatus/H2021148.json"
    )
    assert status == 200
    assert content_type == "application/json; charset=utf-8"
    assert (
        body
        == (FIXTURES / "riksdagen/dokumentstatus_mot_H2021148_bostadsbyggande.json").read_bytes()
    )


def test_query_parameters_a_route_does_not_name_are_ignored(replay_server):
    base = replay_server.base_url("riksdagen")
    _, _, body = get(f"{base}/dokumentlista/?doktyp=bet&from=2020-01-01&sz=50&p=1")
    assert json.loads(body)["dokumentlista"]["dokument"][0]["dok_id"] == "HA01AU6"


def test_named_query_parameters_select_the_file(replay_server):
    base = replay_server.base_url("regeringen")
    _, _, body = get(f"{base}/Filter/GetFilteredItems?preFilteredCategories=2099&page=1")
    assert "remiss-av-ds-202528" in json.loads(body)["Message"]


def test_a_page_that_was_not_recorded_is_404(replay_server):
    status, _, _ = get(replay_server.base_url("riksdagen") + "/dokumentlista/?doktyp=bet&p=2")
    assert status == 404


@pytest.mark.parametrize("path", ["/riksdagen/dokumentstatus/NOPE.json", "/okand/x", "/"])
def test_unknown_paths_are_404(replay_server, path):
    assert get(replay_server.url + path)[0] == 404


@pytest.mark.parametrize("path", ["/robots.txt", "/riksdagen/robots.txt"])
def test_robots_txt_allows_everything(replay_server, path):
    status, _, body = get(replay_server.url + path)
    assert (status, body) == (200, b"User-agent: *\nAllow: /\n")


def test_requests_are_recorded(replay_server):
    get(replay_server.url + "/robots.txt")
    get(replay_server.base_url("riksdagen") + "/dokumentstatus/HA01AU6.json")
    assert replay_server.requested() == ["/robots.txt", "/riksdagen/dokumentstatus/HA01AU6.json"]
    assert replay_server.requested("regeringen") == []


def test_mirror_markdown_is_served_as_a_wrapped_html_page(replay_server):
    status, content_type, body = get(
        replay_server.base_url("regeringen")
        + "/remisser/2026/01/remiss-av-sou-20263-genomforande-av-plattformsdirektivet/"
    )
    page = body.decode("utf-8")
    assert (status, content_type) == (200, "text/html; charset=utf-8")
    assert (
        "<h1>Remiss av SOU 2026:3 Genomförande av plattformsdirektivetDiarienummer: "
        "A2026/00012</h1>" in page
    )
    assert "<p>Sista dagen att svara är den 31 mars 2026.</p>" in page
    assert "wrapped as HTML" in page


def test_markdown_wrapping_turns_blocks_into_paragraphs_and_lists():
    page = markdown_page_as_html("# Titel & mer\n\nEtt stycke\nsom fortsätter.\n\n- a\n- b\n")
    assert (
        "<h1>Titel &amp; mer</h1><p>Ett stycke som fortsätter.</p>"
        "<ul><li>a</li><li>b</li></ul>" in page
    )


# -- faults -----------------------------------------------------------------------------


def test_a_route_can_answer_500(replay_server):
    replay_server.add_route("riksdagen", Route(path="/dokumentstatus/HA01AU6.json", status=500))
    assert get(replay_server.base_url("riksdagen") + "/dokumentstatus/HA01AU6.json")[0] == 500


def test_a_route_can_serve_a_truncated_file(replay_server):
    replay_server.add_route(
        "riksdagen",
        Route(
            path="/dokumentstatus/H2021148.json",
            content_type="application/json",
            file="dokumentstatus_mot_H2021148_bostadsbyggande.json",
            truncate=100,
        ),
    )
    _, _, body = get(replay_server.base_url("riksdagen") + "/dokumentstatus/H2021148.json")
    assert len(body) == 100
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


def test_routes_json_can_declare_faults(tmp_path):
    folder = tmp_path / "kalla"
    folder.mkdir()
    (folder / "a.json").write_text('{"ok": true}')
    (folder / "routes.json").write_text(
        json.dumps(
            {
                "routes": [
                    {"path": "/a", "file": "a.json", "truncate": 4},
                    {"path": "/b", "status": 503},
                ]
            }
        )
    )
    with ReplayServer(tmp_path) as server:
        assert get(server.base_url("kalla") + "/a")[2] == b'{"ok'
        assert get(server.base_url("kalla") + "/b")[0] == 503


def test_a_failing_source_answers_500_everywhere_and_other_sources_do_not(replay_server):
    replay_server.fail_source("riksdagen")
    assert get(replay_server.base_url("riksdagen") + "/dokumentstatus/HA01AU6.json")[0] == 500
    assert (
        get(
            replay_server.base_url("regeringen") + "/Filter/GetFilteredItems"
            "?preFilteredCategories=1334"
        )[0]
        == 200
    )


def test_a_route_without_a_file_is_refused_with_the_file_named(tmp_path):
    (tmp_path / "routes.json").write_text(json.dumps({"routes": [{"path": "/a"}]}))
    with pytest.raises(ConfigError, match=r"routes\.json.*needs a `file`"):
        load_routes(tmp_path)


# -- the fixtures themselves ------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_every_route_points_at_a_file_that_exists(source):
    routes = load_routes(FIXTURES / source)
    assert routes and all((FIXTURES / source / r.file).is_file() for r in routes if r.file)


@pytest.mark.parametrize("source", SOURCES)
def test_every_fixture_file_is_described_in_provenance(source):
    provenance = (FIXTURES / source / "PROVENANCE.md").read_text(encoding="utf-8")
    files = {p.name for p in (FIXTURES / source).iterdir() if p.is_file()} - OWN_FILES
    assert files and all(name in provenance for name in files)


def recorded_hashes(source: str) -> dict[str, str]:
    """file → sha256 from the "Recorded" table of PROVENANCE.md."""
    text = (FIXTURES / source / "PROVENANCE.md").read_text(encoding="utf-8")
    recorded = text.split("## Recorded", 1)[1].split("\n## ", 1)[0]
    return {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| (\S+) \|.*\| ([0-9a-f]{64}) \|$", recorded, re.MULTILINE)
    }


@pytest.mark.parametrize("source", SOURCES)
def test_recorded_files_are_unchanged(source):
    hashes = recorded_hashes(source)
    assert len(hashes) >= 3
    for name, digest in hashes.items():
        assert hashlib.sha256((FIXTURES / source / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("source", SOURCES)
def test_constructed_files_are_rebuilt_identically_from_the_recorded_ones(source, tmp_path):
    spec = importlib.util.spec_from_file_location(
        f"construct_{source}", FIXTURES / source / "construct_listings.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    built = sorted(p.name for p in tmp_path.iterdir())
    assert built and all("constructed" in name for name in built)
    for name in built:
        assert (tmp_path / name).read_bytes() == Path(FIXTURES / source / name).read_bytes(), name
