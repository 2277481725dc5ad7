"""The Prefect tasks every flow composes, each a thin call into the library.

- `crawl_source`: one source in its own subprocess (`omvarld.crawl.run`), under a store lock so
  that two overlapping runs never crawl the same source; a failed crawl raises, so Prefect
  retries it with back-off, and is never cached. A finished source is cached for the flow
  run (`INPUTS + TASK_SOURCE + RUN_ID`): a retried flow run does not crawl it again.
- `classify_documents`: new and changed documents, in batches, under the `classify` lock;
  idempotent (labels keep the hash they were computed from), so a killed run resumes.
- `notify_watches`: every watch applied to what is stored; subscribers who asked for an
  e-mail as matches arrive get one per watch (a dry run records the matches and leaves
  the e-mails to the next run).
- `build_digest`, then `send_digest`; `check_alerts` after the crawls.

`crawl_all` and `finish_run` are the plumbing the flows share.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import INPUTS, RUN_ID, TASK_SOURCE
from prefect.context import TaskRunContext

from omvarld.core.failpoints import failpoint
from omvarld.core.model import CrawlReport
from omvarld.ops.locks import (
    CRAWL_LOCK_MARGIN,
    crawl_lock,
    crawl_lock_ttl,
    holder_of,
    locked,
    refresh,
)
from omvarld.ops.report import RunReport, SourceRow, save_report
from omvarld.ops.schedule import CrawlPolicy, ScheduleConfig
from omvarld.store import Store, utcnow

CLASSIFY_LOCK_TTL = timedelta(minutes=30)  # pushed forward after every batch
LOCK_MARGIN = CRAWL_LOCK_MARGIN


class CrawlFailed(Exception):
    """A source's crawl failed; carries its report (as JSON, so it pickles)."""

    def __init__(self, report_json: str) -> None:
        super().__init__(report_json)
        self.report_json = report_json

    @property
    def report(self) -> CrawlReport:
        return CrawlReport.model_validate_json(self.report_json)

    def __str__(self) -> str:
        report = self.report
        return f"{report.source}: " + ("; ".join(report.errors[:3]) or "failed")


def run_holder() -> str:
    """Who holds a lock: the flow run (a resumed run is the same holder), else a one-off."""
    from prefect.runtime import flow_run

    return f"flow-run:{flow_run.id}" if flow_run.id else f"process:{uuid.uuid4()}"


@task(task_run_name="crawl-{source_id}", cache_policy=INPUTS + TASK_SOURCE + RUN_ID,
      cache_expiration=timedelta(days=3), persist_result=True)
def crawl_source(source_id: str, base_url: str | None, database_url: str,
                 timeout: float) -> SourceRow:
    from omvarld.crawl.run import run_crawl_in_subprocess  # Twisted stays out of this process
    from omvarld.ops.health import close_abandoned_runs

    log = get_run_logger()
    context = TaskRunContext.get()
    attempt = context.task_run.run_count if context else 1
    store = Store.open(database_url)
    try:
        holder = run_holder()
        with locked(store, crawl_lock(source_id), holder, crawl_lock_ttl(timeout)) as mine:
            if not mine:
                other = holder_of(store, crawl_lock(source_id))
                log.warning("%s is being crawled by %s: skipped", source_id, other)
                return SourceRow(source=source_id, status="skipped", attempts=attempt,
                                 error=f"another run is crawling it ({other})")
            close_abandoned_runs(store, timedelta(0), source=source_id)  # a dead run's
            report = run_crawl_in_subprocess(source_id, base_url=base_url,
                                              database_url=database_url, timeout=timeout)
        failpoint("crawl.source-done")
    finally:
        store.close()
    if report.status == "failed":
        log.warning("%s failed (attempt %d): %s", source_id, attempt,
                    "; ".join(report.errors[:3]) or "no detail")
        raise CrawlFailed(report.model_dump_json())
    log.info("%s: %d new, %d updated, %d unchanged, %d failed", source_id, report.new,
             report.updated, report.unchanged, report.failed)
    return SourceRow.from_crawl(report, attempts=attempt)


def crawl_retries(policy: CrawlPolicy) -> int:
    """Scheduled runs (from a deployment) retry a failed source with back-off; a run
    started by hand (`omvarld weekly`, a test) reports it at once instead of waiting."""
    from prefect.runtime import deployment

    return policy.retries if deployment.id else 0


def crawl_all(ids: list[str], base_urls: dict[str, str], database_url: str,
              policy: CrawlPolicy, min_items: float) -> list[SourceRow]:
    """Crawl every source at once, each a task of its own; one failing source is a
    failed row, never the end of the run. A source that answered with nothing where it
    used to return documents is marked broken."""
    from omvarld.ops.health import close_abandoned_runs, source_health

    timeout = policy.timeout()
    store = Store.open(database_url)
    try:
        closed = close_abandoned_runs(store, timedelta(seconds=timeout) + LOCK_MARGIN)
        if closed:
            get_run_logger().warning("%d crawl runs left by an interrupted run marked failed",
                                     closed)
    finally:
        store.close()
    retries = crawl_retries(policy)
    crawl = crawl_source.with_options(retries=retries,
                                      retry_delay_seconds=policy.retry_delay_seconds)
    futures = [crawl.submit(sid, base_urls.get(sid), database_url, timeout) for sid in ids]
    rows: list[SourceRow] = []
    for sid, future in zip(ids, futures, strict=True):
        future.wait()
        state = future.state
        if state.is_completed():
            rows.append(future.result())
            continue
        exc: Any = state.result(raise_on_failure=False)
        if isinstance(exc, CrawlFailed):
            rows.append(SourceRow.from_crawl(exc.report, attempts=retries + 1))
        else:
            rows.append(SourceRow(source=sid, status="failed", attempts=retries + 1,
                                  error=f"{sid}: {type(exc).__name__}: {exc}"))
    store = Store.open(database_url)
    try:
        health = source_health(store, ids, min_items=min_items)
    finally:
        store.close()
    for row in rows:
        h = health.get(row.source)
        if row.status == "ok" and h is not None and h.status == "broken":
            row.status, row.error = "broken", h.problem or "broken"
    return rows


@task(task_run_name="check-alerts")
def check_alerts(database_url: str, sources: list[str], schedule: ScheduleConfig,
                 dry_run: bool) -> list[str]:
    from omvarld.ops.alerts import check_and_alert
    from omvarld.ops.health import source_health

    store = Store.open(database_url)
    try:
        health = source_health(store, sources, min_items=schedule.alerts.broken_min_items)
        alerts = check_and_alert(store, health, schedule.alerts, dry_run=dry_run)
    finally:
        store.close()
    return [f"{a.subject} — " + ("sent to " + ", ".join(a.recipients) if a.sent
                                 else f"not sent ({a.error})") for a in alerts]


@task(task_run_name="classify")
def classify_documents(database_url: str, everything: bool = False,
                       batch: int = 32) -> tuple[int, int, str, int]:
    """(classified, labelled, why skipped, documents still waiting for labels or a
    story when it ended)."""
    from omvarld.pipeline.classify import classify_pending

    log = get_run_logger()
    store = Store.open(database_url)
    holder = run_holder()
    try:
        with locked(store, "classify", holder, CLASSIFY_LOCK_TTL) as mine:
            if not mine:
                other = holder_of(store, "classify")
                log.warning("another run (%s) is classifying: skipped", other)
                return 0, 0, f"another run is classifying ({other})", pending(store)

            def step(done: int, total: int) -> None:
                refresh(store, "classify", holder, CLASSIFY_LOCK_TTL)
                log.info("classified %d of %d", done, total)

            report = classify_pending(store, everything=everything, batch=batch,
                                      progress=step)
        left = pending(store)
    finally:
        store.close()
    return report.documents, report.labelled, "", left


def pending(store: Store) -> int:
    """Documents without labels for their content, or classified but without a story."""
    return len(set(store.classification_ids()) | set(store.unlinked_documents()))


@task(task_run_name="notify-watches")
def notify_watches(database_url: str, dry_run: bool = False) -> tuple[int, int, list[str]]:
    """(new matches, e-mails sent, failed sends). A failed send is retried next run: the
    subscriber's position only moves past what was delivered."""
    from omvarld.search.watches import apply, notify

    log = get_run_logger()
    store = Store.open(database_url)
    try:
        new = sum(apply(store).values())
        if dry_run:
            log.info("dry run: %d new watch matches recorded, no e-mail", new)
            return new, 0, []
        result = notify(store, refresh=False)  # just applied
    finally:
        store.close()
    for failure in result.failed:
        log.warning("watch e-mail failed: %s", failure)
    return new, result.sent, list(result.failed)


@task(task_run_name="build-digest-{week}")
def build_digest(database_url: str, week: str, out_dir: str, max_age_days: int | None,
                 incomplete_sources: list[str] | None = None,
                 replayed: bool = False) -> dict[str, str]:
    """The digest's files; `incomplete_sources` (not crawled in full by this run) are
    named in its "built from N of M" line; a `replayed` digest says it was built from the
    recorded responses."""
    from omvarld.config.load import load_focus_areas
    from omvarld.digest.write import write_digest

    store = Store.open(database_url)
    try:
        paths = write_digest(store, week, Path(out_dir), areas=load_focus_areas(),
                             max_age_days=max_age_days, replayed=replayed,
                             incomplete_sources=incomplete_sources or ())
        failpoint("digest.written")
    finally:
        store.close()
    return {kind: str(path) for kind, path in paths.items()}


@task(task_run_name="send-digest-{week}", retries=2, retry_delay_seconds=[60, 300])
def send_digest(database_url: str, week: str, dry_run: bool) -> tuple[list[str], str]:
    """(recipients it went to, why not sent). Sending twice is a no-op (the digest
    module records every send)."""
    from omvarld.digest.deliver import send_digest as send

    store = Store.open(database_url)
    try:
        result = send(store, week, dry_run=dry_run)
    finally:
        store.close()
    if result.sent:
        return list(result.recipients), ""
    if dry_run:
        return [], f"dry run: would go to {', '.join(result.recipients) or 'nobody'}"
    return [], result.skipped_reason or "not sent"


def resolve_week(week: str | None) -> str:
    """None or "current": this ISO week; "previous": the one that ended last Sunday."""
    from omvarld.digest.build import current_week

    if week in (None, "", "current"):
        return current_week()
    if week == "previous":
        return current_week(utcnow() - timedelta(days=7))
    return week


class PartialRun(Exception):
    """A run that did not do everything, and was not told that partial is fine; carries
    its report (as JSON, so it pickles)."""

    def __init__(self, report_json: str) -> None:
        super().__init__(report_json)
        self.report_json = report_json

    @property
    def report(self) -> RunReport:
        return RunReport.model_validate_json(self.report_json)

    def __str__(self) -> str:
        report = self.report
        return (f"the {report.flow} run was partial: " + "; ".join(report.problems[:5]))


def finish_run(report: RunReport, database_url: str, *, allow_partial: bool = True,
               alert: bool = False) -> RunReport:
    """Close the report: to the store and to a Prefect artifact. With `alert`, a partial
    run e-mails the operators once (a complete one closes that episode); unless
    `allow_partial`, a partial run then fails (`PartialRun`), so that its exit status and
    Prefect's state say so."""
    report.finished = utcnow()
    store = Store.open(database_url)
    try:
        if alert:
            from omvarld.ops.alerts import check_partial_run
            from omvarld.ops.schedule import load_schedule

            report.alerts += [
                f"{a.subject} — " + ("sent to " + ", ".join(a.recipients) if a.sent
                                     else f"not sent ({a.error})")
                for a in check_partial_run(store, report.flow, report.problems,
                                           load_schedule().alerts, dry_run=report.dry_run)]
        save_report(store, report)
    finally:
        store.close()
    create_markdown_artifact(report.markdown(), key=f"omvarld-{report.flow}",
                             description=f"omvarld {report.flow} run report")
    if report.status != "ok" and not allow_partial:
        raise PartialRun(report.model_dump_json())
    return report


def flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    return flow_run.id
