"""A digest built from the replay says so, and marks the entries that come from
constructed fixtures (PROVENANCE.md says which), so that nobody takes an invented press
release for a real one. Real SQLite store, the project's own fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import FIXTURES
from factories import IN_WEEK, NOW, WEEK
from omvarld.config.load import load_focus_areas
from omvarld.core.model import Document, Evidence, Label
from omvarld.crawl.replay import ReplayProvenance, fixture_kinds
from omvarld.digest.positions import Positions
from omvarld.digest.replayed import CONSTRUCTED_MARK
from omvarld.digest.write import write_digest

CONFIG = Path(__file__).resolve().parent.parent.parent / "config"
RECORDED_URL = "https://data.riksdagen.se/dokument/HA01AU6"  # a recorded dokumentstatus
CONSTRUCTED_URL = (  # a WRITTEN Mynewsdesk press release (tests/fixtures/malmo_stad)
    "https://www.mynewsdesk.com/se/malmo/pressreleases/kommunstyrelsen-godkaenner-"
    "avsiktsfoerklaring-om-malmoependeln-och-nya-stationer-3412550")


@pytest.fixture(autouse=True)
def no_positions(monkeypatch):
    monkeypatch.setattr("omvarld.digest.build.load_positions", lambda: Positions())


def add(store, url: str, source: str, title: str) -> None:
    doc = Document(url=url, source=source, publisher=source, level="national",
                   doc_type="report", title=title, language="sv",
                   text="Arbetsmarknaden i Malmö. Fler i arbete under året.")
    store.save_document(doc, now=IN_WEEK)
    doc_id = next(r.id for r in store.documents() if r.url == url)
    store.save_labels(doc_id, doc.content_hash, [Label(
        area="arbetsmarknad", score=0.9, threshold=0.5,
        evidence=Evidence(terms=["arbetsmarknad"]), model_version="test")])


def test_provenance_md_says_which_fixtures_are_constructed():
    kinds = fixture_kinds(FIXTURES / "regeringen")
    assert kinds["prop-2017-18-86_document-page.html"] == "recorded"
    assert kinds["g0v-mirror_remiss_sou-2025-112_page-as-markdown.txt"] == "recorded"
    assert kinds["getfiltereditems_constructed_1329_p1.json"] == "constructed"
    assert set(fixture_kinds(FIXTURES / "malmo_stad").values()) == {"constructed"}


@pytest.mark.parametrize(("source", "url", "kind"), [
    ("riksdagen", RECORDED_URL, "recorded"),  # via its detail, /dokumentstatus/HA01AU6.json
    ("regeringen", "https://www.regeringen.se/rattsdokument/proposition/2018/01/prop.-20171886/",
     "recorded"),
    ("eurlex", "https://eur-lex.europa.eu/legal-content/SV/TXT/?uri=CELEX:52018PC0340",
     "recorded"),
    ("malmo_stad", CONSTRUCTED_URL, "constructed"),
    ("riksdagen", "https://data.riksdagen.se/dokument/XX99999", "constructed"),  # untraced
])
def test_a_replayed_document_is_traced_to_its_fixture(source, url, kind):
    assert ReplayProvenance().kind(source, url) == kind


def test_a_replayed_digest_says_so_and_marks_constructed_entries(store, tmp_path):
    add(store, RECORDED_URL, "riksdagen", "Integration")
    add(store, CONSTRUCTED_URL, "malmo_stad", "Malmöpendeln")
    areas = load_focus_areas(CONFIG)
    paths = write_digest(store, WEEK, tmp_path, areas=areas, now=NOW, pdf=False,
                         replayed=True)
    markdown = paths["markdown"].read_text(encoding="utf-8")
    html = paths["html"].read_text(encoding="utf-8")
    for text in (markdown, html):
        assert "Byggd från inspelade och konstruerade svar" in text
    assert f"{CONSTRUCTED_MARK} Malmöpendeln".replace("[", "\\[").replace("]", "\\]") in markdown
    assert f"{CONSTRUCTED_MARK} Malmöpendeln" in html
    assert f"{CONSTRUCTED_MARK} Integration" not in html and "Integration" in html


def test_a_digest_of_real_crawls_carries_no_replay_note(store, tmp_path):
    add(store, CONSTRUCTED_URL, "malmo_stad", "Malmöpendeln")
    paths = write_digest(store, WEEK, tmp_path, areas=load_focus_areas(CONFIG), now=NOW,
                         pdf=False)
    html = paths["html"].read_text(encoding="utf-8")
    assert "inspelade och konstruerade" not in html and CONSTRUCTED_MARK not in html
