"""Per-language spaCy pipelines: blank tokenizer + sentencizer + simplemma lemmas.

No trained Swedish or Danish spaCy pipeline exists offline, so we build our own: the
blank language's tokenizer, a sentencizer that does not split after Swedish legal
abbreviations ("prop.", "bet.", "dnr."), and a lemmatizer component over simplemma with
a domain override table (`config/lemmas.yaml`)."""

from __future__ import annotations

from functools import cache, lru_cache
from pathlib import Path

import simplemma
import spacy
import yaml
from spacy.language import Language
from spacy.tokens import Doc

PIPELINE_LANGS = ("sv", "en", "da")
MAX_CHARS = 100_000  # spaCy's input cap for one document; the rest is not read

# Abbreviations after which a sentence does not end. spaCy's Swedish and Danish
# exceptions cover some; these are the ones that break government texts.
_ABBREVIATIONS = {
    "sv": ["prop.", "bet.", "kap.", "dnr.", "Dnr.", "enl.", "Enl.", "jfr.", "resp.", "bl.a.",
           "t.ex.", "m.m.", "s.k.", "ca.", "nr.", "st.", "tf.", "fr.o.m.", "t.o.m.", "d.v.s.",
           "m.fl.", "skr.", "mot.", "SFS.", "prop", "dir."],
    "da": ["bl.a.", "f.eks.", "jf.", "nr.", "ca.", "mv.", "stk.", "pkt."],
    "en": ["No.", "Art.", "para.", "e.g.", "i.e.", "cf.", "approx."],
}


@lru_cache(maxsize=1)
def _overrides() -> dict[str, dict[str, str]]:
    from omvarld.core.settings import get_settings

    path = Path(get_settings().config_dir) / "lemmas.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {lang: {k.lower(): v.lower() for k, v in (table or {}).items()}
            for lang, table in data.items()}


@lru_cache(maxsize=500_000)
def lemma(word: str, lang: str) -> str:
    """The lemma of one lower-cased word form, overrides first."""
    word = word.lower()
    override = _overrides().get(lang, {}).get(word)
    if override is not None:
        return override
    if not any(ch.isalpha() for ch in word):
        return word
    try:
        return simplemma.lemmatize(word, lang=lang).lower()
    except ValueError:  # a language simplemma does not know
        return word


@Language.factory("omvarld_lemmatizer_v1", default_config={"lang": "sv"})
def make_lemmatizer(nlp: Language, name: str, lang: str):
    def lemmatize(doc: Doc) -> Doc:
        for token in doc:
            token.lemma_ = lemma(token.lower_, lang)
        return doc

    return lemmatize


@Language.component("omvarld_paragraphs_v1")
def paragraph_boundaries(doc: Doc) -> Doc:
    """A line break ends a sentence: headings and list items carry no full stop, and
    without this a title runs into the first sentence of the text."""
    for token in doc[:-1]:
        if token.is_space and "\n" in token.text:
            doc[token.i + 1].is_sent_start = True
    return doc


@cache
def get_pipeline(lang: str) -> Language:
    """The pipeline for `lang` ("sv", "en", "da"); anything else reads as Swedish, the
    language most of our sources write in."""
    if lang not in PIPELINE_LANGS:
        lang = "sv"
    nlp = spacy.blank(lang)
    for abbr in _ABBREVIATIONS.get(lang, []):
        nlp.tokenizer.add_special_case(abbr, [{"ORTH": abbr}])
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("omvarld_paragraphs_v1")
    nlp.add_pipe("omvarld_lemmatizer_v1", config={"lang": lang})
    nlp.max_length = MAX_CHARS + 1000
    return nlp


def analyse(text: str, lang: str) -> Doc:
    """Tokens, sentences and lemmas of (at most the first MAX_CHARS of) `text`."""
    return get_pipeline(lang)(text[:MAX_CHARS])
