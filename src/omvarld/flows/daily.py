"""The daily flow: crawl every source, classify what is new or changed (the alert check
runs after the crawls), then apply the watches and e-mail their new matches to those who
asked for them as they arrive."""

from __future__ import annotations

from prefect import flow

from omvarld.flows.check import config_gate
from omvarld.flows.classify import classify_step
from omvarld.flows.crawl import crawl_step
from omvarld.flows.tasks import finish_run, flow_run_id, notify_watches
from omvarld.ops.report import RunReport


@flow(name="omvarld-daily")
def daily(
    sources: list[str] | None = None,
    dry_run: bool = False,
    base_urls: dict[str, str] | None = None,
    database_url: str | None = None,
) -> RunReport:
    """Crawl → classify → watches; `dry_run`: no alert or watch e-mails."""
    from omvarld.core.settings import get_settings

    if (failed := config_gate(sources)) is not None:
        return failed
    database_url = database_url or get_settings().database_url
    report = RunReport(flow="daily", flow_run_id=flow_run_id(), dry_run=dry_run)
    crawl_step(report, sources, base_urls, database_url, dry_run)
    classify_step(report, database_url)
    try:
        report.watch_matches, report.watch_emails, report.watch_failed = notify_watches(
            database_url, dry_run)
    except Exception as exc:  # a broken watch must not lose the crawl's report
        report.watch_failed = [f"watches not applied: {exc}"]
    return finish_run(report, database_url)
