"""What PostgreSQL adds to the store, tested on every store: full-text per document
language, semantic search (pgvector's HNSW where installed, exact elsewhere), writes
racing from two workers, migrations started by two processes at once."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import date

import numpy as np
import pytest
from sqlalchemy import create_engine, text

from omvarld.core.model import Document, Evidence, Label
from omvarld.store import MIGRATIONS, Store


def _doc(n: int, **overrides) -> Document:
    fields = dict(
        url=f"https://www.regeringen.se/remisser/2026/{n:03d}/", source="regeringen",
        publisher="Regeringskansliet", level="national", doc_type="remiss",
        title=f"Remiss {n}", text=f"Dokument nummer {n}.", language="sv",
        published=date(2026, 1, 1),
    )
    fields.update(overrides)
    return Document(**fields)


# -- full-text ---------------------------------------------------------------------------


def test_fulltext_stems_each_document_in_its_own_language(any_store):
    sv = _doc(1, title="Stärkt trygghet i bostadsrätter",
              text="Regeringen föreslår nya regler för bostadsrättsföreningar.")
    en = _doc(2, title="Affordable housing in cities", language="en",
              text="The Commission proposes measures on housing costs.")
    da = _doc(3, title="Boligpolitik i København", language="da",
              text="Regeringen vil bygge flere boliger til studerende.")
    for d in (sv, en, da):
        any_store.save_document(d)
    ids = {d.url: r.id for d in (sv, en, da) for r in any_store.documents() if r.url == d.url}
    assert [i for i, _ in any_store.fulltext("bostadsrätt")] == [ids[sv.url]]
    assert [i for i, _ in any_store.fulltext("houses")] == [ids[en.url]]
    assert [i for i, _ in any_store.fulltext("boligerne")] == [ids[da.url]]
    # Restricted to given ids; none of them matching gives nothing.
    assert any_store.fulltext("housing", ids=[ids[en.url]]) != []
    assert any_store.fulltext("housing", ids=[ids[sv.url], ids[da.url]]) == []


def test_title_matches_rank_above_text_matches(any_store):
    any_store.save_document(_doc(1, title="Om kollektivtrafik", text="Inget om tåg här."))
    any_store.save_document(_doc(2, title="Järnvägens framtid", text="Mer kollektivtrafik."))
    (first, s1), (second, s2) = any_store.fulltext("kollektivtrafik")
    rows = {r.id: r.title for r in any_store.documents()}
    assert rows[first] == "Om kollektivtrafik" and rows[second] == "Järnvägens framtid"
    assert s1 > s2  # higher is better on every backend


@pytest.mark.parametrize("hostile", ['"', "NEAR(", "title:*", "') OR 1=1 --", "AND OR NOT",
                                     "", "   ", "\x00", "a & | ! <-> b", "-", "'''", "*:*"])
def test_hostile_queries_never_raise(any_store, hostile):
    any_store.save_document(_doc(1))
    assert isinstance(any_store.fulltext(hostile), list)
    assert any_store.count_documents() == 1


# -- semantic search -----------------------------------------------------------------------


def _vectors(n: int, dim: int = 384, seed: int = 7) -> np.ndarray:
    """Unit vectors in a few clusters, like document embeddings of a few topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((5, dim))
    vecs = centres[rng.integers(0, 5, n)] + 0.6 * rng.standard_normal((n, dim))
    return (vecs / np.linalg.norm(vecs, axis=1, keepdims=True)).astype(np.float32)


def test_nearest_finds_the_exact_neighbours_on_every_store(any_store, request):
    vecs = _vectors(60)
    hashes = {}
    for i in range(60):
        any_store.save_document(_doc(i))
    for row in any_store.documents():
        hashes[row.id] = row.content_hash
    ids = sorted(hashes)
    any_store.put_embeddings({hashes[i]: vecs[n] for n, i in enumerate(ids)}, "e5")
    any_store.put_embeddings({"orphan-hash": vecs[0]}, "e5")  # no document: never returned
    any_store.put_embeddings({hashes[ids[1]]: vecs[0]}, "other-model")
    query = vecs[0] + 0.05 * _vectors(1, seed=99)[0]
    sims = vecs @ (query / np.linalg.norm(query))
    expected = [ids[n] for n in np.argsort(-sims)[:5]]
    got = any_store.nearest(query, "e5", 5)
    assert [i for i, _ in got] == expected
    assert np.allclose([s for _, s in got], np.sort(sims)[::-1][:5], atol=1e-5)
    assert any_store.nearest(query, "no-such-model", 5) == []
    assert any_store.has_pgvector == (request.node.callspec.params["store_url"] == "pgvector")


def test_pgvector_answers_from_the_hnsw_index(pgvector_url):
    store = Store.open(pgvector_url)
    assert store.has_pgvector
    q = "[" + ",".join(["0.05"] * 384) + "]"
    with store.engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.execute(text(
            "EXPLAIN SELECT content_hash FROM embeddings WHERE dim = 384 AND model_id = 'm' "
            "ORDER BY embedding::vector(384) <=> CAST(:q AS vector(384)) LIMIT 5"), {"q": q}))
    store.close()
    assert "ix_embeddings_hnsw_384" in plan


def test_without_the_privilege_pgvector_falls_back_and_is_taken_up_later(pgvector_url):
    """A role that may not create the extension gets exact search; once an administrator
    enables pgvector, the next open adds the column, fills it and uses the index."""
    admin = create_engine(pgvector_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS omvarld_app WITH (FORCE)"))
        conn.execute(text("DROP ROLE IF EXISTS omvarld_app"))
        conn.execute(text("CREATE ROLE omvarld_app LOGIN"))
        conn.execute(text("CREATE DATABASE omvarld_app OWNER omvarld_app"))
    app_url = (pgvector_url.replace("postgres:@", "omvarld_app:@")
               .replace("/omvarld?", "/omvarld_app?"))
    store = Store.open(app_url)
    assert store.has_pgvector is False
    vecs = _vectors(3)
    for i in range(3):
        store.save_document(_doc(i))
    rows = store.documents()
    store.put_embeddings({r.content_hash: vecs[n] for n, r in enumerate(rows)}, "e5")
    assert store.nearest(vecs[2], "e5", 1)[0][0] == rows[2].id
    store.close()
    db_admin = create_engine(pgvector_url.replace("/omvarld?", "/omvarld_app?"),
                             isolation_level="AUTOCOMMIT")
    with db_admin.connect() as conn:
        conn.execute(text("CREATE EXTENSION vector"))
    db_admin.dispose()
    again = Store.open(app_url)
    assert again.has_pgvector is True
    assert again.nearest(vecs[2], "e5", 1)[0][0] == rows[2].id
    with again.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM embeddings WHERE embedding IS NULL")
                            ).scalar() == 0
    again.close()
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE omvarld_app WITH (FORCE)"))
        conn.execute(text("DROP ROLE omvarld_app"))
    admin.dispose()


# -- two workers at once -------------------------------------------------------------------


def _race(store_url: str, work, workers: int = 2) -> list:
    """Run `work(store, barrier)` in `workers` threads, each with its own store (its own
    connections), released together; returns their results, re-raising any error."""
    barrier = threading.Barrier(workers)
    results: list = [None] * workers
    errors: list[BaseException] = []

    def run(n: int) -> None:
        store = Store(store_url)
        store.migrate()
        try:
            results[n] = work(store, barrier)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            store.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]
    return results


def test_two_workers_storing_the_same_documents_end_with_one_row_each(any_store, store_url):
    docs = [_doc(i) for i in range(15)]

    def work(store: Store, barrier: threading.Barrier) -> list[str]:
        out = []
        for d in docs:
            barrier.wait(30)
            out.append(store.save_document(d))
        return out

    first, second = _race(store_url, work)
    for a, b in zip(first, second, strict=True):
        assert sorted((a, b)) == ["new", "unchanged"]
    assert any_store.count_documents() == 15
    assert sorted(r.url for r in any_store.documents()) == sorted(d.url for d in docs)


def test_two_workers_labelling_and_embedding_the_same_document_never_fail(any_store, store_url):
    any_store.save_document(_doc(1))
    row = any_store.documents()[0]
    vec = _vectors(1)[0]

    def work(store: Store, barrier: threading.Barrier) -> None:
        for n in range(10):
            label = Label(area="bostader", score=3.0 + n, threshold=2.5, model_version=f"v{n}",
                          evidence=Evidence(terms=["bostadsrätt"]))
            barrier.wait(30)
            store.save_labels(row.id, row.content_hash, [label])
            barrier.wait(30)
            store.put_embeddings({f"h{n}": vec, row.content_hash: vec}, "e5")
            barrier.wait(30)
            store.save_annotations(row.id, [("Boverket", "authority", n + 1)],
                                   [("sou-2025-1", "sou", False)])

    _race(store_url, work)
    stored = any_store.document(row.id)
    assert [(lb.area, lb.model_version, lb.score) for lb in stored.labels] == [
        ("bostader", "v9", 12.0)]
    assert any_store.stakeholders_of(row.id) == [("Boverket", "authority", 10)]
    assert set(any_store.embeddings([f"h{n}" for n in range(10)], "e5")) == {
        f"h{n}" for n in range(10)}


def test_two_processes_opening_a_fresh_database_migrate_it_once(store_url):
    code = ("import sys; from omvarld.store import Store; s = Store.open(sys.argv[1]); "
            "print(s.count_documents())")
    procs = [subprocess.Popen([sys.executable, "-c", code, store_url], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [e for _, e in outs]
    store = Store.open(store_url)
    with store.engine.connect() as conn:
        versions = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    assert versions == [ScriptDirectory.from_config(cfg).get_current_head()]
    store.close()
