"""`config/schedule.yaml`: the deployments (flow, cron, time zone, parameters, work pool),
the crawl's retry policy and the alert policy, validated when read.

Everything a scheduler tunes lives in that one file, so `omvarld serve` and `prefect.yaml`
cannot disagree: both are built from it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from omvarld.core.schema import Strict, load_yaml_model
from omvarld.ops.alerts import AlertPolicy

FlowName = Literal["crawl", "classify", "digest", "daily", "weekly"]
# The parameters each flow accepts from a deployment (beside those only tests pass).
FLOW_PARAMETERS: dict[str, set[str]] = {
    "crawl": {"sources", "dry_run"},
    "classify": {"everything"},
    "digest": {"week", "dry_run", "max_age_days"},
    "daily": {"sources", "dry_run"},
    "weekly": {"sources", "week", "dry_run", "max_age_days", "send", "allow_partial"},
}


class CrawlPolicy(Strict):
    retries: int = Field(default=2, ge=0, le=10)
    retry_delay_seconds: list[float] = Field(default_factory=lambda: [60.0, 600.0])
    timeout_seconds: float | None = Field(
        default=None, ge=1, description="Per source; default OMVARLD_CRAWL_TIMEOUT.")

    @field_validator("retry_delay_seconds")
    @classmethod
    def _not_negative(cls, value: list[float]) -> list[float]:
        if any(v < 0 for v in value):
            raise ValueError("delays must be zero or more seconds")
        return value

    def timeout(self) -> float:
        from omvarld.core.settings import get_settings

        return float(self.timeout_seconds or get_settings().crawl_timeout)


class DeploymentSpec(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    flow: FlowName
    cron: str
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    paused: bool = False

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from prefect.client.schemas.schedules import CronSchedule

        try:
            CronSchedule(cron=value)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a cron expression (minute hour day month "
                             "weekday, e.g. '0 6 * * 1' for Monday 06:00)") from exc
        return value

    @model_validator(mode="after")
    def _known_parameters(self) -> DeploymentSpec:
        unknown = set(self.parameters) - FLOW_PARAMETERS[self.flow]
        if unknown:
            raise ValueError(f"flow {self.flow!r} takes no parameter {sorted(unknown)}; "
                             f"it takes {sorted(FLOW_PARAMETERS[self.flow])}")
        return self


class ScheduleConfig(Strict):
    timezone: str = "Europe/Stockholm"
    work_pool: str = "omvarld"
    crawl: CrawlPolicy = Field(default_factory=CrawlPolicy)
    alerts: AlertPolicy = Field(default_factory=AlertPolicy)
    deployments: list[DeploymentSpec] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; e.g. Europe/Stockholm") from exc
        return value

    @field_validator("deployments")
    @classmethod
    def _unique_names(cls, value: list[DeploymentSpec]) -> list[DeploymentSpec]:
        names = [d.name for d in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate deployment name {dupes}")
        return value


def load_schedule(config_dir: Path | None = None) -> ScheduleConfig:
    """config/schedule.yaml (or the defaults, when the file does not exist)."""
    if config_dir is None:
        from omvarld.core.settings import get_settings

        config_dir = get_settings().config_dir
    path = Path(config_dir) / "schedule.yaml"
    if not path.is_file():
        return ScheduleConfig()
    return load_yaml_model(path, ScheduleConfig)
