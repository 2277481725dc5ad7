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


def _format_location(loc: tuple[Any, ...], data: Any) -> str:
    """`('sources', 1, 'base_url')` → `sources[1].base_url` (or the source id if known)."""
    out = ""
    node = data
    tagged = False  # the union tag of the current node was passed over
    for part in loc:
        if isinstance(part, int):
            ident = node[part].get("id") if isinstance(node, list) and isinstance(
                node[part], dict) else None
            out += f"[{ident or part}]"
        elif isinstance(node, dict) and not tagged and node.get("kind") == part:
            tagged = True  # a discriminated union's tag (`kind: html_listing`), not a key
            continue
        else:
            out += f".{part}" if out else str(part)
            tagged = False
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
