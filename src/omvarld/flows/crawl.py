"""The crawl flow: every enabled source (or the given ones) in its own subprocess, at
once, with retries and a time limit per source; then the alert check. Thin: the work is
in `omvarld.flows.tasks` and the library."""

from __future__ import annotations

from prefect import flow

from omvarld.flows.check import config_gate
from omvarld.flows.tasks import check_alerts, crawl_all, finish_run, flow_run_id
from omvarld.ops.report import RunReport
from omvarld.ops.schedule import load_schedule


def source_ids(sources: list[str] | None) -> list[str]:
    """The given ids (each checked against config/sources.yaml), or every enabled one."""
    from omvarld.config.load import load_sources

    catalogue = load_sources()
    if not sources:
        return [s.id for s in catalogue.enabled]
    for sid in sources:
        catalogue.get(sid)  # a wrong id stops here, naming the known ones
    return list(sources)


def crawl_step(report: RunReport, sources: list[str] | None, base_urls: dict[str, str] | None,
               database_url: str, dry_run: bool) -> list[str]:
    """Crawl, alert; fills `report`; the ids crawled."""
    schedule = load_schedule()
    ids = source_ids(sources)
    report.sources = crawl_all(ids, base_urls or {}, database_url, schedule.crawl,
                               schedule.alerts.broken_min_items)
    report.alerts = check_alerts(database_url, ids, schedule, dry_run)
    return ids


@flow(name="omvarld-crawl")
def crawl(
    sources: list[str] | None = None,
    dry_run: bool = False,
    base_urls: dict[str, str] | None = None,
    database_url: str | None = None,
) -> RunReport:
    """Crawl sources (all enabled by default); `dry_run`: no alert e-mails."""
    from omvarld.core.settings import get_settings

    if (failed := config_gate(sources)) is not None:
        return failed
    database_url = database_url or get_settings().database_url
    report = RunReport(flow="crawl", flow_run_id=flow_run_id(), dry_run=dry_run)
    crawl_step(report, sources, base_urls, database_url, dry_run)
    return finish_run(report, database_url)
