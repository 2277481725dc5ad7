"""The words of full-text search, the same on every store.

A document's title and text are indexed as *search terms*: each word stemmed with the
Snowball stemmer of the document's own language, then folded so that the spellings of
Swedish, Danish and English meet — å, ä, æ → a; ö, ø → o; other accents dropped (é → e);
and the digraphs aa, ae, oe → a, a, o (Aarhus = Århus, Oeresund = Øresund). "Öresund",
"Øresund" and "Oresund" are then one term, in every store.

A query is parsed here too (words, "quoted phrases", `OR`, `-word`, `word*`) into groups
of alternatives — every group required, any alternative of a group enough — and each
word becomes its stems in the three query languages, folded the same way (a query's
language is unknown). `omvarld.search` may add cross-lingual equivalents to a group
before the store runs it. The store compiles the groups to its own syntax: FTS5 on
SQLite (`fts5_expression`), a `tsquery` over the `simple` configuration on PostgreSQL
(`tsquery_expression`); neither ever sees a character typed by a user, only \\w+ terms."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

# Document language (ISO 639-1) → Snowball algorithm. Anything else is only lower-cased.
SNOWBALL = {
    "sv": "swedish", "en": "english", "da": "danish", "no": "norwegian", "nb": "norwegian",
    "nn": "norwegian", "de": "german", "fi": "finnish", "fr": "french", "nl": "dutch",
    "es": "spanish", "it": "italian", "pt": "portuguese", "pl": "polish",
}
# A query's language is unknown: each word is looked up in every form these languages
# would have stemmed it to (and unstemmed, for documents of other languages).
QUERY_LANGUAGES = ("sv", "en", "da")
MAX_QUERY_WORDS = 32
# The last word of a query is also a prefix when it has this many letters (a query typed
# as you go, and compounds: "bostad" finds "bostadsbyggande")...
PREFIX_MIN = 3
# ... and each of its search terms is a prefix when it has this many (else exact).
PREFIX_STEM_MIN = 5

_TOKEN = re.compile(r"\w+", re.UNICODE)
_LETTERS = str.maketrans({"å": "a", "ä": "a", "æ": "a", "ö": "o", "ø": "o", "ß": "ss"})
_DIGRAPHS = re.compile("aa|ae|oe")
_NOT_WORD = re.compile(r"\W+", re.UNICODE)
_stem_caches: dict[str, dict[str, str]] = {}
_fold_cache: dict[str, str] = {}
_stemmers: dict[str, Any] = {}
CACHE_WORDS = 500_000


def fold(word: str) -> str:
    """`word` lower-cased and folded across the Nordic spellings (see the module)."""
    cached = _fold_cache.get(word)
    if cached is not None:
        return cached
    out = word.lower().translate(_LETTERS)
    if not out.isascii():  # accents dropped; a compatibility form's marks too ("½" → "12")
        out = _NOT_WORD.sub("", "".join(c for c in unicodedata.normalize("NFKD", out)
                                        if not unicodedata.combining(c)))
    out = _DIGRAPHS.sub(lambda m: m.group()[0], out)
    if len(_fold_cache) < CACHE_WORDS:
        _fold_cache[word] = out
    return out


def _stemmer(key: str) -> Any:
    stemmer = _stemmers.get(key)
    if stemmer is None:
        import snowballstemmer

        stemmer = _stemmers[key] = snowballstemmer.stemmer(key)
    return stemmer


def stem_words(words: list[str], language: str | None) -> list[str]:
    """Lower-cased Snowball stems of `words` for `language`, not folded (cached per word:
    the vocabulary of a corpus is small next to its length)."""
    key = SNOWBALL.get((language or "").lower()[:2], "")
    cache = _stem_caches.setdefault(key, {})
    out = []
    for word in words:
        lowered = word.lower()
        stem = cache.get(lowered)
        if stem is None:
            stem = _stemmer(key).stemWord(lowered) if key else lowered
            if len(cache) < CACHE_WORDS:
                cache[lowered] = stem
        out.append(stem)
    return out


def terms(value: str | None, language: str | None) -> list[str]:
    """The search terms of `value` written in `language`: stemmed, then folded."""
    return [fold(s) for s in stem_words(_TOKEN.findall(value or ""), language)]


def index_text(value: str | None, language: str | None) -> str:
    """`value` as space-separated search terms: what every store's index holds."""
    return " ".join(terms(value, language))


# -- queries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One word or quoted phrase of a query, as typed (lower-cased)."""

    words: tuple[str, ...]
    prefix: bool = False

    def __str__(self) -> str:
        shown = " ".join(self.words)
        return (f'"{shown}"' if len(self.words) > 1 else shown) + ("*" if self.prefix else "")


# One way a term may appear in a document: its search terms in order (a phrase when
# more than one), the last one a prefix or not.
Alternative = tuple[tuple[str, ...], bool]


@dataclass
class TextQuery:
    """A parsed query: every group required, any term of a group enough; no document
    containing an excluded term. `alternatives` holds, per group, the search terms each
    of its terms (and any equivalents added) may appear as."""

    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    alternatives: list[set[Alternative]] = field(default_factory=list)
    excluded_alternatives: set[Alternative] = field(default_factory=set)
    # group index -> equivalents in other languages that were added (for the explanation)
    equivalents: dict[int, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.alternatives)

    def describe(self) -> list[str]:
        """Each group as the search terms it looks for, e.g. "klimat|climat|klima*"."""
        out = []
        for alternatives in self.alternatives:
            out.append("|".join(sorted(
                (" ".join(t) + ("*" if p else "") for t, p in alternatives),
                key=lambda s: (len(s), s))))
        return out


_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"?|(-?)(\w+)(\*?)|(\|)', re.UNICODE)


def parse(user_query: str) -> TextQuery:
    """`user_query` as groups of terms; never raises (anything not a word, a phrase, `OR`,
    `|`, a leading `-` or a trailing `*` is a space)."""
    query = TextQuery()
    pending_or = False
    count = 0
    tokens = list(_QUERY_TOKEN.finditer(user_query))
    last_plain = max((i for i, m in enumerate(tokens) if m.group(4)
                      and m.group(4).lower() != "or"), default=-1)
    for i, match in enumerate(tokens):
        neg_phrase, phrase, neg_word, word, star, bar = match.groups()
        if bar or (word and word.lower() == "or" and query.groups and i < len(tokens) - 1):
            pending_or = bool(query.groups)
            continue
        if phrase is not None:
            words = tuple(w.lower() for w in _TOKEN.findall(phrase))
            negated, prefix = bool(neg_phrase), False
        else:
            words = (word.lower(),)
            negated = bool(neg_word)
            prefix = bool(star) or (i == last_plain and not negated and len(word) >= PREFIX_MIN)
        if not words or count >= MAX_QUERY_WORDS:
            continue
        count += len(words)
        term = Term(words, prefix)
        if negated:
            query.excluded.append(term)
        elif pending_or:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
        pending_or = False
    query.alternatives = [set().union(*(alternatives(t) for t in g)) for g in query.groups]
    query.excluded_alternatives = set().union(*(alternatives(t) for t in query.excluded))
    return query


def alternatives(term: Term, languages: tuple[str, ...] = QUERY_LANGUAGES
                 ) -> set[Alternative]:
    """The search terms `term` may appear as: unstemmed and stemmed in each language,
    folded (a phrase keeps one language throughout, as its document does)."""
    forms = {tuple(fold(w) for w in term.words)}
    for language in languages:
        forms.add(tuple(fold(s) for s in stem_words(list(term.words), language)))
    # a short stem as a prefix would match unrelated words ("bol*" of "bolig": "bolag")
    return {(f, term.prefix and len(f[-1]) >= PREFIX_STEM_MIN) for f in forms if all(f)}


def fts5_expression(query: TextQuery) -> str | None:
    """The query in FTS5's syntax, over an index of search terms; None when empty."""
    def alternative(terms: tuple[str, ...], prefix: bool) -> str:
        return '"' + " ".join(terms) + '"' + ("*" if prefix else "")

    groups = ["(" + " OR ".join(sorted(alternative(*a) for a in alts)) + ")"
              for alts in query.alternatives if alts]
    if not groups:
        return None
    expression = " AND ".join(groups)
    if query.excluded_alternatives:
        excluded = " OR ".join(sorted(alternative(*a) for a in query.excluded_alternatives))
        expression = f"({expression}) NOT ({excluded})"
    return expression


def tsquery_expression(query: TextQuery) -> str | None:
    """The query in PostgreSQL's `to_tsquery` syntax, for the `simple` configuration."""
    def alternative(terms: tuple[str, ...], prefix: bool) -> str:
        quoted = [f"'{t}'" for t in terms]
        if prefix:
            quoted[-1] += ":*"
        return "(" + " <-> ".join(quoted) + ")" if len(quoted) > 1 else quoted[0]

    groups = ["(" + " | ".join(sorted(alternative(*a) for a in alts)) + ")"
              for alts in query.alternatives if alts]
    if not groups:
        return None
    expression = " & ".join(groups)
    if query.excluded_alternatives:
        excluded = " | ".join(sorted(alternative(*a) for a in query.excluded_alternatives))
        expression = f"{expression} & !({excluded})"
    return expression
