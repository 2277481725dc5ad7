"""The configuration files in `config/`: what to watch and what it is about.

Each file is validated when loaded; a wrong value stops with a message naming the file,
the key and the problem ("sources.yaml: `sources[1].base_url`: Field required")."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from omvarld.core.errors import ConfigError
from omvarld.core.model import Level

LANGUAGES = ("sv", "en", "da")
M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FocusArea(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    names: dict[str, str]
    descriptions: dict[str, str]
    vocabulary: dict[str, list[str]]

    @field_validator("names", "descriptions")
    @classmethod
    def _sv_and_en(cls, value: dict[str, str]) -> dict[str, str]:
        missing = [lang for lang in ("sv", "en") if not value.get(lang, "").strip()]
        if missing:
            raise ValueError(f"needs text in {', '.join(missing)}")
        return value

    @field_validator("vocabulary")
    @classmethod
    def _known_languages(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"unknown language {sorted(unknown)}; use {', '.join(LANGUAGES)}")
        if not any(value.values()):
            raise ValueError("is empty; give terms in sv, en and da")
        return value

    def name(self, lang: str = "sv") -> str:
        return self.names.get(lang) or self.names["sv"]


class FocusAreas(_Strict):
    version: int = 1
    areas: list[FocusArea]

    @field_validator("areas")
    @classmethod
    def _unique_ids(cls, value: list[FocusArea]) -> list[FocusArea]:
        ids = [a.id for a in value]
        dupes = {i for i in ids if ids.count(i) > 1}
        if dupes:
            raise ValueError(f"duplicate area id {sorted(dupes)}")
        if not value:
            raise ValueError("no focus areas defined")
        return value

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.areas]

    def get(self, area_id: str) -> FocusArea:
        for area in self.areas:
            if area.id == area_id:
                return area
        raise KeyError(area_id)


class Source(_Strict):
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


class Sources(_Strict):
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


class StakeholderEntry(_Strict):
    name: str
    kind: Literal[
        "authority", "ministry", "municipality", "region", "eu", "party", "regional_body",
        "organisation", "parliament", "government",
    ]
    aliases: list[str] = Field(default_factory=list)


class Stakeholders(_Strict):
    stakeholders: list[StakeholderEntry]


def _format_location(loc: tuple[Any, ...], data: Any) -> str:
    """`('sources', 1, 'base_url')` → `sources[1].base_url` (or the source id if known)."""
    out = ""
    node = data
    for part in loc:
        if isinstance(part, int):
            ident = node[part].get("id") if isinstance(node, list) and isinstance(
                node[part], dict) else None
            out += f"[{ident or part}]"
        else:
            out += f".{part}" if out else str(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out or "(top)"


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read one YAML file into `model`, or raise a ConfigError naming file, key, problem."""
    name = path.name
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "not found — create it or set OMVARLD_CONFIG_DIR")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(syntax)"
        raise ConfigError(name, where, f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ConfigError(name, _format_location(first["loc"], data), first["msg"]) from exc


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
