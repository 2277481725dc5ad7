"""The configuration checked before any work starts: `omvarld check`, and the first step
of every flow (so a weekly run with a broken digest.yaml stops before it crawls).

Every YAML file of the configuration folder is read with the loader the work itself uses
(so a stricter schema there is checked here too), every source's spider must exist in the
spider registry and its parameters must have the right type, and every deployment of
schedule.yaml must name a valid cron and known sources. Each problem is one ConfigError
naming file, key (with the source id) and problem; none is a traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    PositiveInt,
    RootModel,
    StrictBool,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from omvarld.core.errors import ConfigError, ConfigProblems, OmvarldError
from omvarld.core.schema import read_yaml, validation_problems, yaml_problems

SOURCES_FILE = "sources.yaml"
# Source parameters the spiders read, by type. Until a spider declares its own parameter
# model (a pydantic class as `params_model`), a known name must hold this type.
_NAMES = list[str]
KNOWN_PARAMS: dict[str, Any] = {
    "page_size": PositiveInt, "max_pages": PositiveInt, "first_crawl_days": PositiveInt,
    "updated_within_days": PositiveInt, "documenttype": int,
    "feeds": _NAMES, "listings": _NAMES, "collections": _NAMES, "languages": _NAMES,
    "doktyp": _NAMES, "resource_types": _NAMES,
    "types": dict[str, str], "categories": dict[str, Any], "query": dict[str, Any],
    "pdf": StrictBool, "page_language": str, "notice_language": str,
}


class LemmaOverrides(RootModel[dict[StrictStr, dict[StrictStr, StrictStr] | None]]):
    """`lemmas.yaml`: per language, word form → lemma, both text (YAML reads a bare `on`
    or `nej` as something else; quote those)."""

    model_config = ConfigDict(strict=True)


def _models() -> list[tuple[str, type[BaseModel], Callable[[Path], Any], bool]]:
    """(file, model, loader, required) of every configuration file."""
    from omvarld.config.digest import DigestConfig, load_digest_config
    from omvarld.config.load import (
        FocusAreas,
        Sources,
        Stakeholders,
        load_focus_areas,
        load_sources,
        load_stakeholders,
    )
    from omvarld.digest.positions import Positions, load_positions
    from omvarld.nlp.classifier import ClassifierConfig
    from omvarld.ops.schedule import ScheduleConfig, load_schedule

    return [
        (SOURCES_FILE, Sources, load_sources, True),
        ("focus_areas.yaml", FocusAreas, load_focus_areas, True),
        ("stakeholders.yaml", Stakeholders, load_stakeholders, True),
        ("classifier.yaml", ClassifierConfig, ClassifierConfig.load, True),
        ("digest.yaml", DigestConfig, load_digest_config, False),
        ("positions.yaml", Positions, load_positions, False),
        ("schedule.yaml", ScheduleConfig, load_schedule, False),
        ("lemmas.yaml", LemmaOverrides, lambda folder: None, False),
    ]


def check_config(config_dir: Path | None = None, *, sources: list[str] | None = None
                 ) -> list[ConfigError]:
    """Every problem of the configuration in `config_dir` (default: the configured
    folder), and of `sources` (ids a run was asked to crawl); none when all is well."""
    problems: list[ConfigError] = []
    try:
        from omvarld.core.settings import get_settings

        settings = get_settings()
    except ConfigError as exc:
        return [exc]
    folder = Path(config_dir or settings.config_dir)
    if not folder.is_dir():
        return [ConfigError(str(folder), "(folder)", "not found — set OMVARLD_CONFIG_DIR")]
    loaded: dict[str, Any] = {}
    for name, model, loader, required in _models():
        path = folder / name
        if not required and not path.is_file():
            continue
        found = yaml_problems(path, model)
        if not found:
            try:
                loaded[name] = loader(folder)
            except OmvarldError as exc:
                found = [exc if isinstance(exc, ConfigError) else
                         ConfigError(name, "(file)", str(exc))]
        problems += found
    problems += _cross_checks(folder, loaded, sources)
    return problems


def _cross_checks(folder: Path, loaded: dict[str, Any], sources: list[str] | None
                  ) -> list[ConfigError]:
    problems: list[ConfigError] = []
    if SOURCES_FILE in loaded or (folder / SOURCES_FILE).is_file():
        problems += spider_problems(folder / SOURCES_FILE)
    catalogue = loaded.get(SOURCES_FILE)
    known = {s.id for s in catalogue.sources} if catalogue else None
    for sid in sources or []:
        if catalogue is not None:
            try:
                catalogue.get(sid)  # names the known ones, in the file's order
            except ConfigError as exc:
                problems.append(exc)
    areas = loaded.get("focus_areas.yaml")
    digest = loaded.get("digest.yaml")
    if areas is not None and digest is not None:
        try:
            digest.check_areas(areas)
        except ConfigError as exc:
            problems.append(exc)
    schedule = loaded.get("schedule.yaml")
    if schedule is not None and known is not None:
        for dep in schedule.deployments:
            for sid in dep.parameters.get("sources") or []:
                if sid not in known:
                    problems.append(ConfigError(
                        "schedule.yaml", f"deployments[{dep.name}].parameters.sources",
                        f"no such source {sid!r}"))
    return problems


def spider_problems(path: Path) -> list[ConfigError]:
    """Each source's spider must be in the spider registry, and its parameters of the
    type the spider reads."""
    try:
        data = read_yaml(path)
    except ConfigError:
        return []  # already reported by the file's own check
    entries = data.get("sources") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return []
    registry = _spiders()
    problems: list[ConfigError] = []
    for n, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("spider"), str):
            continue
        where = f"sources[{entry.get('id') or n}]"
        spider = registry.get(entry["spider"])
        if spider is None:
            problems.append(ConfigError(
                path.name, f"{where}.spider",
                f"no spider {entry['spider']!r}; known: {', '.join(sorted(registry))}"))
            continue
        params = entry.get("params") or {}
        if isinstance(params, dict):
            problems += _param_problems(path.name, where, spider, params)
    return problems


def _param_problems(name: str, where: str, spider: type, params: dict[str, Any]
                    ) -> list[ConfigError]:
    model = getattr(spider, "params_model", None)
    if isinstance(model, type) and issubclass(model, BaseModel):
        try:
            model.model_validate(params)
        except ValidationError as exc:
            return [ConfigError(name, f"{where}.params.{p.key}", p.problem)
                    for p in validation_problems(name, exc, params)]
        return []
    problems = []
    for key, value in params.items():
        kind = KNOWN_PARAMS.get(key)
        if kind is None:
            continue
        try:
            TypeAdapter(kind).validate_python(value, strict=True)
        except ValidationError as exc:
            problems.append(ConfigError(name, f"{where}.params.{key}",
                                        f"{value!r}: {exc.errors()[0]['msg']}"))
    return problems


def _spiders() -> dict[str, type]:
    """The spider registry Scrapy itself uses to find a source's spider by name."""
    from scrapy.settings import Settings as ScrapySettings
    from scrapy.spiderloader import SpiderLoader

    from omvarld.crawl.settings import SPIDER_MODULES

    loader = SpiderLoader.from_settings(ScrapySettings({"SPIDER_MODULES": SPIDER_MODULES}))
    return {name: loader.load(name) for name in loader.list()}


def require_config(config_dir: Path | None = None, *, sources: list[str] | None = None
                   ) -> None:
    """Raise ConfigProblems (every problem, one per line) unless the configuration is
    sound."""
    problems = check_config(config_dir, sources=sources)
    if problems:
        raise ConfigProblems(problems)


def config_gate(sources: list[str] | None = None) -> Any:
    """A flow's first step: None when the configuration is sound, else a Failed state to
    return at once. Each problem is logged on its own line, and the flow's caller gets
    ConfigProblems; Prefect logs no traceback for a returned state."""
    problems = check_config(sources=sources)
    if not problems:
        return None
    from prefect.logging import get_run_logger
    from prefect.states import Failed

    logger = get_run_logger()
    for problem in problems:
        logger.error("%s", problem)
    error = ConfigProblems(problems)
    return Failed(message=f"configuration: {len(problems)} problem(s): {problems[0]}",
                  data=error)
