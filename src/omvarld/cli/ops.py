"""`omvarld check`, `omvarld serve` and `omvarld deployments`: omvarld running itself.

`serve` serves every deployment of config/schedule.yaml from this one process — the way
to run omvarld on a single machine: start it once (a systemd unit, a container) and the
daily crawl and the Monday digest run on their own, in Europe/Stockholm time. On a
Prefect server with workers, the same deployments come from `prefect.yaml`, which
`deployments --write` writes from the same file.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omvarld.cli.common import console, data_dir, err, errors, fail, prepare_prefect

app = typer.Typer()

if TYPE_CHECKING:
    from omvarld.ops.schedule import ScheduleConfig


@app.command()
def check(
    config_dir: Annotated[Path | None, typer.Option(
        help="The configuration folder (default: OMVARLD_CONFIG_DIR).")] = None,
) -> None:
    """Check the configuration before any work: every YAML file, every source's spider and
    parameters, the schedule. One line per problem (file, source, key); exit 1 if any.
    Every flow runs the same check first.

    Example: omvarld check
    """
    from omvarld.flows.check import check_config

    problems = check_config(config_dir)
    for problem in problems:
        err.print(f"[bold red]error:[/] {escape(str(problem))}", soft_wrap=True)
    if problems:
        raise fail(f"{len(problems)} configuration problem(s)")
    console.print("configuration ok", highlight=False)


@app.command()
def serve(
    limit: Annotated[int | None, typer.Option(
        min=1, help="Flow runs executing at once in this process (default: no limit).")
    ] = None,
) -> None:
    """Serve the scheduled deployments of config/schedule.yaml from this process.

    Runs until stopped (Ctrl-C, SIGTERM). Without PREFECT_API_URL it uses a local
    Prefect API under data/.prefect; with it (e.g. http://127.0.0.1:4200/api after
    `prefect server start`), runs can be watched and triggered in the Prefect UI.

    Example: omvarld serve
    """
    prepare_prefect(data_dir())
    from omvarld.flows.deployments import build_deployments
    from omvarld.ops.schedule import load_schedule

    with errors():
        schedule = load_schedule()
        if not schedule.deployments:
            raise fail("config/schedule.yaml defines no deployments: nothing to serve")
        deployments = build_deployments(schedule)
    console.print(_deployment_table(schedule))
    err.print("serving; stop with Ctrl-C")
    from prefect import serve as prefect_serve

    prefect_serve(*deployments, limit=limit, print_starting_message=False)


@app.command()
def deployments(
    write: Annotated[bool, typer.Option("--write", help="Write prefect.yaml from "
                                        "config/schedule.yaml.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 if prefect.yaml is not "
                                        "what config/schedule.yaml says.")] = False,
) -> None:
    """List the deployments (flow, schedule, parameters); write or check prefect.yaml.

    Example: omvarld deployments --write
    """
    from omvarld.flows.deployments import PREFECT_YAML, prefect_yaml_is_current, render_prefect_yaml
    from omvarld.ops.schedule import load_schedule

    with errors():
        schedule = load_schedule()
        console.print(_deployment_table(schedule))
        if write:
            PREFECT_YAML.write_text(render_prefect_yaml(schedule), encoding="utf-8")
            console.print(f"wrote {PREFECT_YAML}")
        elif check and not prefect_yaml_is_current():
            raise fail(f"{PREFECT_YAML} differs from config/schedule.yaml: run "
                        "`omvarld deployments --write`")


def _deployment_table(schedule: ScheduleConfig) -> Table:
    from prefect.server.schemas.schedules import CronSchedule

    table = Table(title=f"Deployments ({schedule.timezone}, work pool {schedule.work_pool})")
    for col in ("name", "flow", "cron", "next run", "parameters"):
        table.add_column(col)
    for spec in schedule.deployments:
        upcoming = CronSchedule(cron=spec.cron, timezone=schedule.timezone).get_dates(n=1)
        if inspect.iscoroutine(upcoming):  # sync or async, depending on the caller
            upcoming = asyncio.run(upcoming)
        nxt = upcoming[0].strftime("%a %Y-%m-%d %H:%M") if upcoming else ""
        params = ", ".join(f"{k}={v}" for k, v in spec.parameters.items())
        table.add_row(spec.name, spec.flow, escape(spec.cron), nxt, escape(params))
    return table
