"""Stakeholders named in a text: authorities, ministries, municipalities, regions, EU
institutions, parties and regional bodies, from the gazetteer in `config/stakeholders.yaml`.

No offline Swedish or Danish NER model exists, and the organisations that matter to Malmö
are a known, finite list: a spaCy `entity_ruler` over that list finds them exactly, and
every alias resolves to one canonical name, so "SKR", "Sveriges Kommuner och Regioner"
and "SKR:s" count as one stakeholder. Names match in any letter case and in the genitive
("Region Skånes"), except acronyms and short one-word names ("SKR", "Formas"), which in
lower case are ordinary words. An alias tagged with a country, "Regeringen (DK)", is used
only in that country's language: "regeringen" is the Danish government in Danish text and
the Swedish one in Swedish text."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import spacy
from spacy.language import Language

from omvarld.core.areas import Stakeholders
from omvarld.core.schema import load_yaml_model
from omvarld.nlp.text import MAX_CHARS, PIPELINE_LANGS, get_pipeline

log = logging.getLogger(__name__)

RULER_NAME = "omvarld_stakeholders"
# A name of one word and at most this many letters matches only as written.
SHORT_NAME_LETTERS = 6
_COUNTRY_TAG = re.compile(r"^(?P<surface>.*\S)\s*\((?P<tag>DK|DA|SE|SV|EN|UK)\)$")
_FUNCTION_WORDS = {"och", "i", "för", "og", "for", "and", "of", "the", "&", "de", "den", "det"}
_TAG_LANGUAGE = {"DK": "da", "DA": "da", "SE": "sv", "SV": "sv", "EN": "en", "UK": "en"}


class StakeholderMention(NamedTuple):
    """A stakeholder named in a text: canonical name, kind, and how many times."""

    name: str
    kind: str
    count: int


@dataclass(frozen=True)
class _Surface:
    text: str
    name: str
    kind: str
    case_sensitive: bool


def is_case_sensitive(surface: str) -> bool:
    """Whether `surface` matches only as written. Acronyms ("SKR", "EESC") and one-word
    names of at most six letters ("Formas", "Brå"): lower-cased they are ordinary words.
    And a name that opens with a genitive followed by capitalised words ("Skånes
    Kommuner", "Sveriges Kommuner och Regioner"): in lower case it is an ordinary phrase,
    "Skånes kommuner" being the municipalities of Skåne, not their association."""
    words = surface.split()
    if len(words) > 1:
        later = [w for w in words[1:] if w.lower() not in _FUNCTION_WORDS]
        return words[0].endswith("s") and bool(later) and all(w[0].isupper() for w in later)
    letters = [c for c in surface if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return len(letters) <= SHORT_NAME_LETTERS or 2 * upper >= len(letters)


def _genitive(surface: str) -> str | None:
    """Swedish and Danish genitive: "Region Skånes", "SKR:s"; none after s, x, z."""
    letters = [c for c in surface if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return f"{surface}:s"
    if not surface or surface[-1].lower() in "sxz" or not surface[-1].isalpha():
        return None
    return f"{surface}s"


def gazetteer(stakeholders: Stakeholders, lang: str) -> list[_Surface]:
    """Every surface form to look for in `lang`, each naming one stakeholder. Two entries
    claiming the same words is a configuration mistake: the first keeps them, with a
    warning naming both."""
    claimed: dict[str, _Surface] = {}
    tagged: list[_Surface] = []
    for entry in stakeholders.stakeholders:
        for raw in [entry.name, *entry.aliases]:
            tag = _COUNTRY_TAG.match(raw)
            text = tag.group("surface") if tag else raw.strip()
            surface = _Surface(text, entry.name, entry.kind, is_case_sensitive(text))
            if tag:
                if _TAG_LANGUAGE[tag.group("tag")] == lang:
                    tagged.append(surface)
                continue
            key = text if surface.case_sensitive else text.lower()
            other = claimed.get(key)
            if other is not None and other.name != entry.name:
                log.warning("stakeholders.yaml: %r names both %r and %r; kept for %r",
                            text, other.name, entry.name, other.name)
                continue
            claimed.setdefault(key, surface)
    for surface in tagged:  # a language's own reading wins over the shared one
        claimed[surface.text if surface.case_sensitive else surface.text.lower()] = surface
    return list(claimed.values())


def _patterns(nlp: Language, surfaces: list[_Surface]) -> list[dict]:
    """Phrase patterns matched on lower-case tokens (fast: one hash look-up per token,
    whatever the size of the gazetteer), and token patterns on the exact text for the
    few surfaces that must match as written. Both are tokenised by the pipeline's own
    tokenizer, so a name splits exactly as in running text ("EU-kommissionen" stays one
    token)."""
    patterns: list[dict] = []
    seen: set[tuple] = set()
    for surface in surfaces:
        for variant in filter(None, (surface.text, _genitive(surface.text))):
            if surface.case_sensitive:
                tokens = tuple(t.text for t in nlp.make_doc(variant))
                pattern: str | list[dict] = [{"ORTH": token} for token in tokens]
            else:
                tokens = tuple(t.lower_ for t in nlp.make_doc(variant))
                pattern = variant
            if (surface.case_sensitive, tokens) in seen:
                continue
            seen.add((surface.case_sensitive, tokens))
            patterns.append({"label": surface.kind, "id": surface.name, "pattern": pattern})
    return patterns


def _config_dir(config_dir: Path | None) -> Path:
    if config_dir is not None:
        return Path(config_dir)
    from omvarld.core.settings import get_settings

    return Path(get_settings().config_dir)


def get_entity_pipeline(lang: str, config_dir: Path | None = None) -> Language:
    """`omvarld.nlp.text.get_pipeline(lang)` (same tokenizer exceptions, sentencizer, lemmas) with
    the stakeholder `entity_ruler` last. A new object: the shared pipeline is untouched.
    Rebuilt when stakeholders.yaml changes."""
    if lang not in PIPELINE_LANGS:
        lang = "sv"
    directory = _config_dir(config_dir).resolve()
    path = directory / "stakeholders.yaml"
    mtime = path.stat().st_mtime if path.exists() else 0.0
    return _build_pipeline(lang, directory, mtime)


@lru_cache(maxsize=8)
def _build_pipeline(lang: str, config_dir: Path, mtime: float) -> Language:
    base = get_pipeline(lang)
    nlp = spacy.blank(base.lang)
    nlp.tokenizer.from_bytes(base.tokenizer.to_bytes())  # the abbreviation special cases
    nlp.max_length = base.max_length
    # The ruler is filled while it is the only component: phrase patterns are run through
    # the components before it, and the lemmatizer would load its dictionaries for nothing.
    ruler = nlp.add_pipe("entity_ruler", name=RULER_NAME,
                         config={"phrase_matcher_attr": "LOWER", "overwrite_ents": True,
                                 "validate": False})
    surfaces = gazetteer(load_yaml_model(config_dir / "stakeholders.yaml", Stakeholders), lang)
    ruler.add_patterns(_patterns(nlp, surfaces))
    for name in base.pipe_names:
        config = {k: v for k, v in base.config["components"][name].items() if k != "factory"}
        nlp.add_pipe(base.get_pipe_meta(name).factory, name=name, config=config,
                     before=RULER_NAME)
    log.debug("stakeholder pipeline for %s: %d surface forms", lang, len(surfaces))
    return nlp


def extract_stakeholders(
    text: str, lang: str, config_dir: Path | None = None
) -> list[StakeholderMention]:
    """Stakeholders named in (the first MAX_CHARS of) `text`: canonical name, kind and
    number of mentions, most mentioned first. Only the tokenizer and the ruler run: the
    names need neither sentences nor lemmas."""
    if not text or not text.strip():
        return []
    nlp = get_entity_pipeline(lang, config_dir)
    doc = nlp.get_pipe(RULER_NAME)(nlp.make_doc(text[:MAX_CHARS]))
    counts: Counter[str] = Counter()
    kinds: dict[str, str] = {}
    for ent in doc.ents:
        name = ent.ent_id_ or ent.text
        counts[name] += 1
        kinds.setdefault(name, ent.label_)
    order = {name: i for i, name in enumerate(counts)}  # first mention first among equals
    return [
        StakeholderMention(name, kinds[name], n)
        for name, n in sorted(counts.items(), key=lambda item: (-item[1], order[item[0]]))
    ]
