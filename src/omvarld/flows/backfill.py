"""The backfill flow: embed and classify a whole store (or what the current classifier
has not labelled yet) in batches spread over a Dask cluster.

Why a flow of its own: `omvarld classify` works through one process under one lock, which
is right for a day's new documents but takes hours for a store of 100,000 documents or
after the model or head changed. Here the documents to do are split into batches of ids,
and each batch is a Prefect task run by `prefect_dask.DaskTaskRunner`: a
`distributed.LocalCluster` of `workers` single-threaded processes, or the workers of an
existing scheduler (`scheduler_address`, e.g. `tcp://10.0.0.5:8786`), on as many
machines as there are.

Why it is safe to kill: every batch opens the store itself and first drops the documents
that already carry labels for their current content hash from the current classifier
(`FocusAreaClassifier.version`: head + embedding model). Labels are written per document
in one transaction and vectors are upserted, so a backfill killed halfway leaves finished
batches finished, and the same command run again does only the rest. Two backfills at
once only waste work: the store's row lock makes their writes take turns.

Stories (near-duplicate linking) need every vector in place, so they are linked once at
the end, in one task, after the batches.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.futures import as_completed
from pydantic import BaseModel, Field
from sqlalchemy import and_, exists, or_, select

from omvarld.store import Store
from omvarld.store.tables import DocumentRow, LabelRow

DEFAULT_BATCH_SIZE = 200
# One thread per Dask worker, and one for torch/OpenMP inside it: a worker is one core.
WORKER_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
              "TOKENIZERS_PARALLELISM": "false"}


class BatchResult(BaseModel):
    """What one batch did; `skipped`: documents already labelled by this classifier."""

    index: int
    documents: int
    classified: int = 0
    labelled: int = 0
    skipped: int = 0
    failed: int = 0
    seconds: float = 0.0
    worker: str = ""
    classified_ids: list[int] = Field(default_factory=list)


class BackfillReport(BaseModel):
    """The whole backfill, for the CLI, the artifact and the benchmark."""

    selected: int = 0
    batches: int = 0
    batch_size: int = DEFAULT_BATCH_SIZE
    classified: int = 0
    labelled: int = 0
    skipped: int = 0
    failed: int = 0
    failed_batches: list[str] = Field(default_factory=list)
    linked: int = 0
    model_version: str = ""
    cluster: str = ""
    workers_used: list[str] = Field(default_factory=list)
    classify_seconds: float = 0.0  # wall time of the batches alone
    seconds: float = 0.0
    dry_run: bool = False

    @property
    def docs_per_second(self) -> float:
        return self.classified / self.classify_seconds if self.classify_seconds else 0.0

    def summary(self) -> str:
        if self.dry_run:
            return (f"{self.selected} documents to classify in {self.batches} batches of "
                    f"{self.batch_size} (dry run: nothing classified)")
        text = (f"{self.classified} documents classified ({self.labelled} in a focus area) in "
                f"{self.batches} batches on {self.cluster}: {self.docs_per_second:.1f} docs/s; "
                f"{self.skipped} already done, {self.failed} failed, {self.linked} linked "
                "to a story")
        if self.failed_batches:
            text += "; failed batches: " + "; ".join(self.failed_batches[:3])
        return text

    def markdown(self) -> str:
        rows = [("documents selected", self.selected), ("batches", self.batches),
                ("batch size", self.batch_size), ("classified", self.classified),
                ("in a focus area", self.labelled), ("already done (skipped)", self.skipped),
                ("failed", self.failed), ("linked to a story", self.linked),
                ("classifier", f"`{self.model_version}`"), ("cluster", self.cluster),
                ("Dask workers used", ", ".join(self.workers_used) or "–"),
                ("classification time", f"{self.classify_seconds:.1f} s"),
                ("throughput", f"{self.docs_per_second:.1f} docs/s")]
        lines = ["# omvarld backfill", "", "| | |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in rows]
        if self.failed_batches:
            lines += ["", "## Failed batches (run the backfill again to retry them)", ""]
            lines += [f"- {error}" for error in self.failed_batches]
        return "\n".join(lines) + "\n"


# -- selection -------------------------------------------------------------------------

def _needs_labels(version: str) -> Any:
    """Never classified, changed since, or not labelled by the classifier `version`."""
    current = exists().where(and_(LabelRow.document_id == DocumentRow.id,
                                  LabelRow.model_version == version))
    return or_(DocumentRow.classified_hash.is_(None),
               DocumentRow.classified_hash != DocumentRow.content_hash,
               ~current)


def ids_to_classify(store: Store, version: str, everything: bool = False,
                    among: list[int] | None = None) -> list[int]:
    """Ids (ascending) of the documents the classifier `version` still has to label;
    with `everything`, all of them. `among`: only these ids."""
    query = select(DocumentRow.id).order_by(DocumentRow.id)
    if not everything:
        query = query.where(_needs_labels(version))
    if among is not None:
        query = query.where(DocumentRow.id.in_(among))
    with store.session() as s:
        return list(s.scalars(query))


def split(ids: list[int], size: int) -> list[list[int]]:
    return [ids[start : start + size] for start in range(0, len(ids), size)]


# -- in each Dask worker ---------------------------------------------------------------

_STORES: dict[str, Store] = {}


def _store(database_url: str) -> Store:
    """One store per worker process: opening migrates, which is not free."""
    if database_url not in _STORES:
        _STORES[database_url] = Store.open(database_url)
    return _STORES[database_url]


def _logger() -> Any:
    """The run's logger; the module's when called outside a run (`classify_batch.fn`)."""
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def _worker_name() -> str:
    import os
    import socket

    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return f"{socket.gethostname()}:{os.getpid()}"


def _load_classifier() -> str:
    """In a worker: build the classifier (kept for the process); its version."""
    from omvarld.pipeline.classify import classifier_for

    return classifier_for().version


def warm_workers() -> str:
    """Load the model in every Dask worker at once, before the clock of the first batch
    starts, and check that they all load the same classifier (workers on several
    machines with different models or heads would mix labels): its version."""
    from prefect.context import FlowRunContext

    from omvarld.core.errors import ConfigError

    context = FlowRunContext.get()
    client = getattr(context.task_runner, "client", None) if context else None
    if client is None:  # not on Dask: load it here
        return _load_classifier()
    versions = client.run(_load_classifier)
    if not versions:
        raise ConfigError("command line", "--scheduler",
                          f"the Dask scheduler at {client.scheduler.address} has no workers: "
                          "start some with `dask worker ADDRESS --nthreads 1`")
    if len(set(versions.values())) != 1:
        found = ", ".join(f"{worker}: {v}" for worker, v in sorted(versions.items()))
        raise ConfigError("environment", "OMVARLD_MODEL_DIR / OMVARLD_HEAD",
                          f"the Dask workers load different classifiers ({found}); "
                          "give every worker the same model folder and head")
    return next(iter(versions.values()))


@task(task_run_name="backfill-batch-{index}", retries=1, retry_delay_seconds=10)
def classify_batch(database_url: str, ids: list[int], index: int,
                   everything: bool = False) -> BatchResult:
    """Embed and classify one batch; documents already done by this classifier (same
    content hash, same version) are skipped, so a batch run twice does nothing twice.
    With `everything` every document of the batch is classified again."""
    from omvarld.pipeline.classify import classifier_for, classify_rows

    log = _logger()
    started = time.perf_counter()
    store = _store(database_url)
    classifier = classifier_for(store)
    todo = ids if everything else ids_to_classify(store, classifier.version, among=ids)
    result = BatchResult(index=index, documents=len(ids), skipped=len(ids) - len(todo),
                         worker=_worker_name())
    outcome = classify_rows(store, classifier, store.documents_by_ids(todo))
    for doc_id in outcome.failed:
        log.error("batch %d: document %s not classified; left for the next run", index, doc_id)
    result.classified, result.labelled = len(outcome.classified), outcome.labelled
    result.failed, result.classified_ids = len(outcome.failed), outcome.classified
    result.seconds = time.perf_counter() - started
    return result


@task(task_run_name="link-stories")
def link_backfilled(database_url: str, ids: list[int]) -> int:
    """Stories for the documents classified, and for any an interrupted run left unlinked."""
    from omvarld.pipeline.classify import link_pending

    store = Store.open(database_url)
    try:
        return link_pending(store, sorted(set(ids) | set(store.unlinked_documents())))
    finally:
        store.close()


# -- the flows -------------------------------------------------------------------------

def task_runner(scheduler_address: str | None, workers: int | None) -> Any:
    """A Dask task runner: the scheduler at `scheduler_address`, else a local cluster of
    `workers` processes (default: one per core) with one thread each."""
    import os

    from prefect_dask import DaskTaskRunner

    if scheduler_address:
        return DaskTaskRunner(address=scheduler_address)
    n = workers or len(os.sched_getaffinity(0))
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True,
                        "dashboard_address": None, "env": WORKER_ENV})


def describe_cluster(scheduler_address: str | None, workers: int | None) -> str:
    import os

    if scheduler_address:
        return f"Dask scheduler {scheduler_address}"
    n = workers or len(os.sched_getaffinity(0))
    return f"local Dask cluster of {n} worker{'s' if n != 1 else ''}"


@flow(name="omvarld-backfill-batches")
def run_batches(database_url: str, batch_size: int, everything: bool,
                dry_run: bool, report: BackfillReport) -> tuple[BackfillReport, list[int]]:
    """On the Dask cluster: read the classifier's version, select the documents, run
    every batch; the report filled in and the ids classified."""
    log = get_run_logger()
    version = warm_workers()
    report.model_version = version
    store = Store.open(database_url)
    try:
        ids = ids_to_classify(store, version, everything)
    finally:
        store.close()
    batches = split(ids, batch_size)
    report.selected, report.batches = len(ids), len(batches)
    log.info("%d documents to classify with %s, in %d batches of %d, on %s", len(ids),
             version, len(batches), batch_size, report.cluster)
    if dry_run or not batches:
        return report, []
    started = time.perf_counter()
    futures = {classify_batch.submit(database_url, b, i + 1, everything): (i + 1, len(b))
               for i, b in enumerate(batches)}
    classified: list[int] = []
    workers: set[str] = set()
    done = 0
    for future in as_completed(list(futures)):
        index, size = futures[future]
        done += size
        future.wait()  # the final state, not what the API has recorded so far
        state = future.state
        if not state.is_completed():
            exc = state.result(raise_on_failure=False)
            report.failed += size
            report.failed_batches.append(f"batch {index}: {type(exc).__name__}: {exc}")
            log.error("batch %d of %d failed: %s", index, len(batches), exc)
            continue
        result: BatchResult = future.result()
        report.classified += result.classified
        report.labelled += result.labelled
        report.skipped += result.skipped
        report.failed += result.failed
        classified += result.classified_ids
        if result.classified:
            workers.add(result.worker)
        log.info("batch %d of %d on %s: %d classified, %d already done, %d failed "
                 "(%.1f s); %d of %d documents", index, len(batches), result.worker,
                 result.classified, result.skipped, result.failed, result.seconds, done,
                 len(ids))
    report.classify_seconds = time.perf_counter() - started
    report.workers_used = sorted(workers)
    return report, sorted(classified)


@flow(name="omvarld-backfill")
def backfill(
    database_url: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    scheduler_address: str | None = None,
    workers: int | None = None,
    dry_run: bool = False,
    everything: bool = False,
    link: bool = True,
) -> BackfillReport:
    """Embed and classify, in batches on a Dask cluster, every document the current
    classifier has not labelled (every document with `everything`). Run it again after
    an interruption: finished batches are skipped."""
    from omvarld.core.settings import get_settings
    from omvarld.flows.check import config_gate

    if (failed := config_gate()) is not None:
        return failed
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if workers is not None and workers < 1:
        raise ValueError("workers must be at least 1")
    database_url = database_url or get_settings().database_url
    started = time.perf_counter()
    if dry_run and not scheduler_address:
        workers = 1  # only the classifier's version is needed
    report = BackfillReport(batch_size=batch_size, dry_run=dry_run,
                            cluster=describe_cluster(scheduler_address, workers))
    on_cluster = run_batches.with_options(task_runner=task_runner(scheduler_address, workers))
    try:
        report, classified = on_cluster(database_url, batch_size, everything, dry_run, report)
    except OSError as exc:  # distributed's "Timed out trying to connect" is one too
        if not scheduler_address:
            raise
        from omvarld.core.errors import OmvarldError

        raise OmvarldError(f"cannot reach the Dask scheduler at {scheduler_address} ({exc}): "
                           "start it with `dask scheduler`, or leave out --scheduler for a "
                           "local cluster") from exc
    if link and classified:
        report.linked = link_backfilled(database_url, classified)
    report.seconds = time.perf_counter() - started
    get_run_logger().info("%s", report.summary())
    create_markdown_artifact(report.markdown(), key="omvarld-backfill",
                             description="omvarld backfill report")
    return report
