"""The digest flow: build the week's digest (HTML + Markdown, recorded in the store), then
send it. Sending a week twice is a no-op; `dry_run` builds without sending."""

from __future__ import annotations

from prefect import flow

from omvarld.flows.check import config_gate
from omvarld.flows.tasks import build_digest, finish_run, flow_run_id, resolve_week, send_digest
from omvarld.ops.report import RunReport


def digest_step(report: RunReport, database_url: str, week: str | None, digest_dir: str,
                max_age_days: int | None, dry_run: bool, send: bool = True,
                replayed: bool = False) -> None:
    report.week = resolve_week(week)
    report.digest_paths = build_digest(database_url, report.week, digest_dir, max_age_days,
                                       report.incomplete_sources, replayed)
    if send:
        report.digest_sent_to, report.digest_not_sent = send_digest(database_url,
                                                                    report.week, dry_run)


@flow(name="omvarld-digest")
def digest(
    week: str | None = "previous",
    dry_run: bool = False,
    max_age_days: int | None = 60,
    database_url: str | None = None,
    digest_dir: str | None = None,
) -> RunReport:
    """Build, then send, the digest of `week` ("previous", "current" or 2026-W47)."""
    from omvarld.core.settings import get_settings

    if (failed := config_gate()) is not None:
        return failed
    settings = get_settings()
    database_url = database_url or settings.database_url
    report = RunReport(flow="digest", flow_run_id=flow_run_id(), dry_run=dry_run)
    digest_step(report, database_url, week, digest_dir or str(settings.digest_dir),
                max_age_days, dry_run)
    return finish_run(report, database_url)
