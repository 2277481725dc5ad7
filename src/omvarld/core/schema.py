"""The one strict base of every configuration model, and reading a YAML file into one.

Unknown keys are errors (a misspelt key must not be silently ignored), and a wrong value
stops with a message naming the file, the key and the problem ("sources.yaml:
`sources[riksdagen].level`: Input should be 'eu', …")."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from omvarld.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """A model that refuses keys it does not know."""

    model_config = ConfigDict(extra="forbid")


def _ident(entry: dict) -> Any:
    """How a list entry is named in a message: its id (a source), else its name (a
    deployment)."""
    ident = entry.get("id") or entry.get("name")
    return ident if isinstance(ident, str | int) else None


def _kind(node: dict) -> Any:
    """The union tag an entry is read with: its `kind`, or `spider` for an entry that names
    a spider and no kind (see `omvarld.config.load.Sources`)."""
    return node.get("kind", "spider" if "spider" in node else None)


def _format_location(loc: tuple[Any, ...], data: Any) -> str:
    """`('sources', 1, 'base_url')` → `sources[1].base_url` (or the source id if known)."""
    out = ""
    node = data
    tagged = False  # the union tag of the current node was passed over
    for part in loc:
        if part == "[key]":  # the key itself is wrong (YAML read `on` as true, say)
            out += " (key)"
            continue
        if isinstance(node, dict) and not tagged and _kind(node) == part:
            tagged = True  # a discriminated union's tag (`kind: html_listing`), not a key
            continue
        if isinstance(node, dict) and part in node:  # a mapping's key, as the file has it
            key = next(k for k in node if k == part)
            out += f".{key}" if out else str(key)
        elif isinstance(part, int) and not isinstance(part, bool):
            ident = _ident(node[part]) if isinstance(node, list) and isinstance(
                node[part], dict) else None
            out += f"[{ident or part}]"
        else:
            out += f".{part}" if out else str(part)
            tagged = False
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return out or "(top)"


def read_yaml(path: Path) -> Any:
    """A YAML file's data, or a ConfigError naming the file and the line."""
    if not path.is_file():
        raise ConfigError(str(path), "(file)", "not found — create it or set OMVARLD_CONFIG_DIR")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(syntax)"
        raise ConfigError(path.name, where,
                          f"not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path.name, "(file)", f"cannot be read: {exc}") from exc


def validation_problems(name: str, exc: ValidationError, data: Any) -> list[ConfigError]:
    """Every error of a failed validation, each naming file, key and problem."""
    return [ConfigError(name, _format_location(e["loc"], data),
                        e["msg"].removeprefix("Value error, ")) for e in exc.errors()]


def yaml_problems(path: Path, model: type[BaseModel]) -> list[ConfigError]:
    """Every problem of one YAML file against `model` (none: it loads)."""
    try:
        data = read_yaml(path)
    except ConfigError as exc:
        return [exc]
    try:
        model.model_validate(data or {})
    except ValidationError as exc:
        return validation_problems(path.name, exc, data)
    except ConfigError as exc:  # a validator that names its own key
        return [exc]
    return []


def load_yaml_model(path: Path, model: type[M]) -> M:
    """Read one YAML file into `model`, or raise a ConfigError naming file, key, problem."""
    data = read_yaml(path)
    try:
        return model.model_validate(data or {})
    except ValidationError as exc:
        raise validation_problems(path.name, exc, data)[0] from exc
