"""`omvarld db migrate-from`: a real SQLite store moved into each real PostgreSQL (with
and without pgvector) with nothing lost, resumed after an interruption, and a difference
reported with exit status 1."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from omvarld.core.model import CrawlReport, Document, Evidence, Label
from omvarld.store import Store
from omvarld.store.transfer import migrate_from_sqlite


@pytest.fixture(params=["postgres", "pgvector"])
def pg_url(request):
    from tests.conftest import _empty_schema

    url = request.getfixturevalue(f"{request.param}_url")
    _empty_schema(url)
    return url


@pytest.fixture
def sqlite_store(tmp_path) -> Path:
    """A SQLite store with a row in every table: Swedish and Danish text, a NUL, floats
    that do not round-trip through text carelessly, JSON evidence, vectors."""
    path = tmp_path / "omvarld.sqlite"
    store = Store.open(f"sqlite:///{path}")
    rng = np.random.default_rng(3)
    for n in range(7):
        store.save_document(Document(
            url=f"https://www.regeringen.se/remisser/2026/{n:02d}/", source="regeringen",
            publisher="Regeringskansliet", level="national", doc_type="remiss",
            title=f"Remiss {n}: bostadsrätter och hyresrätter i Malmö",
            text=f"Text nummer {n} om bostäder.\x00 Slut." if n == 3 else f"Text {n} om bostäder.",
            language="da" if n == 5 else "sv", published=date(2026, 1, n + 1),
            deadline=date(2026, 3, n + 1), attachments=[f"https://x/{n}.pdf"],
        ))
    rows = store.documents()
    for row in rows:
        store.save_labels(row.id, row.content_hash, [Label(
            area="bostader", score=0.1 + 1 / 3 * row.id, threshold=2.5, model_version="t",
            evidence=Evidence(terms=["bostadsrätt", "hyresrätt"], sentence="Om bostäder.",
                              similarity=0.123456789012345),
        )])
        store.save_annotations(row.id, [("Boverket", "authority", row.id)],
                               [(f"ds-2025-{row.id}", "ds", True)])
    store.put_embeddings({r.content_hash: rng.standard_normal(384).astype(np.float32)
                          for r in rows}, "e5")
    run = store.start_crawl("regeringen", datetime(2026, 11, 23, 6, 0, 0, 123456))
    store.finish_crawl(run, CrawlReport(source="regeringen", started=datetime(2026, 11, 23),
                                        status="ok", new=7, errors=["timeout på sida 3"]))
    store.record_digest("2026-W47", "abc", {"html": "digests/2026-W47.html"}, 7)
    store.add_feedback(rows[0].id, "miljo", "add", "analytiker", "Även klimat")
    store.set_story([r.id for r in rows[:2]], rows[0].id)
    store.close()
    return path


def test_everything_is_copied_and_every_table_compares_equal(sqlite_store, pg_url):
    checks = migrate_from_sqlite(sqlite_store, pg_url, batch=3)
    by_table = {c.table: c for c in checks}
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    assert {"documents", "labels", "embeddings", "crawl_runs", "digests", "feedback",
            "document_stakeholders", "document_references"} <= set(by_table)
    # seven labels, and the one an analyst's correction added
    assert by_table["documents"].target_rows == 7 and by_table["labels"].target_rows == 8
    assert by_table["embeddings"].copied == 7

    src, dst = Store.open(f"sqlite:///{sqlite_store}"), Store.open(pg_url)
    for a, b in zip(src.documents(), dst.documents(), strict=True):
        assert (a.id, a.url, a.title, a.first_seen, a.story_id, a.attachments) == (
            b.id, b.url, b.title, b.first_seen, b.story_id, b.attachments)
        assert a.labels[0].score == b.labels[0].score  # the exact float
        assert a.labels[0].evidence == b.labels[0].evidence
    assert dst.document(4).text == "Text nummer 3 om bostäder. Slut."  # NUL dropped
    hashes = [d.content_hash for d in src.documents()]
    got = dst.embeddings(hashes, "e5")
    assert all(np.array_equal(got[h], v) for h, v in src.embeddings(hashes, "e5").items())
    # The target's own indexes answer for the copied rows, and new rows get new ids.
    assert len(dst.fulltext("bostadsrätter", limit=50)) == 7
    vec = src.embeddings([hashes[2]], "e5")[hashes[2]]
    assert dst.nearest(vec, "e5", 1)[0][0] == src.documents()[2].id
    assert dst.save_document(Document(
        url="https://ny.se/1", source="regeringen", publisher="R", level="national",
        doc_type="remiss", title="Ny", language="sv")) == "new"
    assert max(d.id for d in dst.documents()) == 8
    assert dst.last_crawls()["regeringen"].errors == ["timeout på sida 3"]
    src.close()
    dst.close()


def test_an_interrupted_copy_resumes_without_duplicates(sqlite_store, pg_url):
    class Stop(Exception):
        pass

    def interrupt(table: str, done: int, total: int) -> None:
        if table == "labels" and done >= 3:
            raise Stop

    with pytest.raises(Stop):
        migrate_from_sqlite(sqlite_store, pg_url, batch=3, progress=interrupt)
    dst = Store.open(pg_url)
    with dst.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM labels")).scalar() == 3
    checks = {c.table: c for c in migrate_from_sqlite(sqlite_store, pg_url, batch=3)}
    assert all(c.ok for c in checks.values())
    assert (checks["documents"].copied, checks["labels"].copied) == (0, 5)
    assert checks["labels"].target_rows == 8
    dst.close()


def test_a_difference_is_reported_with_exit_status_1(sqlite_store, pg_url):
    from omvarld.cli.main import app

    runner = CliRunner()
    ok = runner.invoke(app, ["db", "migrate-from", str(sqlite_store), "--to", pg_url])
    assert ok.exit_code == 0, ok.output
    assert "tables the same" in ok.output and "DIFFERENT" not in ok.output
    dst = Store.open(pg_url)
    with dst.engine.begin() as conn:
        conn.execute(text("UPDATE labels SET score = score + 1e-9 WHERE id = 2"))
    dst.close()
    again = runner.invoke(app, ["db", "migrate-from", str(sqlite_store), "--to", pg_url])
    assert again.exit_code == 1
    assert "DIFFERENT" in again.output and "labels" in again.output


def test_a_missing_file_or_a_sqlite_target_is_a_clear_error(tmp_path, sqlite_store):
    from omvarld.cli.main import app

    runner = CliRunner()
    missing = runner.invoke(app, ["db", "migrate-from", str(tmp_path / "nej.sqlite"),
                                  "--to", "postgresql+psycopg://x@127.0.0.1:1/x"])
    assert missing.exit_code == 1 and "no such SQLite file" in " ".join(missing.output.split())
    to_sqlite = runner.invoke(app, ["db", "migrate-from", str(sqlite_store),
                                    "--to", f"sqlite:///{tmp_path}/b.sqlite"])
    assert to_sqlite.exit_code == 1 and "must be PostgreSQL" in " ".join(to_sqlite.output.split())
