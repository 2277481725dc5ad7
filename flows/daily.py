"""The daily flow: crawl every source, then classify what is new or changed (the alert
check runs after the crawls)."""

from __future__ import annotations

from prefect import flow

from flows.classify import classify_step
from flows.crawl import crawl_step
from flows.report import RunReport
from flows.tasks import finish_run, flow_run_id


@flow(name="omvarld-daily")
def daily(
    sources: list[str] | None = None,
    dry_run: bool = False,
    base_urls: dict[str, str] | None = None,
    database_url: str | None = None,
) -> RunReport:
    """Crawl → classify; `dry_run`: no alert e-mails."""
    from omvarld.settings import get_settings

    database_url = database_url or get_settings().database_url
    report = RunReport(flow="daily", flow_run_id=flow_run_id(), dry_run=dry_run)
    crawl_step(report, sources, base_urls, database_url, dry_run)
    classify_step(report, database_url)
    return finish_run(report, database_url)
