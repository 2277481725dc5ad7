"""The focus areas and the stakeholders: what Malmö watches for and who acts. Read from
`focus_areas.yaml` and `stakeholders.yaml` (see `omvarld.config.load`); every stage uses
them, so they live in the core."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from omvarld.core.schema import Strict

LANGUAGES = ("sv", "en", "da")


class FocusArea(Strict):
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


class FocusAreas(Strict):
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


class StakeholderEntry(Strict):
    name: str
    kind: Literal[
        "authority", "ministry", "municipality", "region", "eu", "party", "regional_body",
        "organisation", "parliament", "government",
    ]
    aliases: list[str] = Field(default_factory=list)


class Stakeholders(Strict):
    stakeholders: list[StakeholderEntry]
