"""Every flow checks the configuration first, under the session's Prefect harness: a broken
digest.yaml stops the weekly run before it crawls (no store opened, nothing fetched), the
caller gets every problem, and Prefect logs no traceback for it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from omvarld.core.errors import ConfigProblems

pytestmark = pytest.mark.slow
CONFIG = Path(__file__).parent.parent.parent / "config"


def test_flows_stop_on_a_bad_config_before_any_work(prefect_server, tmp_path: Path, capfd,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from omvarld.core.settings import get_settings

    config = tmp_path / "config"
    shutil.copytree(CONFIG, config)
    digest = config / "digest.yaml"
    digest.write_text(digest.read_text("utf-8").replace("per_area: 5 ", "per_area: five ", 1),
                      "utf-8")
    sources = config / "sources.yaml"
    sources.write_text(sources.read_text("utf-8").replace("level: national", "level: x", 1),
                       "utf-8")
    database = tmp_path / "store.sqlite"
    monkeypatch.setenv("OMVARLD_CONFIG_DIR", str(config))
    monkeypatch.setenv("OMVARLD_DATABASE_URL", f"sqlite:///{database}")
    get_settings.cache_clear()
    from prefect.logging.configuration import setup_logging

    from omvarld.flows.classify import classify
    from omvarld.flows.crawl import crawl
    from omvarld.flows.digest import digest as digest_flow
    from omvarld.flows.weekly import weekly

    setup_logging(incremental=False)  # Prefect's console handler onto this test's streams
    try:
        capfd.readouterr()  # the harness's own start-up lines
        with pytest.raises(ConfigProblems) as caught:
            # an unreachable address: a crawl would fail loudly, not quietly pass
            weekly(sources=["riksdagen"], base_urls={"riksdagen": "http://127.0.0.1:9"},
                   dry_run=True)
        states = [f(return_state=True) for f in (crawl, classify, digest_flow)]
    finally:
        get_settings.cache_clear()
    keys = [p.key for p in caught.value.problems]
    assert keys == ["sources[riksdagen].level", "per_area"]
    assert all(s.is_failed() and "configuration" in (s.message or "") for s in states)
    out = capfd.readouterr()
    logged = out.out + out.err
    assert "sources.yaml: `sources[riksdagen].level`" in logged
    assert "Traceback" not in logged
    assert not database.exists() or os.path.getsize(database) == 0  # never opened
