"""`config/digest.yaml`: who gets the weekly digest and how it is put together.

Recipients are configured per focus area because strategists follow their own areas: a
recipient of one area gets a digest with that area only (plus what to act on and the
stakeholders); a recipient under `everything` gets every area. The ranking weights live
here too, so that Malmö can decide that a proposition outweighs a news item without
touching code. A wrong value stops with a ConfigError naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from omvarld.config.load import _load
from omvarld.core.areas import FocusAreas
from omvarld.core.errors import ConfigError
from omvarld.core.schema import Strict

DIGEST_CONFIG_FILE = "digest.yaml"
_ADDRESS = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+$")


def _check_addresses(values: list[str]) -> list[str]:
    bad = [v for v in values if not _ADDRESS.match(v)]
    if bad:
        raise ValueError(f"not an e-mail address: {', '.join(map(repr, bad))}")
    return values


class Recipients(Strict):
    everything: list[str] = Field(default_factory=list)
    areas: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("everything")
    @classmethod
    def _everything(cls, value: list[str]) -> list[str]:
        return _check_addresses(value)

    @field_validator("areas")
    @classmethod
    def _areas(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for addresses in value.values():
            _check_addresses(addresses)
        return value

    def groups(self, area_ids: list[str]) -> list[tuple[tuple[str, ...], list[str]]]:
        """Recipients grouped by the areas they follow, in configuration order:
        [(area ids, addresses)]. An `everything` recipient follows all areas; an address
        listed under several areas gets one digest with all of them."""
        follows: dict[str, set[str]] = {}
        for address in self.everything:
            follows.setdefault(address.lower(), set()).update(area_ids)
        for area_id, addresses in self.areas.items():
            for address in addresses:
                follows.setdefault(address.lower(), set()).add(area_id)
        listed = [*self.everything, *(a for group in self.areas.values() for a in group)]
        spelled = {a.lower(): a for a in listed}
        grouped: dict[tuple[str, ...], list[str]] = {}
        for key, wanted in follows.items():
            ordered = tuple(a for a in area_ids if a in wanted)
            grouped.setdefault(ordered, []).append(spelled[key])
        return sorted(grouped.items(), key=lambda item: (-len(item[0]), item[0]))


class Ranking(Strict):
    """Added to the classifier's score (0–1) to rank a week's entries in one area."""

    doc_type: dict[str, float] = Field(
        default_factory=lambda: {
            "proposition": 0.45, "legislative_proposal": 0.45, "sou": 0.4, "ds": 0.35,
            "directive": 0.35, "remiss": 0.4, "consultation": 0.4, "law": 0.3,
            "committee_report": 0.3, "decision": 0.25, "report": 0.15, "motion": 0.1,
            "press_release": 0.05, "news": 0.0, "other": 0.0,
        }
    )
    level: dict[str, float] = Field(
        default_factory=lambda: {"eu": 0.1, "national": 0.1, "regional": 0.05, "local": 0.0}
    )
    novelty: float = Field(default=0.1, ge=0, le=1)
    position: float = Field(default=0.1, ge=0, le=1)
    # Malmö's own surroundings: a document that names one of `local_terms` (in its title,
    # summary or opening) gets `local`; one from another country (its language not in
    # `home_languages`, not EU) that names none of them loses `foreign`, so a Danish
    # national item does not outrank a Swedish or Skåne one on its type alone.
    local: float = Field(default=0.15, ge=0, le=1)
    foreign: float = Field(default=0.3, ge=0, le=1)
    home_languages: list[str] = Field(default_factory=lambda: ["sv"])
    local_terms: list[str] = Field(default_factory=lambda: [
        "Malmö", "Malmø", "Skåne", "Öresund", "Øresund", "MalmöLundregionen",
        "Greater Copenhagen"])
    # Subtracted when a consultation's deadline has passed: it is no longer to act on.
    expired: float = Field(default=0.4, ge=0, le=1)


class ScoreLevel(Strict):
    min: float = Field(ge=0, le=1)
    text: str = Field(min_length=1)


def _default_levels() -> list[ScoreLevel]:
    return [ScoreLevel(min=0.9, text="stark koppling"), ScoreLevel(min=0.7, text="tydlig koppling"),
            ScoreLevel(min=0.0, text="möjlig koppling")]


class DigestConfig(Strict):
    per_area: int = Field(default=5, ge=1, le=100)
    rest_listed: int = Field(default=20, ge=0, le=500)  # "… och N till": titles listed
    per_watch: int = Field(default=20, ge=1, le=200)  # a watch's matches; then "och N till"
    max_age_days: int | None = Field(default=60, ge=1)
    consultation_weeks: int = Field(default=8, ge=1, le=52)
    stakeholders: int = Field(default=10, ge=0, le=100)
    positions_listed: int = Field(default=8, ge=1, le=100)
    trend_weeks: int = Field(default=12, ge=2, le=104)
    pdf: bool = True
    attach_pdf: bool = False
    subject: str = "Omvärldsbevakning vecka {week_number}, {week_year}"
    more_url: str | None = Field(
        default=None,
        description="Link behind '… och N till', with {area} and {week}; none: no link.",
    )
    ranking: Ranking = Field(default_factory=Ranking)
    score_levels: list[ScoreLevel] = Field(default_factory=_default_levels)
    # Who acts on an area's documents (a förvaltning), shown with each entry; a
    # position's own `responsible` (positions.yaml) takes precedence.
    responsible: dict[str, str] = Field(default_factory=dict)
    recipients: Recipients = Field(default_factory=Recipients)

    @field_validator("score_levels")
    @classmethod
    def _levels(cls, value: list[ScoreLevel]) -> list[ScoreLevel]:
        mins = [level.min for level in value]
        if not value or mins != sorted(mins, reverse=True) or len(set(mins)) < len(mins):
            raise ValueError("list levels from the highest `min` down, each `min` once")
        if mins[-1] != 0:
            raise ValueError("the last level needs `min: 0`, so that every score has a level")
        return value

    def score_level(self, score: float) -> str:
        """The reader's words for a label's score (a probability in 0..1; an uncalibrated
        score below 0 reads as the lowest level)."""
        return next((level.text for level in self.score_levels if score >= level.min),
                    self.score_levels[-1].text)

    @field_validator("subject")
    @classmethod
    def _subject_fields(cls, value: str) -> str:
        try:
            value.format(week="2026-W47", week_number=47, week_year=2026)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"may use only {{week}}, {{week_number}} and {{week_year}}: {exc}"
            ) from exc
        return value

    @field_validator("more_url")
    @classmethod
    def _more_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        try:
            value.format(area="miljo", week="2026-W47")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"may use only {{area}} and {{week}}: {exc}") from exc
        return value

    def check_areas(self, areas: FocusAreas) -> DigestConfig:
        """Every area named under recipients must be a configured focus area."""
        for key, named in (("recipients.areas", self.recipients.areas),
                           ("responsible", self.responsible)):
            unknown = sorted(set(named) - set(areas.ids))
            if unknown:
                raise ConfigError(
                    DIGEST_CONFIG_FILE,
                    f"{key}.{unknown[0]}",
                    f"no such focus area; known: {', '.join(areas.ids)}",
                )
        return self


def load_digest_config(config_dir: Path | None = None) -> DigestConfig:
    """`digest.yaml` from the configuration folder; the defaults when it is absent."""
    if config_dir is None:
        from omvarld.core.settings import get_settings

        config_dir = get_settings().config_dir
    if not (Path(config_dir) / DIGEST_CONFIG_FILE).is_file():
        return DigestConfig()
    return _load(Path(config_dir), DIGEST_CONFIG_FILE, DigestConfig)
