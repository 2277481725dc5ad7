"""Run one source's crawl in its own process, and a library function that does so.

Twisted's reactor cannot be restarted inside one process, so every crawl is a process of
its own (`python -m omvarld.crawl.run SOURCE_ID`): sources run in parallel and fail alone. The
process prints exactly one line on stdout, the crawl report as JSON (with its `run_id`);
logs go to stderr. Exit status 0 when the crawl finished ok, 1 when it failed.

    python -m spiders.run riksdagen --base-url http://127.0.0.1:8000/riksdagen

`run_crawl_in_subprocess` runs that command, enforces a time limit and always answers with
a `CrawlReport`: a source that fails, hangs or crashes is a failed report, never an
exception.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings

from omvarld.config.load import load_sources
from omvarld.core.errors import OmvarldError
from omvarld.core.model import CrawlReport
from omvarld.core.settings import PACKAGE_DIR, get_settings
from omvarld.store import Store, utcnow

log = logging.getLogger(__name__)

STDERR_TAIL_LINES = 5
PARENT_ENV = "OMVARLD_CRAWL_PARENT"


def is_local(base_url: str | None) -> bool:
    """A loopback base URL is a replay server, which needs no politeness delay."""
    host = urlsplit(base_url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def crawler_settings(*, database_url: str | None, run_id: int, base_url: str | None,
                     record_dir: str | None = None) -> Settings:
    """`omvarld.crawl.settings` plus this run's store, run id and, for a replay, no throttle delay
    (AutoThrottle would start every local request at two seconds) and no HTTP cache. With
    `record_dir`, every answer is written there as a fixture (`omvarld.crawl.record`), fresh
    from the source: no HTTP cache."""
    settings = Settings()
    settings.setmodule("omvarld.crawl.settings", priority="project")
    settings.set("OMVARLD_DATABASE_URL", database_url or get_settings().database_url)
    settings.set("OMVARLD_CRAWL_RUN_ID", run_id)
    if is_local(base_url):
        settings.set("AUTOTHROTTLE_START_DELAY", 0.0)
        settings.set("HTTPCACHE_ENABLED", False)
    if record_dir:
        from omvarld.crawl.record import PRIORITY, SETTING

        settings.set(SETTING, record_dir)
        settings.set("HTTPCACHE_ENABLED", False)
        middlewares = dict(settings.getdict("DOWNLOADER_MIDDLEWARES"))
        middlewares["omvarld.crawl.record.RecordMiddleware"] = PRIORITY
        settings.set("DOWNLOADER_MIDDLEWARES", middlewares)
    return settings


def failed_report(source_id: str, message: str, started: datetime | None = None) -> CrawlReport:
    """A failed report for a crawl that could not report for itself."""
    now = utcnow()
    return CrawlReport(
        source=source_id,
        started=started or now,
        finished=now,
        status="failed",
        failed=1,
        errors=[message],
    )


def crawl(
    source_id: str, *, base_url: str | None, database_url: str | None, run_id: int | None,
    record_dir: str | None = None,
) -> tuple[int | None, CrawlReport]:
    """Run the crawl in this process; the report as the store recorded it."""
    source = load_sources().get(source_id)
    store = Store.open(database_url)
    run_id = run_id or store.start_crawl(source.id)
    process = CrawlerProcess(
        crawler_settings(database_url=store.url, run_id=run_id, base_url=base_url,
                         record_dir=record_dir)
    )
    process.crawl(source.spider, source_id=source.id, base_url=base_url, database_url=store.url)
    process.start()
    try:
        report = store.crawl_run(run_id)
        if report is None or report.status == "running":
            started = report.started if report else None
            report = failed_report(
                source.id,
                f"{source.id}: the crawl ended without a "
                "report (spider failed to start? see the log)",
                started,
            )
            store.finish_crawl(run_id, report)
    finally:
        store.close()
    return run_id, report


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m omvarld.crawl.run",
        description="Crawl one source; print its crawl report as one line of JSON.",
    )
    parser.add_argument("source_id", help="a source id from config/sources.yaml")
    parser.add_argument("--base-url", help="fetch from here instead of the configured URL")
    parser.add_argument("--database-url", help="store URL (default: OMVARLD_DATABASE_URL)")
    parser.add_argument("--run-id", type=int, help=argparse.SUPPRESS)  # made by the parent
    parser.add_argument("--record", help="write every answer into this folder as a fixture")
    return parser.parse_args(argv)


def die_with_parent() -> None:
    """Linux: this crawl dies with the run that started it (a run killed with SIGKILL
    must not leave its crawls writing beside the run that takes its locks over)."""
    parent = os.environ.get(PARENT_ENV)
    if not sys.platform.startswith("linux") or not parent:
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != parent:  # the parent died before prctl: too late for it
        os.kill(os.getpid(), signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    die_with_parent()
    run_id: int | None = args.run_id
    try:
        run_id, report = crawl(
            args.source_id, base_url=args.base_url, database_url=args.database_url, run_id=run_id,
            record_dir=args.record,
        )
    except Exception as exc:  # the parent must get a report whatever happened
        log.exception("crawl of %s failed", args.source_id)
        report = failed_report(args.source_id, f"{args.source_id}: {type(exc).__name__}: {exc}")
        _close_run(args.database_url, run_id, report)
    line = {**json.loads(report.model_dump_json()), "run_id": run_id}
    sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0 if report.status == "ok" else 1


def _close_run(database_url: str | None, run_id: int | None, report: CrawlReport) -> None:
    """Best effort: a run that could not even start is marked failed, not left running."""
    if run_id is None:
        return
    try:
        store = Store.open(database_url)
        try:
            store.finish_crawl(run_id, report)
        finally:
            store.close()
    except Exception:  # the report on stdout still says what happened
        log.exception("could not mark crawl run %s failed", run_id)


def _child_env() -> dict[str, str]:
    """The caller's environment, with the project importable from any working directory."""
    env = dict(os.environ)
    paths = [str(PACKAGE_DIR.parent), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env[PARENT_ENV] = str(os.getpid())
    return env


def _report_from_stdout(stdout: str) -> CrawlReport | None:
    for line in reversed(stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict) and "status" in data:
            data.pop("run_id", None)
            return CrawlReport.model_validate(data)
    return None


def _tail(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-STDERR_TAIL_LINES:])


def _start_run(source_id: str, database_url: str | None) -> tuple[Store | None, int | None]:
    try:
        store = Store.open(database_url)  # migrating is serialised inside the store
        return store, store.start_crawl(source_id)
    except Exception:  # the child will report the store problem itself
        log.exception("could not record the start of the crawl of %s", source_id)
        return None, None


def run_crawl_in_subprocess(
    source_id: str,
    *,
    base_url: str | None = None,
    database_url: str | None = None,
    timeout: float | None = None,
    record_dir: str | None = None,
) -> CrawlReport:
    """Crawl `source_id` in a child process; its report, or a failed one saying why.
    With `record_dir`, every answer is written there as a fixture (`omvarld.crawl.record`).

    The crawl run row is created here, so that a child that is killed (time limit) or dies
    without a report still leaves its run marked failed rather than "running" forever.
    """
    timeout = timeout if timeout is not None else float(get_settings().crawl_timeout)
    try:
        load_sources().get(source_id)
    except OmvarldError as exc:  # a wrong id or a broken sources.yaml: nothing to run
        return failed_report(source_id, f"{source_id}: {exc}")
    store, run_id = _start_run(source_id, database_url)
    command = [sys.executable, "-m", "omvarld.crawl.run", source_id]
    if base_url:
        command += ["--base-url", base_url]
    if database_url:
        command += ["--database-url", database_url]
    if run_id is not None:
        command += ["--run-id", str(run_id)]
    if record_dir:
        command += ["--record", str(record_dir)]
    try:
        return _run_child(command, source_id, timeout, store, run_id)
    finally:
        if store is not None:
            store.close()


def _run_child(
    command: list[str], source_id: str, timeout: float, store: Store | None, run_id: int | None
) -> CrawlReport:
    started = utcnow()
    log.info("crawling %s in a subprocess (time limit %g s)", source_id, timeout)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_child_env()
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            report = failed_report(
                source_id, f"{source_id}: timed out after {timeout:g} s", started
            )
            return _finish(store, run_id, report)
    report = _report_from_stdout(stdout)
    if report is None:
        report = failed_report(
            source_id,
            f"{source_id}: crawl process exited with status {child.returncode} without a "
            f"report; last log lines: {_tail(stderr) or '(none)'}",
            started,
        )
        return _finish(store, run_id, report)
    if child.returncode not in (0, 1):
        log.warning("crawl of %s exited with status %s", source_id, child.returncode)
    return report


def _finish(store: Store | None, run_id: int | None, report: CrawlReport) -> CrawlReport:
    """Mark the run failed unless the child recorded its end before dying."""
    log.error("%s", "; ".join(report.errors))
    if store is not None and run_id is not None:
        recorded = store.crawl_run(run_id)
        if recorded is None or recorded.status == "running":
            store.finish_crawl(run_id, report)
    return report


if __name__ == "__main__":
    sys.exit(main())
