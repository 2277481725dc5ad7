"""What the integration tests share: one Prefect test harness (its own API server and
database) for the whole session, started on first use."""

from __future__ import annotations

import pytest

from factories import settings_env


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """Prefect's test harness, once per session, with its own PREFECT_HOME."""
    home = tmp_path_factory.mktemp("prefect")
    with settings_env(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false"):
        from prefect.testing.utilities import prefect_test_harness

        with prefect_test_harness(server_startup_timeout=180):  # 2 busy cores: be patient
            yield home
