"""config/schedule.yaml: validated with messages that name the key; the served
deployments and prefect.yaml say the same schedules, in Europe/Stockholm time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from omvarld.core.errors import ConfigError
from omvarld.flows.deployments import (
    PREFECT_YAML,
    build_deployments,
    prefect_yaml_data,
    render_prefect_yaml,
)
from omvarld.ops.schedule import load_schedule

CONFIG = Path(__file__).parent.parent.parent / "config"


def test_the_project_schedules_the_daily_crawl_and_the_monday_digest():
    schedule = load_schedule(CONFIG)
    assert schedule.timezone == "Europe/Stockholm"
    assert {d.name: (d.flow, d.cron) for d in schedule.deployments} == {
        "daily-crawl": ("daily", "30 4 * * *"),
        "weekly-digest": ("weekly", "0 6 * * 1"),
    }
    assert schedule.deployments[1].parameters["week"] == "previous"


def test_prefect_yaml_is_what_schedule_yaml_says():
    assert PREFECT_YAML.read_text(encoding="utf-8") == render_prefect_yaml(
        load_schedule(CONFIG)), "run `omvarld deployments --write`"
    data = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    assert data == prefect_yaml_data(load_schedule(CONFIG))
    weekly = next(d for d in data["deployments"] if d["name"] == "weekly-digest")
    assert weekly["entrypoint"] == "src/omvarld/flows/weekly.py:weekly"
    assert weekly["schedules"] == [{"cron": "0 6 * * 1", "timezone": "Europe/Stockholm",
                                    "active": True}]
    assert weekly["work_pool"]["name"] == "omvarld"


def test_served_deployments_carry_the_same_cron_and_time_zone():
    served = {d.name: d for d in build_deployments(load_schedule(CONFIG))}
    assert set(served) == {"daily-crawl", "weekly-digest"}
    schedule = served["weekly-digest"].schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 6 * * 1", "Europe/Stockholm")
    assert served["weekly-digest"].flow_name == "omvarld-weekly"
    assert served["daily-crawl"].parameters == {"sources": None, "dry_run": False}


@pytest.mark.parametrize(("text", "message"), [
    ("timezone: Europe/Malmo\n", "schedule.yaml: `timezone`: unknown time zone"),
    ("deployments: [{name: x, flow: weekly, cron: '0 25 * * 1'}]\n",
     "schedule.yaml: `deployments[x].cron`: '0 25 * * 1' is not a cron"),
    ("deployments: [{name: x, flow: daily, cron: '0 6 * * *', parameters: {week: previous}}]\n",
     "flow 'daily' takes no parameter ['week']"),
    ("deployments: [{name: x, flow: nightly, cron: '0 6 * * *'}]\n",
     "schedule.yaml: `deployments[x].flow`: Input should be 'crawl', 'classify'"),
    ("crawl: {retries: 2, retry_delay_seconds: [-5]}\n", "delays must be zero or more"),
    ("alerts: {operator: [a@b.se]}\n", "`alerts.operator`: Extra inputs are not permitted"),
])
def test_a_wrong_value_names_the_file_and_key(tmp_path, text, message):
    (tmp_path / "schedule.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_schedule(tmp_path)
    assert message in str(info.value)


def test_without_a_schedule_file_the_defaults_apply(tmp_path):
    schedule = load_schedule(tmp_path)
    assert (schedule.crawl.retries, schedule.alerts.consecutive_failures) == (2, 3)
    assert schedule.deployments == []
