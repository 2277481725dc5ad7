"""The store on every backend (a real SQLite file, the machine's PostgreSQL, pgserver's
PostgreSQL with pgvector): identity by URL, idempotent saves, full-text, migrations."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pytest
from sqlalchemy import inspect, text

from omvarld.core.model import CrawlReport, Document, Evidence, Label


def _doc(**overrides) -> Document:
    fields = dict(
        url="https://www.regeringen.se/remisser/2026/01/remiss-av-ds-202528/",
        source="regeringen", publisher="Regeringskansliet", level="national",
        doc_type="remiss", title="Remiss av Ds 2025:28 Stärkt trygghet i bostadsrätter",
        text="Remissvaren ska ha kommit in senast den 10 mars 2026. Hyresrätter och bostäder.",
        language="sv", deadline=date(2026, 3, 10),
    )
    fields.update(overrides)
    return Document(**fields)


@pytest.fixture
def store(any_store):
    """Every test here runs on every store (tests/conftest.py: `any_store`)."""
    return any_store


def test_migrations_create_every_table_and_wal(tmp_path):
    from omvarld.store import Store

    store = Store.open(f"sqlite:///{tmp_path}/store.sqlite")
    tables = set(inspect(store.engine).get_table_names())
    assert {"documents", "labels", "embeddings", "crawl_runs", "digests", "feedback",
            "documents_fts", "alembic_version"} <= tables
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_saving_twice_stores_once_and_a_change_updates_in_place(store):
    assert store.save_document(_doc()) == "new"
    first = store.documents()[0]
    assert store.save_document(_doc()) == "unchanged"
    assert store.save_document(_doc(text="Ny text om bostadsbyggande.")) == "updated"
    rows = store.documents()
    assert len(rows) == 1
    assert rows[0].id == first.id
    assert rows[0].first_seen == first.first_seen
    assert rows[0].text == "Ny text om bostadsbyggande."
    assert rows[0].updated is not None


def test_fulltext_follows_updates_and_survives_hostile_queries(store):
    store.save_document(_doc())
    assert [i for i, _ in store.fulltext("bostadsrätter")] == [store.documents()[0].id]
    store.save_document(_doc(text="Helt annat innehåll om järnväg."))
    assert store.fulltext("Hyresrätter") == []
    assert store.fulltext("järnväg")
    for hostile in ['"', "NEAR(", "title:*", "') OR 1=1 --", "AND OR NOT", ""]:
        store.fulltext(hostile)  # never a syntax error


def test_reopening_the_file_keeps_everything(tmp_path):
    from omvarld.store import Store

    url = f"sqlite:///{tmp_path}/s.sqlite"
    Store.open(url).save_document(_doc())
    again = Store.open(url)  # migrations run again: nothing to do
    assert again.count_documents() == 1


def test_labels_replace_and_mark_document_classified(store):
    store.save_document(_doc())
    row = store.documents()[0]
    assert [r.id for r in store.pending_classification()] == [row.id]
    label = Label(area="bostader", score=3.1, threshold=2.5, model_version="t",
                  evidence=Evidence(terms=["bostadsrätt"], sentence="Hyresrätter och bostäder."))
    store.save_labels(row.id, row.content_hash, [label])
    store.save_labels(row.id, row.content_hash, [label])
    stored = store.document(row.id)
    assert [(lb.area, lb.accepted) for lb in stored.labels] == [("bostader", True)]
    assert store.pending_classification() == []
    store.save_document(_doc(text="Ändrad."))
    assert [r.id for r in store.pending_classification()] == [row.id]


def test_labels_for_stale_content_are_not_saved(store):
    store.save_document(_doc())
    row = store.documents()[0]
    store.save_document(_doc(text="Ändrad medan den klassades."))
    store.save_labels(row.id, row.content_hash, [Label(
        area="bostader", score=3, threshold=2.5, model_version="t", evidence=Evidence())])
    assert store.document(row.id).labels == []


def test_embeddings_are_cached_by_content_hash_and_model(store):
    vec = np.arange(4, dtype=np.float32)
    store.put_embeddings({"h1": vec}, "m")
    store.put_embeddings({"h1": vec * 2}, "m")  # already there: kept, not duplicated
    got = store.embeddings(["h1", "h2"], "m")
    assert list(got) == ["h1"]
    assert np.array_equal(got["h1"], vec)
    assert store.embeddings(["h1"], "other-model") == {}


def test_crawl_runs_report_last_run_per_source(store):
    run = store.start_crawl("riksdagen")
    store.finish_crawl(run, CrawlReport(source="riksdagen", started=datetime(2026, 11, 23),
                                        status="ok", new=3, unchanged=2))
    failed = store.start_crawl("riksdagen")
    store.finish_crawl(failed, CrawlReport(source="riksdagen", started=datetime(2026, 11, 23),
                                           status="failed", errors=["HTTP 500"]))
    last = store.last_crawls()["riksdagen"]
    assert (last.status, last.errors) == ("failed", ["HTTP 500"])
    assert store.last_success("riksdagen") is not None
