"""Per-language spaCy pipelines (blank tokenizer, our sentences, simplemma lemmas) and the
one sentence splitter every stage uses.

No trained Swedish or Danish spaCy pipeline exists offline, so we build our own: the
blank language's tokenizer, sentence boundaries from `sentence_spans` (which does not
split after Swedish legal abbreviations — "prop.", "bet.", "dnr." — and treats a heading
or a word glued to the next block's first word as a boundary), and a lemmatizer
component over simplemma with a domain override table (`config/lemmas.yaml`).

`summarize` picks a document's first content sentences with the same splitter: the
classify stage stores it, the digest shows it."""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import cache, cached_property, lru_cache
from pathlib import Path

import numpy as np
import simplemma
import spacy
import yaml
from spacy.attrs import IDX
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


# -- sentences ----------------------------------------------------------------------

# Abbreviations after which a full stop does not end a sentence (sv, en, da), lower case,
# without the final dot. Kept small: a rare miss only makes one sentence a little long.
# fmt: off
_NO_END = frozenset({
    "t.ex", "bl.a", "m.m", "m.fl", "dvs", "d.v.s", "s.k", "osv", "o.s.v", "jfr", "jf", "ca",
    "resp", "fr.o.m", "t.o.m", "kap", "prop", "bet", "dir", "dnr", "enl", "skr", "mot", "nr",
    "art", "etc", "e.g", "i.e", "cf", "approx", "para", "mr", "mrs", "ms", "dr", "no", "vol",
    "fig", "inkl", "exkl", "f.d", "f.eks", "mv", "m.v", "stk", "pkt", "tel", "ff", "pp", "vs",
    "prof", "st", "tf", "jan", "feb", "aug", "sept", "okt", "nov", "dec",
})
# fmt: on
_BOUNDARY = re.compile(r"""([.!?…]+["'”»)\]]*)\s+(?=["'“«(\[–-]?\s?[A-ZÅÄÖÆØÜÉ0-9])""")
_TERMINAL = re.compile(r"""[.!?…:;]["'”»)\]]*$""")
_ENDS_SENTENCE = re.compile(r"""[.!?]["'”»)\]]*$""")
# "kollektivtrafikenDiarienummer": a lower-case word run into a capitalised one, where a
# page's block boundary was lost in extraction. A word that starts with a capital
# ("MalmöLundregionen") or is short ("eHälsa") is a name, not a glue.
_GLUED = re.compile(r"\b[a-zåäöæøüé]{3,}(?=[A-ZÅÄÖÆØÜÉ][a-zåäöæøüé]{2,})")
HEADING_WORDS = 8


@dataclass(frozen=True)
class Sentence:
    """One sentence of a text: where it is, and whether it is a heading (a short line
    without final punctuation, or a label such as "Diarienummer: …")."""

    start: int
    end: int
    heading: bool = False
    source: str = field(default="", repr=False, compare=False)

    @cached_property
    def text(self) -> str:
        """The sentence on one line (worked out when asked: the pipeline needs only
        where sentences start)."""
        return " ".join(self.source[self.start : self.end].split())


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, a glued word ending one line and starting the next."""
    glues = [m.end() for m in _GLUED.finditer(text)]
    out: list[tuple[int, int]] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        line_end = offset + len(raw.rstrip("\r\n"))
        start = offset
        if glues:
            for glue in glues[bisect_left(glues, offset) : bisect_left(glues, line_end)]:
                out.append((start, glue))
                start = glue
        out.append((start, line_end))
        offset += len(raw)
    return out


def _is_heading(line: str) -> bool:
    return bool(line) and not _TERMINAL.search(line) and len(line.split()) <= HEADING_WORDS


def _split_paragraph(text: str, start: int, end: int) -> list[Sentence]:
    out = []
    begin = start
    for match in _BOUNDARY.finditer(text, start, end):
        stop = match.end(1)
        if match[1].startswith("."):
            word_start = max(text.rfind(" ", begin, stop), text.rfind("\n", begin, stop)) + 1
            last = text[word_start:stop].rstrip(".!?…\"'”»)]").lstrip("(\"'“«[").lower()
            if last in _NO_END or (len(last) == 1 and last.isalpha()):
                continue  # "t.ex. Malmö", "A. Andersson": not the end of a sentence
        out.append(_sentence(text, begin, stop))
        begin = match.end()
    out.append(_sentence(text, begin, end))
    return [s for s in out if s.start < s.end]


def _sentence(text: str, start: int, end: int, heading: bool = False) -> Sentence:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Sentence(start, end, heading, text)


def sentence_spans(text: str) -> list[Sentence]:
    """The sentences of `text`, robust to what scraped and PDF text looks like: a blank
    line or a heading ends a paragraph, hard-wrapped lines are joined, a full stop after
    an abbreviation or an initial does not end a sentence."""
    text = text or ""
    out: list[Sentence] = []
    paragraph: tuple[int, int] | None = None
    for start, end in _lines(text):
        line = text[start:end].strip()
        if not line or _is_heading(line):
            if paragraph:
                out.extend(_split_paragraph(text, *paragraph))
                paragraph = None
            if line:
                out.append(_sentence(text, start, end, heading=True))
            continue
        paragraph = (paragraph[0], end) if paragraph else (start, end)
    if paragraph:
        out.extend(_split_paragraph(text, *paragraph))
    return out


def split_sentences(text: str) -> list[str]:
    """The prose sentences of `text` (headings left out)."""
    return [s.text for s in sentence_spans(text) if not s.heading]


# -- summaries ----------------------------------------------------------------------

SUMMARY_MAX_CHARS = 400
SUMMARY_SENTENCE_MAX_CHARS = 600  # one sentence longer than this is cut at a word
_SUMMARY_SCAN_CHARS = 6000
# A line that labels a value ("Diarienummer: LI2025/02164", "Topics: Transport",
# "Subjects (EuroVoc): …"), a portal's type-of-act line, a list of fields run together:
# metadata, not what the document does.
_LABEL = re.compile(r"^[\w()/.-]+(?: [\w()/.-]+){0,3}: ")
_ACT_TYPE = re.compile(
    r"^(call for evidence|public consultation|draft act|inception impact assessment|"
    r"feedback from|roadmap)\b", re.IGNORECASE)
_FIELDS = re.compile(r" [·|] ")
_LETTER = re.compile(r"[^\W\d_]")


def _key(value: str) -> str:
    return re.sub(r"[\W_]+", " ", value).strip().lower()


def is_metadata(sentence: str) -> bool:
    """A labelled value, a portal's type-of-act line or fields run together."""
    return bool(_LABEL.match(sentence) or _ACT_TYPE.match(sentence) or _FIELDS.search(sentence))


def is_content_sentence(sentence: str, title: str = "") -> bool:
    """A whole sentence that says something: not metadata, not the title again, not cut
    off by the source ("…", "...") and ending as a sentence ends."""
    if len(sentence.split()) < 2 or not _ENDS_SENTENCE.search(sentence):
        return False
    if sentence.endswith(("...", "…")) or is_metadata(sentence):
        return False
    letters = len(_LETTER.findall(sentence))
    if letters < 0.6 * len(sentence.replace(" ", "")):
        return False  # mostly numbers and codes
    return not (title and _key(sentence).startswith(_key(title)))


def cap_words(text: str, limit: int) -> str:
    """Cut at a word boundary and say so with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–-") + "…"


def cap_sentences(sentences: list[str], limit: int = SUMMARY_MAX_CHARS) -> str:
    """As many whole sentences as fit in `limit` characters, at least one; only a
    first sentence longer than SUMMARY_SENTENCE_MAX_CHARS is cut (with "…")."""
    if not sentences:
        return ""
    kept = [sentences[0]]
    for sentence in sentences[1:]:
        if len(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    return cap_words(" ".join(kept), max(limit, SUMMARY_SENTENCE_MAX_CHARS))


def summarize(title: str, summary: str, text: str, *, sentences: int = 2,
              limit: int = SUMMARY_MAX_CHARS) -> str:
    """The first `sentences` content sentences of the document's own summary, then of its
    text: extractive, in the document's language, so every word is the publisher's.
    Metadata lines, headings, the title repeated and sentences the source cut off are
    skipped; "" when the document has no content sentence."""
    found: list[str] = []
    seen: set[str] = set()
    title_key = _key(title)
    for source in (summary or "", (text or "")[:_SUMMARY_SCAN_CHARS]):
        # A line that is the title (a long one is no heading) must not join the next.
        lines = [line for line in source.splitlines() if _key(line) != title_key]
        for sentence in split_sentences("\n".join(lines)):
            key = _key(sentence)
            if key in seen or not is_content_sentence(sentence, title):
                continue
            seen.add(key)
            found.append(sentence)
            if len(found) >= sentences:
                return cap_sentences(found, limit)
    return cap_sentences(found, limit)


# -- the spaCy pipeline ---------------------------------------------------------------


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


@Language.component("omvarld_sentences_v1")
def sentence_boundaries(doc: Doc) -> Doc:
    """The sentences of `sentence_spans` as the Doc's sentences: one splitter for the
    classifier's evidence, the positions' sentences and the digest's summaries."""
    if not len(doc):
        return doc
    offsets = doc.to_array(IDX)
    starts = np.fromiter((s.start for s in sentence_spans(doc.text)), dtype=offsets.dtype)
    at = np.searchsorted(offsets, starts).clip(0, len(offsets) - 1)
    # A boundary inside a token (a glued word) is left to the earlier sentence.
    for i in np.unique(at[offsets[at] == starts]):
        doc[int(i)].is_sent_start = True
    doc[0].is_sent_start = True
    if len(doc) > 1 and not doc[-1].is_sent_start:
        doc[-1].is_sent_start = False  # the boundaries are set (unset ones continue)
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
    nlp.add_pipe("omvarld_sentences_v1")
    nlp.add_pipe("omvarld_lemmatizer_v1", config={"lang": lang})
    nlp.max_length = MAX_CHARS + 1000
    return nlp


def analyse(text: str, lang: str) -> Doc:
    """Tokens, sentences and lemmas of (at most the first MAX_CHARS of) `text`."""
    return get_pipeline(lang)(text[:MAX_CHARS])
