"""The metadata policy documents carry (migration 0007), kept from the recorded Riksdagen
responses through the store: committee, subtype, authors, proposals, subtitle and the
structured references, which link a matter even where the text cites nothing."""

from __future__ import annotations

import json

from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from conftest import FIXTURES, fixture_response
from omvarld.core.model import Document, DocumentReference
from omvarld.crawl.sources.riksdagen import RiksdagenSpider
from omvarld.pipeline.stories import annotate
from omvarld.store import MIGRATIONS, Store

BASE = "http://127.0.0.1:8000/riksdagen"  # never contacted


def motion() -> Document:
    """Motion 2014/15:1148 from its recorded dokumentstatus and constructed listing row."""
    listing = json.loads(
        (FIXTURES / "riksdagen/dokumentlista_constructed_mot.json").read_text(encoding="utf-8"))
    row = listing["dokumentlista"]["dokument"][0]
    response = fixture_response("riksdagen/dokumentstatus_mot_H2021148_bostadsbyggande.json",
                                f"{BASE}/dokumentstatus/H2021148.json")
    (doc,) = RiksdagenSpider(base_url=BASE).parse_document(response, row=row)
    return doc


def row_of(store: Store, url: str):
    return next(r for r in store.documents() if r.url == url)


def test_metadata_is_stored_and_read_back(any_store):
    doc = motion()
    assert any_store.save_document(doc) == "new"
    row = row_of(any_store, doc.url)
    assert (row.title, row.subtitle) == ("Bostadsbyggande",
                                         "av Monica Haider och Tomas Eneroth (S)")
    assert (row.responsible, row.subtype) == ("Civilutskottet", "Enskild motion")
    assert row.authors == ["Monica Haider (S)", "Tomas Eneroth (S)"]
    assert row.proposals == doc.proposals and len(row.proposals) == 1
    assert row.doc_references == [{
        "designation": "bet. 2014/15:CU7", "relation": "behandlas_i",
        "title": "Bostadspolitik", "url": "https://data.riksdagen.se/dokument/H201CU7",
    }]


def test_metadata_read_by_a_newer_spider_is_stored_without_changing_the_document(store):
    doc = motion()
    bare = doc.model_copy(update={"authors": [], "references": [], "responsible": None})
    assert store.save_document(bare) == "new"
    assert row_of(store, doc.url).authors is None
    assert store.save_document(doc) == "unchanged"  # same text: not classified again
    row = row_of(store, doc.url)
    assert row.authors == ["Monica Haider (S)", "Tomas Eneroth (S)"]
    assert row.responsible == "Civilutskottet" and len(row.doc_references) == 1


def test_a_matter_links_through_the_structured_reference_not_only_through_citations(store):
    doc = motion()
    assert "CU7" not in doc.text and "CU7" not in doc.summary  # the text cites no report
    report = Document(  # the committee report the motion was treated in
        url="https://data.riksdagen.se/dokument/H201CU7", source="riksdagen",
        publisher="Sveriges riksdag", level="national", doc_type="committee_report",
        title="Bostadspolitik", identifier="bet. 2014/15:CU7", text="Betänkandet.")
    store.save_document(doc)
    store.save_document(report)
    ids = {r.url: r.id for r in store.documents()}
    annotate(store, ids.values())
    assert ("bet. 2014/15:CU7", "bet", False) in store.references_of(ids[doc.url])
    assert [r.url for r in store.matter(ids[doc.url])] == [report.url]
    assert [r.url for r in store.matter(ids[report.url])] == [doc.url]


def test_the_diarienummer_is_an_own_reference_beside_the_designation(store):
    remiss = Document(
        url="https://www.regeringen.se/remisser/2025/12/remiss-av-sou-2025112/",
        source="regeringen", publisher="Regeringskansliet", level="national",
        doc_type="remiss", title="Remiss av SOU 2025:112", identifier="SOU 2025:112",
        diarienummer="Fi2025/02098",
        references=[DocumentReference(designation="not a designation")])
    store.save_document(remiss)
    (doc_id,) = [r.id for r in store.documents()]
    annotate(store, [doc_id])
    refs = store.references_of(doc_id)
    assert ("SOU 2025:112", "sou", True) in refs
    assert ("dnr Fi2025/02098", "dnr", True) in refs
    assert len(refs) == 2  # an unknown designation is left out


def test_migration_0007_adds_and_removes_the_columns(tmp_path):
    url = f"sqlite:///{tmp_path}/m.sqlite"
    store = Store.open(url)
    store.save_document(motion())
    columns = {"subtitle", "subtype", "responsible", "authors", "diarienummer", "proposals",
               "doc_references"}
    assert columns <= {c["name"] for c in inspect(store.engine).get_columns("documents")}
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
    assert not columns & {c["name"] for c in inspect(store.engine).get_columns("documents")}
    store.close()
    again = Store.open(url)  # upgrade back: the document is still there, metadata empty
    assert [r.responsible for r in again.documents()] == [None]
    again.close()
