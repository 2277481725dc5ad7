"""The weekly job as a Prefect flow: crawl every source (each in its own subprocess, in
parallel; one failing source is reported and the rest go on) → classify what is new or
changed → build the week's digest, then send it. Composed of the same steps as the
crawl, classify and digest flows; thin: every task calls one library function."""

from __future__ import annotations

from prefect import flow

from omvarld.flows.check import config_gate
from omvarld.flows.classify import classify_step
from omvarld.flows.crawl import crawl_step
from omvarld.flows.digest import digest_step
from omvarld.flows.tasks import finish_run, flow_run_id
from omvarld.ops.report import RunReport

WeeklyReport = RunReport  # the name the command line and older callers know


@flow(name="omvarld-weekly")
def weekly(
    sources: list[str] | None = None,
    week: str | None = None,
    base_urls: dict[str, str] | None = None,
    database_url: str | None = None,
    digest_dir: str | None = None,
    max_age_days: int | None = 60,
    dry_run: bool = False,
    send: bool = True,
    allow_partial: bool = False,
) -> RunReport:
    """Crawl → classify → digest (→ send) for one ISO week: None or "current" (this
    week), "previous" (the week that ended on Sunday) or e.g. 2026-W47. `dry_run`:
    nothing is e-mailed; `send=False`: the digest is only written.

    A run that skipped or failed sources or left documents unclassified is partial: its
    report and digest say so, the operators get an alert, and the flow fails
    (`PartialRun`) unless `allow_partial`."""
    from omvarld.core.settings import get_settings

    if (failed := config_gate(sources)) is not None:
        return failed  # before any crawl: every problem logged, no traceback
    settings = get_settings()
    database_url = database_url or settings.database_url
    report = RunReport(flow="weekly", flow_run_id=flow_run_id(), dry_run=dry_run)
    crawl_step(report, sources, base_urls, database_url, dry_run)
    classify_step(report, database_url)
    digest_step(report, database_url, week, digest_dir or str(settings.digest_dir),
                max_age_days, dry_run, send=send, replayed=bool(base_urls))
    return finish_run(report, database_url, allow_partial=allow_partial, alert=True)
