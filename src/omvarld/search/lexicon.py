"""Cross-lingual equivalents for full-text search (config/search_lexicon.yaml).

A query word that is one of a concept's words — compared as search terms, stemmed and
folded (`omvarld.store.textsearch`), so "klimatet", "Klimat" and "klimat" are one — gets
the concept's words in the other languages as alternatives of its group: "klimat" also
finds "climate" (stemmed as English) and "klima" (as Danish). Each equivalent is stemmed
in its own language, so "housing" is not stemmed as Swedish."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import yaml

from omvarld.store.textsearch import (
    QUERY_LANGUAGES,
    Alternative,
    Term,
    TextQuery,
    alternatives,
    fold,
    stem_words,
)

log = logging.getLogger(__name__)
FILE = "search_lexicon.yaml"


@dataclass(frozen=True)
class Lexicon:
    # search terms of a word or phrase (in its own language) -> concepts holding it
    keys: dict[tuple[str, ...], list[int]]
    # concept -> (language, word or phrase as written)
    concepts: list[list[tuple[str, str]]]

    def equivalents(self, alts: set[Alternative]) -> list[tuple[str, str]]:
        """The words of every concept one of `alts` is a word of, in every language."""
        found: dict[int, None] = {}
        for stems, _prefix in alts:
            for concept in self.keys.get(stems, []):
                found[concept] = None
        return [entry for concept in found for entry in self.concepts[concept]]


def _stems(phrase: str, language: str) -> tuple[str, ...]:
    words = phrase.lower().replace("-", " ").split()
    return tuple(fold(s) for s in stem_words(words, language))


def load_lexicon(path: Path) -> Lexicon:
    """Read the lexicon at `path`; an error names the file and the concept."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    keys: dict[tuple[str, ...], list[int]] = {}
    concepts: list[list[tuple[str, str]]] = []
    for n, concept in enumerate(data.get("concepts") or [], start=1):
        if not isinstance(concept, dict) or not concept:
            raise ValueError(f"{path}: concept {n} must map languages to lists of words")
        entries = []
        for language, words in concept.items():
            if language not in QUERY_LANGUAGES:
                raise ValueError(f"{path}: concept {n}: unknown language {language!r} "
                                 f"(use {', '.join(QUERY_LANGUAGES)})")
            if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
                raise ValueError(f"{path}: concept {n}, {language}: a list of words")
            entries += [(language, w) for w in words]
        index = len(concepts)
        concepts.append(entries)
        for language, word in entries:
            stems = _stems(word, language)
            if stems and index not in keys.setdefault(stems, []):
                keys[stems].append(index)
    return Lexicon(keys=keys, concepts=concepts)


_cache: dict[Path, tuple[float, Lexicon]] = {}
_lock = threading.Lock()


def default_lexicon() -> Lexicon | None:
    """The configured lexicon (re-read when the file changes); None without one."""
    from omvarld.core.settings import get_settings

    path = Path(get_settings().config_dir) / FILE
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return None
    with _lock:
        cached = _cache.get(path)
        if cached and cached[0] == mtime:
            return cached[1]
    try:
        lexicon = load_lexicon(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        log.warning("search lexicon not used: %s", exc)
        return None
    with _lock:
        _cache[path] = (mtime, lexicon)
    return lexicon


def expand(query: TextQuery, lexicon: Lexicon | None) -> TextQuery:
    """`query` with each group's cross-lingual equivalents added (in place; returned)."""
    if lexicon is None:
        return query
    for n, group in enumerate(query.groups):
        alts = query.alternatives[n]
        added: list[str] = []
        for term in group:
            for language, phrase in lexicon.equivalents(alternatives(term)):
                words = tuple(phrase.lower().replace("-", " ").split())
                new = alternatives(Term(words, term.prefix), (language,))
                if not new <= alts:
                    alts |= new
                    added.append(phrase)
        if added:
            query.equivalents[n] = added
    return query
