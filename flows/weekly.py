"""The weekly job as a Prefect flow: crawl every source (each in its own subprocess, in
parallel; one failing source is reported and the rest go on) → classify what is new or
changed → write the week's digest. Thin: every task calls one library function."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from pydantic import BaseModel, ConfigDict, Field

from omvarld.model import CrawlReport


class WeeklyReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    week: str
    crawls: list[CrawlReport]
    classified: int
    labelled: int
    digest_paths: dict[str, str] = Field(default_factory=dict)

    @property
    def failed_sources(self) -> list[str]:
        return [c.source for c in self.crawls if c.status != "ok"]

    def markdown(self) -> str:
        lines = [f"# Weekly run {self.week}", "",
                 "| source | status | new | updated | unchanged | failed | first error |",
                 "|---|---|---:|---:|---:|---:|---|"]
        for c in self.crawls:
            first = (c.errors[0] if c.errors else "").replace("|", "/")[:120]
            lines.append(f"| {c.source} | {c.status} | {c.new} | {c.updated} | {c.unchanged} "
                         f"| {c.failed} | {first} |")
        lines += ["", f"Classified {self.classified} documents, {self.labelled} in a focus area.",
                  "", *(f"- digest ({k}): {v}" for k, v in self.digest_paths.items())]
        return "\n".join(lines)


@task(task_run_name="crawl-{source_id}")
def crawl_source(source_id: str, base_url: str | None, database_url: str,
                 timeout: float) -> CrawlReport:
    from spiders.run import run_crawl_in_subprocess  # Twisted stays out of this process

    report = run_crawl_in_subprocess(
        source_id, base_url=base_url, database_url=database_url, timeout=timeout
    )
    log = get_run_logger()
    if report.status == "ok":
        log.info("%s: %d new, %d updated, %d unchanged, %d failed", source_id, report.new,
                 report.updated, report.unchanged, report.failed)
    else:
        log.warning("%s failed: %s", source_id, "; ".join(report.errors[:3]) or "no detail")
    return report


@task
def classify_new(database_url: str) -> tuple[int, int]:
    from nlp.stage import classify_pending
    from omvarld.store import Store

    report = classify_pending(Store.open(database_url))
    return report.documents, report.labelled


@task
def write_week_digest(database_url: str, week: str, out_dir: Path,
                      max_age_days: int | None) -> dict[str, str]:
    from omvarld.config import load_focus_areas
    from omvarld.digest import write_digest
    from omvarld.store import Store

    paths = write_digest(Store.open(database_url), week, out_dir, areas=load_focus_areas(),
                         max_age_days=max_age_days)
    return {kind: str(path) for kind, path in paths.items()}


@flow(name="omvarld-weekly")
def weekly(
    sources: list[str] | None = None,
    week: str | None = None,
    base_urls: dict[str, str] | None = None,
    database_url: str | None = None,
    digest_dir: str | None = None,
    max_age_days: int | None = 60,
) -> WeeklyReport:
    """Crawl → classify → digest for one ISO week (the current one by default)."""
    from omvarld.config import load_sources
    from omvarld.digest import current_week
    from omvarld.settings import get_settings

    settings = get_settings()
    database_url = database_url or settings.database_url
    week = week or current_week()
    ids = sources or [s.id for s in load_sources().enabled]
    base_urls = base_urls or {}
    futures = [
        crawl_source.submit(sid, base_urls.get(sid), database_url, settings.crawl_timeout)
        for sid in ids
    ]
    crawls = [f.result() for f in futures]  # the tasks never raise: a report says it
    classified, labelled = classify_new(database_url)
    paths = write_week_digest(database_url, week, Path(digest_dir or settings.digest_dir),
                              max_age_days)
    report = WeeklyReport(week=week, crawls=crawls, classified=classified, labelled=labelled,
                          digest_paths=paths)
    create_markdown_artifact(report.markdown(), key="weekly-run",
                             description=f"Weekly run {week}")
    return report
