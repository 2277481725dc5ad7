"""The configuration files in `config/`: what to watch and what it is about.

Each file is validated when loaded; a wrong value stops with a message naming the file,
the key and the problem ("sources.yaml: `sources[1].base_url`: Field required")."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, Field, field_validator

from omvarld.core.areas import (
    LANGUAGES,
    FocusArea,
    FocusAreas,
    StakeholderEntry,
    Stakeholders,
)
from omvarld.core.errors import ConfigError
from omvarld.core.model import Level
from omvarld.core.schema import Strict, load_yaml_model

M = TypeVar("M", bound=BaseModel)

__all__ = [
    "LANGUAGES", "FocusArea", "FocusAreas", "Source", "Sources", "StakeholderEntry",
    "Stakeholders", "Strict", "load_focus_areas", "load_sources", "load_stakeholders",
    "load_yaml_model",
]


class Source(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    publisher: str
    level: Level
    spider: str
    base_url: str
    enabled: bool = True
    language: str = "sv"
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class Sources(Strict):
    sources: list[Source]

    @field_validator("sources")
    @classmethod
    def _unique_ids(cls, value: list[Source]) -> list[Source]:
        ids = [s.id for s in value]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate source id {sorted(dupes)}")
        return value

    @property
    def enabled(self) -> list[Source]:
        return [s for s in self.sources if s.enabled]

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        known = ", ".join(s.id for s in self.sources)
        raise ConfigError("sources.yaml", source_id, f"no such source; known: {known}")


@cache
def _load_cached(path: Path, model: type[M], mtime: float) -> M:
    return load_yaml_model(path, model)


def _load(config_dir: Path | None, filename: str, model: type[M]) -> M:
    if config_dir is None:
        from omvarld.core.settings import get_settings

        config_dir = get_settings().config_dir
    path = Path(config_dir) / filename
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _load_cached(path, model, mtime)


def load_focus_areas(config_dir: Path | None = None) -> FocusAreas:
    return _load(config_dir, "focus_areas.yaml", FocusAreas)


def load_sources(config_dir: Path | None = None) -> Sources:
    return _load(config_dir, "sources.yaml", Sources)


def load_stakeholders(config_dir: Path | None = None) -> Stakeholders:
    return _load(config_dir, "stakeholders.yaml", Stakeholders)
