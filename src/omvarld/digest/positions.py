"""Malmö's stated positions (`config/positions.yaml`) and which documents touch them.

Malmö's omvärld work exists to influence national and EU decisions, so the most useful
line in a digest is "this proposition touches what Malmö has said about the settlement
law". Each position carries key terms (Swedish, English, Danish); they are matched on
lemmas by the classifier's own `VocabularyMatcher` (compounds included), so
"bosättningslagens" in a text finds "bosättningslagen".

Many key terms are shared by several positions or are everyday words of their area
("Arbetsförmedlingen", "kollektivtrafik"); one of them alone says little. A document
touches a position when it names at least two of the position's terms, at least one of
them specific to that position (listed for no other and not among `generic_terms`), and
either the document is classified in the position's area or it names three terms or
more. A specific term in the title is enough on its own for a document of the area
("Malmö stads miljöprogram"). Measured on real documents in docs/digest/positions.md.

Lemmatising a long text costs tens of milliseconds, so a cheap test on the raw text goes
first: a document in which no position has two term beginnings (one of them specific)
cannot match and is not analysed."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from omvarld.config.load import _load
from omvarld.core.areas import LANGUAGES, FocusAreas
from omvarld.core.errors import ConfigError
from omvarld.core.schema import Strict

log = logging.getLogger(__name__)

POSITIONS_FILE = "positions.yaml"
MIN_TERMS = 2
MIN_TERMS_OUTSIDE_AREA = 3
MAX_POSITIONS_PER_DOCUMENT = 2
TEXT_CHARS = 6000  # title + summary + the opening: where a document says what it is about


class Position(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9\-]*$")
    number: int | None = None
    area: str
    statement: str = Field(min_length=10)
    terms: dict[str, list[str]]
    source: str | None = None
    source_note: str = ""
    quote: str | None = None
    kind: Literal["malmo", "politician", "regional_body", "third_party"] = "malmo"
    responsible: str | None = None  # the förvaltning that acts on it, when known

    @field_validator("terms")
    @classmethod
    def _terms(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = set(value) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"unknown language {sorted(unknown)}; use {', '.join(LANGUAGES)}")
        if sum(len([t for t in terms if t.strip()]) for terms in value.values()) < MIN_TERMS:
            raise ValueError(f"needs at least {MIN_TERMS} terms")
        return value

    @field_validator("source")
    @classmethod
    def _source(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def short(self) -> str:
        """The statement's first clause, for a one-line flag."""
        first = re.split(r"(?<=[.;:])\s", self.statement, maxsplit=1)[0].rstrip(".;:")
        return first if len(first) <= 160 else first[:159].rsplit(" ", 1)[0] + "…"


class Positions(Strict):
    version: int = 1
    generic_terms: list[str] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)

    @field_validator("positions")
    @classmethod
    def _unique(cls, value: list[Position]) -> list[Position]:
        ids = [p.id for p in value]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate position id {dupes}")
        return value

    def check_areas(self, areas: FocusAreas) -> Positions:
        for index, position in enumerate(self.positions):
            if position.area not in areas.ids:
                raise ConfigError(
                    POSITIONS_FILE,
                    f"positions[{position.id or index}].area",
                    f"{position.area!r} is not a focus area; known: {', '.join(areas.ids)}",
                )
        return self

    def get(self, position_id: str) -> Position:
        for position in self.positions:
            if position.id == position_id:
                return position
        raise KeyError(position_id)


def load_positions(config_dir: Path | None = None) -> Positions:
    """`positions.yaml` from the configuration folder; none when the file is absent."""
    if config_dir is None:
        from omvarld.core.settings import get_settings

        config_dir = get_settings().config_dir
    if not (Path(config_dir) / POSITIONS_FILE).is_file():
        log.info("no %s in %s: no position flags", POSITIONS_FILE, config_dir)
        return Positions()
    return _load(Path(config_dir), POSITIONS_FILE, Positions)


@dataclass(frozen=True)
class PositionMatch:
    position_id: str
    terms: tuple[str, ...]
    sentence: str | None


class PositionMatcher:
    """Finds the positions a document touches; build once per digest."""

    def __init__(self, positions: Positions) -> None:
        from omvarld.nlp.vocab import VocabularyMatcher  # spaCy loads only when positions exist

        self.positions = positions
        self._by_key = {f"p{i}": p for i, p in enumerate(positions.positions)}
        holders: Counter[str] = Counter()
        for position in positions.positions:
            for term in _terms_of(position):
                holders[term] += 1
        generic = {t.strip().lower() for t in positions.generic_terms}
        self._specific = {t for t, n in holders.items() if n == 1 and t not in generic}
        # Raw-text prefilter: a match needs a specific term, and any written form of a
        # term contains the stem of its longest word (see `_stem`).
        stems = {
            _stem(term, lang)
            for position in positions.positions
            for lang, terms in position.terms.items()
            for term in terms
            if term.strip().lower() in self._specific
        }
        alternation = "|".join(sorted(map(re.escape, stems), key=len, reverse=True))
        self._stem_re = re.compile(alternation) if alternation else None
        self._matcher = (
            VocabularyMatcher(_as_areas(self._by_key)) if positions.positions else None
        )

    def _may_match(self, body: str) -> bool:
        if self._stem_re is None:
            return False
        return self._stem_re.search(body.lower()) is not None

    def match(
        self, title: str, summary: str, text: str, language: str, doc_areas: set[str]
    ) -> list[PositionMatch]:
        """The positions touched, most terms first (at most two)."""
        if self._matcher is None:
            return []
        from omvarld.nlp.text import analyse

        body = "\n".join(p for p in (title, summary, text[:TEXT_CHARS]) if p)
        if not self._may_match(body):
            return []
        doc = analyse(body, language)
        found: list[tuple[int, str, PositionMatch]] = []
        for key, matches in self._matcher.match(doc, language).items():
            position = self._by_key[key]
            terms = tuple(matches.terms)
            specific = [t for t in terms if t.strip().lower() in self._specific]
            in_area = position.area in doc_areas
            enough = len(terms) >= (MIN_TERMS if in_area else MIN_TERMS_OUTSIDE_AREA)
            in_title = in_area and any(_in_title(t, title) for t in specific)
            if not specific or not (enough or in_title):
                continue
            start = max(matches.sentences, key=lambda s: (matches.sentences[s], -s))
            sentence = " ".join(doc[start].sent.text.split())
            found.append((len(terms), position.id, PositionMatch(position.id, terms, sentence)))
        found.sort(key=lambda item: (-item[0], item[1]))
        return [m for _, _, m in found[:MAX_POSITIONS_PER_DOCUMENT]]


def _terms_of(position: Position) -> set[str]:
    return {t.strip().lower() for ts in position.terms.values() for t in ts if t.strip()}


def _in_title(term: str, title: str) -> bool:
    """The term (without a possible inflection ending) written in the title."""
    core = term.strip().lower()
    core = core[:-2] if len(core) > 8 else core
    return core in title.lower()


def _stem(term: str, lang: str) -> str:
    """The lemma of the term's longest word less its last two letters (at least four):
    contained in every inflected form of these nominal terms ("hyresbostäder" →
    "hyresbost", found in "hyresbostad" and "hyresbostäderna") and in compounds."""
    from omvarld.nlp.text import lemma

    words = [w for w in re.split(r"[\s\-–()/,]+", term.strip().lower()) if w]
    longest = max(words, key=len) if words else term.lower()
    base = lemma(longest, lang) if lang in LANGUAGES else longest
    common = next((i for i, (a, b) in enumerate(zip(base, longest, strict=False)) if a != b),
                  min(len(base), len(longest)))
    keep = max(min(common, len(base) - 2), 4)
    return longest[:keep]


def _as_areas(by_key: dict[str, Position]) -> FocusAreas:
    """Positions in the shape the vocabulary matcher reads: one 'area' per position."""
    return FocusAreas.model_validate(
        {
            "areas": [
                {
                    "id": key,
                    "names": {"sv": position.id, "en": position.id},
                    "descriptions": {"sv": position.statement, "en": position.statement},
                    "vocabulary": {
                        lang: [t for t in position.terms.get(lang, []) if t.strip()]
                        for lang in LANGUAGES
                    },
                }
                for key, position in by_key.items()
            ]
        }
    )
