"""The report every run leaves: per source new / updated / unchanged / failed and time,
what was classified, the digest, the alerts. The same markdown goes to a Prefect
artifact (the UI's run page) and to the store (`ops_runs`), so it can be read without
the Prefect server too."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omvarld.core.model import CrawlReport
from omvarld.store import Store, utcnow
from omvarld.store.tables import OpsRunRow

log = logging.getLogger(__name__)

RowStatus = Literal["ok", "partial", "failed", "broken", "skipped"]


class SourceRow(BaseModel):
    """One source in one run."""

    model_config = ConfigDict(extra="forbid")

    source: str
    status: RowStatus
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    seconds: float = 0.0
    attempts: int = 1
    error: str = ""

    @property
    def errors(self) -> list[str]:
        return [self.error] if self.error else []

    @classmethod
    def from_crawl(cls, report: CrawlReport, attempts: int = 1) -> SourceRow:
        seconds = ((report.finished - report.started).total_seconds()
                   if report.finished else 0.0)
        status = report.status if report.status in ("ok", "partial") else "failed"
        return cls(source=report.source, status=status,
                   new=report.new, updated=report.updated, unchanged=report.unchanged,
                   failed=report.failed, seconds=round(max(seconds, 0.0), 1),
                   attempts=attempts, error=report.errors[0] if report.errors else "")


class RunReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    flow: str
    flow_run_id: str | None = None
    started: datetime = Field(default_factory=utcnow)
    finished: datetime | None = None
    dry_run: bool = False
    sources: list[SourceRow] = Field(default_factory=list)
    classified: int | None = None
    labelled: int | None = None
    classify_skipped: str = ""
    # Documents still waiting for labels (or their story) when the run ended.
    unclassified: int | None = None
    stored: int | None = None  # documents in the store when the run ended
    watch_matches: int | None = None
    watch_emails: int = 0
    watch_failed: list[str] = Field(default_factory=list)
    week: str | None = None
    digest_paths: dict[str, str] = Field(default_factory=dict)
    digest_sent_to: list[str] = Field(default_factory=list)
    digest_not_sent: str = ""
    alerts: list[str] = Field(default_factory=list)

    @property
    def crawls(self) -> list[SourceRow]:
        return self.sources

    @property
    def failed_sources(self) -> list[str]:
        """Sources that failed or came back broken (skipped ones are another run's)."""
        return [r.source for r in self.sources if r.status in ("failed", "broken")]

    @property
    def incomplete_sources(self) -> list[str]:
        """Sources this run did not crawl in full: failed, broken or skipped."""
        return [r.source for r in self.sources if r.status != "ok"]

    @property
    def problems(self) -> list[str]:
        """Why the run is partial, one line each; empty when it did everything."""
        out = [f"{r.source}: {r.status}" + (f", {r.failed} lost" if r.failed else "")
               + (f" — {r.error}" if r.error else "") for r in self.sources if r.status != "ok"]
        if self.classify_skipped:
            out.append(f"classification skipped: {self.classify_skipped}")
        if self.unclassified:
            out.append(f"{self.unclassified} documents left unclassified")
        return out

    @property
    def status(self) -> str:
        """"ok" only when every source was crawled and everything stored was classified."""
        return "partial" if self.problems else "ok"

    def markdown(self) -> str:
        title = f"omvarld {self.flow}" + (f" — {self.week}" if self.week else "")
        lines = [f"# {title}", "",
                 f"Started {self.started:%Y-%m-%d %H:%M:%S} UTC"
                 + (f", {(self.finished - self.started).total_seconds():.0f} s"
                    if self.finished else "") + (" (dry run: nothing e-mailed)"
                                                 if self.dry_run else ""), ""]
        if self.sources:
            lines += ["| source | status | new | updated | unchanged | failed | time (s) "
                      "| attempts | first error |",
                      "|---|---|---:|---:|---:|---:|---:|---:|---|"]
            for r in self.sources:
                error = r.error.replace("|", "/").replace("\n", " ")[:160]
                lines.append(f"| {r.source} | {r.status} | {r.new} | {r.updated} "
                             f"| {r.unchanged} | {r.failed} | {r.seconds:.1f} "
                             f"| {r.attempts} | {error} |")
            lines.append("")
        problems = self.problems
        if problems:
            lines += [f"**Partial run**: {len(problems)} problems.", "",
                      *(f"- {p[:300]}" for p in problems), ""]
        if self.classified is not None:
            lines.append(f"Classified {self.classified} documents, {self.labelled} in a "
                         "focus area.")
        if self.classify_skipped:
            lines.append(f"Classification skipped: {self.classify_skipped}.")
        if self.watch_matches is not None:
            lines.append(f"Watches: {self.watch_matches} new matches, {self.watch_emails} "
                         "e-mails to subscribers.")
        for failure in self.watch_failed:
            lines.append(f"- watch problem: {failure}")
        for kind, path in self.digest_paths.items():
            lines.append(f"- digest ({kind}): {path}")
        if self.digest_sent_to:
            lines.append(f"Digest sent to {len(self.digest_sent_to)} recipients.")
        if self.digest_not_sent:
            lines.append(f"Digest not sent: {self.digest_not_sent}.")
        for alert in self.alerts:
            lines.append(f"- alert: {alert}")
        return "\n".join(lines).rstrip() + "\n"


def save_report(store: Store, report: RunReport) -> int:
    """Record the report in the store (one row per flow run; a retried run updates it)."""
    with store.session() as s:
        row = None
        if report.flow_run_id:
            row = s.query(OpsRunRow).filter(OpsRunRow.flow_run_id == report.flow_run_id,
                                            OpsRunRow.flow == report.flow).one_or_none()
        if row is None:
            row = OpsRunRow(flow=report.flow, flow_run_id=report.flow_run_id,
                            started=report.started)
            s.add(row)
        row.finished = report.finished
        row.status = report.status
        row.report = report.model_dump(mode="json")
        row.markdown = report.markdown()
        s.flush()
        return row.id


def run_reports(store: Store, flow: str | None = None, limit: int = 20) -> list[RunReport]:
    """The latest reports, newest first."""
    with store.session() as s:
        query = s.query(OpsRunRow).order_by(OpsRunRow.id.desc())
        if flow:
            query = query.filter(OpsRunRow.flow == flow)
        return [RunReport.model_validate(r.report) for r in query.limit(limit)]
