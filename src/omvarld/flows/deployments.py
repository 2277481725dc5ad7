"""The deployments of `config/schedule.yaml`, in the two forms a scheduler runs them:

- `build_deployments` → Prefect `RunnerDeployment`s that `omvarld serve` serves from one
  process (one machine: the schedules fire, the runs execute in that process's children);
- `render_prefect_yaml` → `prefect.yaml`, the same deployments bound to a work pool, for
  a Prefect server with workers (`prefect deploy --name NAME`, `prefect worker start`).

Both read the one file, so the schedules cannot drift apart; a test checks that the
`prefect.yaml` in the repository is what `render_prefect_yaml` writes.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from omvarld.core.settings import PROJECT_ROOT
from omvarld.ops.schedule import ScheduleConfig, load_schedule

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

# schedule.yaml's flow names → entry points (file:function, relative to the project)
ENTRYPOINTS = {
    "crawl": "src/omvarld/flows/crawl.py:crawl",
    "classify": "src/omvarld/flows/classify.py:classify",
    "digest": "src/omvarld/flows/digest.py:digest",
    "daily": "src/omvarld/flows/daily.py:daily",
    "weekly": "src/omvarld/flows/weekly.py:weekly",
}
PREFECT_YAML = PROJECT_ROOT / "prefect.yaml"


def flow_for(name: str) -> Flow:
    path, function = ENTRYPOINTS[name].split(":")
    dotted = path.removeprefix("src/").removesuffix(".py").replace("/", ".")
    module = importlib.import_module(dotted)
    return getattr(module, function)


def build_deployments(schedule: ScheduleConfig | None = None) -> list[RunnerDeployment]:
    """One served deployment per entry of schedule.yaml, with its cron in its time zone."""
    from prefect.schedules import Cron

    schedule = schedule or load_schedule()
    return [
        flow_for(spec.flow).to_deployment(
            name=spec.name,
            schedules=[Cron(spec.cron, timezone=schedule.timezone)],
            parameters=spec.parameters,
            description=spec.description or None,
            tags=["omvarld", *spec.tags],
            paused=spec.paused,
        )
        for spec in schedule.deployments
    ]


def prefect_yaml_data(schedule: ScheduleConfig) -> dict[str, Any]:
    import prefect

    return {
        "name": "omvarld",
        "prefect-version": prefect.__version__,
        # Workers run the flows from a checkout of the project: set OMVARLD_PROJECT_DIR
        # where `prefect deploy` runs (the path of that checkout on the workers).
        "pull": [{"prefect.deployments.steps.set_working_directory": {
            "directory": "{{ $OMVARLD_PROJECT_DIR }}"}}],
        "deployments": [
            {
                "name": spec.name,
                "entrypoint": ENTRYPOINTS[spec.flow],
                "description": spec.description,
                "tags": ["omvarld", *spec.tags],
                "parameters": spec.parameters,
                "schedules": [{"cron": spec.cron, "timezone": schedule.timezone,
                               "active": not spec.paused}],
                "work_pool": {"name": schedule.work_pool, "work_queue_name": None,
                              "job_variables": {}},
            }
            for spec in schedule.deployments
        ],
    }


def render_prefect_yaml(schedule: ScheduleConfig | None = None) -> str:
    schedule = schedule or load_schedule()
    pool = schedule.work_pool
    header = [
        "# Generated from config/schedule.yaml by `omvarld deployments --write`: edit",
        "# that file, not this one (a test fails when they disagree).",
        "# On a Prefect server with a process work pool:",
        f"#   prefect work-pool create {pool} --type process",
        *(f"#   OMVARLD_PROJECT_DIR=$PWD prefect deploy --name {spec.name}"
          for spec in schedule.deployments),
        "#   (one --name at a time: `prefect deploy --all` stops after the first with "
        "Prefect 3.8.8)",
        f"#   prefect worker start --pool {pool}   # on each machine",
    ]
    body = yaml.safe_dump(prefect_yaml_data(schedule), sort_keys=False, allow_unicode=True,
                          width=88)
    return "\n".join(header) + "\n" + body


def prefect_yaml_is_current(path: Path = PREFECT_YAML) -> bool:
    return path.is_file() and path.read_text(encoding="utf-8") == render_prefect_yaml()
