"""Focus-area vocabulary matching on lemmas.

Terms come from `config/focus_areas.yaml` and are lemmatised with the same pipeline as
the documents, so "hyresrätter" in a text matches the term "hyresrätt". Swedish and
Danish build compounds freely ("klimatanpassningsåtgärder"), so a long single-word term
also matches as the first or last part of a longer word; short terms ("väg") do not,
or "vägledning" would count as transport."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from omvarld.core.areas import FocusAreas
from omvarld.nlp.text import PIPELINE_LANGS, get_pipeline

COMPOUND_MIN_CHARS = 8
COMPOUND_LANGS = ("sv", "da")


@dataclass
class AreaMatches:
    """Distinct matched terms (as written in the config) and where they were found."""

    terms: dict[str, int] = field(default_factory=dict)  # term → occurrences
    sentences: dict[int, int] = field(default_factory=dict)  # sentence start → hits

    @property
    def distinct(self) -> int:
        return len(self.terms)

    @property
    def hits(self) -> int:
        return sum(self.terms.values())


class VocabularyMatcher:
    def __init__(self, areas: FocusAreas) -> None:
        self.area_ids = areas.ids
        self._matchers: dict[str, PhraseMatcher] = {}
        self._term_names: dict[str, dict[int, tuple[str, str]]] = {}
        self._compound_re: dict[str, re.Pattern[str]] = {}
        self._compound_terms: dict[str, dict[str, tuple[str, str]]] = {}
        for lang in PIPELINE_LANGS:
            nlp = get_pipeline(lang)
            matcher = PhraseMatcher(nlp.vocab, attr="LEMMA")
            names: dict[int, tuple[str, str]] = {}
            compounds: dict[str, tuple[str, str]] = {}
            for area in areas.areas:
                seen: set[str] = set()
                for term in area.vocabulary.get(lang, []):
                    pattern = nlp(term)
                    lemma_key = " ".join(t.lemma_ for t in pattern)
                    if lemma_key in seen:  # "järnvägar" and "järnväg" are one term
                        continue
                    seen.add(lemma_key)
                    key = f"{area.id}\x1f{term}"
                    matcher.add(key, [pattern])
                    names[nlp.vocab.strings[key]] = (area.id, term)
                    lemma = pattern[0].lemma_ if len(pattern) == 1 else None
                    if lang in COMPOUND_LANGS and lemma and len(lemma) >= COMPOUND_MIN_CHARS:
                        compounds[lemma] = (area.id, term)
            self._matchers[lang] = matcher
            self._term_names[lang] = names
            self._compound_terms[lang] = compounds
            if compounds:
                alt = "|".join(sorted(map(re.escape, compounds), key=len, reverse=True))
                self._compound_re[lang] = re.compile(rf"^(?:{alt})|(?:{alt})$")

    def match(self, doc: Doc, lang: str) -> dict[str, AreaMatches]:
        """Matches per area in `doc` (analysed with the `lang` pipeline)."""
        lang = lang if lang in self._matchers else "sv"
        found: dict[str, AreaMatches] = defaultdict(AreaMatches)
        covered: set[int] = set()
        for match_id, start, end in self._matchers[lang](doc):
            area, term = self._term_names[lang][match_id]
            self._count(found[area], term, doc[start].sent.start)
            covered.update(range(start, end))
        pattern = self._compound_re.get(lang)
        if pattern is not None:
            terms = self._compound_terms[lang]
            for token in doc:
                lem = token.lemma_
                if token.i in covered or len(lem) <= COMPOUND_MIN_CHARS:
                    continue
                hit = pattern.search(lem)
                if hit:
                    area, term = terms[hit.group(0)]
                    self._count(found[area], term, token.sent.start)
        return dict(found)

    @staticmethod
    def _count(matches: AreaMatches, term: str, sent_start: int) -> None:
        matches.terms[term] = matches.terms.get(term, 0) + 1
        matches.sentences[sent_start] = matches.sentences.get(sent_start, 0) + 1
