"""Focus-area vocabulary matching on lemmas.

Terms come from `config/focus_areas.yaml` and are lemmatised with the same pipeline as
the documents, so "hyresrätter" in a text matches the term "hyresrätt". Swedish and
Danish build compounds freely ("klimatanpassningsåtgärder"), so a long single-word term
also matches as the first or last part of a longer word; short terms ("väg") do not,
or "vägledning" would count as transport.

Some words are about the page, not the document: page furniture ("Ansvarig:
Utbildningsdepartementet", "Ladda ner:", navigation lines) and the names of publishers,
ministries and agencies ("Boverket", "Naturvårdsverket", "Ministry of Education"). With
`exclude_names` such hits are kept apart (`AreaMatches.excluded`): they never count as a
document's vocabulary, and never make its evidence."""

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

# Lines that belong to the page, not the document: regeringen.se's metadata and document
# chain, download and share links, the signatures and reservation counts of Riksdagen.
FURNITURE_LINE = re.compile(
    r"^\W*(?:(?:ansvarig|ansvariga departement|id-nummer|diarienummer|dnr|publicerad|"
    r"uppdaterad|ladda ner|dela|skriv ut|lyssna|relaterat|innehåll|responsible|"
    r"published|download|share|print|ansvarligt ministerium|udgivet|del)\s*:.*"
    r"|ladda ner|dela|skriv ut|till toppen|tillbaka|lagstiftningskedjan|"
    r"[\wåäöæø ,.-]{3,60}\(\d+ st\)"  # "Kommittédirektiv (2 st)": the document chain
    r"|i betänkandet finns \d+ reservation.*"
    r"|(?:\|?\s*[\w .-]+ \([A-ZÅÄÖ]{1,3}\)\s*\|?\s*)+"  # "| Monica Haider (S) |"
    r")\W*$",
    re.IGNORECASE | re.MULTILINE,
)
# Single words that name a body: ministries, agencies, inquiries, publishers.
ORGANISATION_WORD = re.compile(
    r"(?:departementet|departementets|ministeriet|ministeriets|ministerium|verket|verkets|"
    r"styrelsen|styrelsens|inspektionen|inspektionens|myndigheten|myndighetens|"
    r"förmedlingen|förmedlingens|utredningen|utredningens|beredningen|beredningens|"
    r"kommittén|delegationen|rådet|nämnden|kommissionen|styrelse|agentur|"
    r"agenturet|direktoratet|rådets)$"
)
# Names of several words: "Ministry of Education", "Directorate-General for Mobility …".
ORGANISATION_PHRASE = re.compile(
    r"\b(?:Ministry|Minister|Department|Directorate[- ]General|DG|Ministeriet|Ministeren|"
    r"Agency|Committee|Commissioner|Styrelsen|Agenturet) (?:of|for) (?:the )?[A-ZÆØÅ][\w-]+"
    r"(?:(?:,| and| og)? [A-ZÆØÅ][\w-]+){0,3}"
    # "Udlændinge- og Integrationsministeriet", "Klima-, Energi- og Forsyningsministeriet"
    r"|\b(?:[A-ZÆØÅÄÖ][\wæøåäö]*-,? )+(?:og|och|and) [\wæøåäö]+"
    r"(?:ministeriet|departementet|styrelsen|verket)\b"
)


@dataclass
class AreaMatches:
    """Distinct matched terms (as written in the config) and where they were found."""

    terms: dict[str, int] = field(default_factory=dict)  # term → occurrences
    sentences: dict[int, int] = field(default_factory=dict)  # sentence start → hits
    excluded: dict[str, int] = field(default_factory=dict)  # hits in furniture or names

    @property
    def distinct_with_excluded(self) -> int:
        """Distinct terms counting furniture and names too, as before they were kept apart
        (the features the earlier head was trained on)."""
        return len(self.terms.keys() | self.excluded.keys())

    @property
    def distinct(self) -> int:
        return len(self.terms)

    @property
    def hits(self) -> int:
        return sum(self.terms.values())


class VocabularyMatcher:
    def __init__(self, areas: FocusAreas, exclude_names: bool = False) -> None:
        self.area_ids = areas.ids
        self.exclude_names = exclude_names
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
                    if exclude_names and is_name(term):
                        continue  # "Boverket" is a publisher, not a word about housing
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
        apart = excluded_tokens(doc) if self.exclude_names else set()
        for match_id, start, end in self._matchers[lang](doc):
            area, term = self._term_names[lang][match_id]
            if apart.intersection(range(start, end)):
                found[area].excluded[term] = found[area].excluded.get(term, 0) + 1
            else:
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
                    if token.i in apart:
                        found[area].excluded[term] = found[area].excluded.get(term, 0) + 1
                    else:
                        self._count(found[area], term, token.sent.start)
        return dict(found)

    @staticmethod
    def _count(matches: AreaMatches, term: str, sent_start: int) -> None:
        matches.terms[term] = matches.terms.get(term, 0) + 1
        matches.sentences[sent_start] = matches.sentences.get(sent_start, 0) + 1


def is_name(word: str) -> bool:
    """A capitalised single word that names a body ("Skolverket", "Arbetsförmedlingen")."""
    return (" " not in word and word[:1].isupper()
            and bool(ORGANISATION_WORD.search(word.lower())))


def excluded_tokens(doc: Doc) -> set[int]:
    """Indices of the tokens that are page furniture or part of an organisation's name."""
    text = doc.text
    spans = [(m.start(), m.end()) for m in FURNITURE_LINE.finditer(text)]
    spans += [(m.start(), m.end()) for m in ORGANISATION_PHRASE.finditer(text)]
    out = {t.i for t in doc if is_name(t.text)}
    for start, end in spans:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is not None:
            out.update(range(span.start, span.end))
    return out
