"""Links between documents: who they name, what they cite, and which are the same news.

What is read for stakeholders and references (`annotation_window`), and when two
documents are one story (`pair_evidence`, `is_same_story`): pure functions of the
documents; `omvarld.pipeline.stories` runs them over the store. A story puts
near-duplicates — the same news from the Commission, the Council and a Swedish ministry,
or the Swedish and English version of one press release — together, so a digest shows it
once.

Two documents are the same news when their embeddings are very close *and* their words
agree. mE5 cosines bunch high (0.75-0.9 for any two texts of one field), so the cosine
alone cannot tell a re-publication from another press release on the same topic; the
lexical check can. Within one language: the word 3-shingles of title + opening overlap.
Across languages, where few words are shared: the anchors that survive translation —
numbers, names of people and places, stakeholders by canonical name. Either way a
specific designation both cite (not a law: laws are cited by unrelated documents alike)
also counts. The thresholds and the measurements behind them are in `StorySettings`.

Stories are transitive and stable: a document joins the story of its duplicates, the
story's id is its oldest document's, and linking again finds the same pairs and changes
nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from omvarld.nlp.entities import extract_stakeholders

log = logging.getLogger(__name__)


class Readable(Protocol):
    """What the lexical evidence reads of a stored document."""

    id: int
    title: str
    text: str | None
    summary: str | None
    language: str | None
    identifier: str | None


ANNOTATE_TEXT_CHARS = 20_000  # of the text, after title and summary

_WORD = re.compile(r"\w+")
_DIGITS = re.compile(r"\d+")
_NAME_TOKEN = re.compile(r"\w[\w'’-]*|[.!?:;\n–—•·\"“”]")


@dataclass(frozen=True)
class StorySettings:
    """When two documents are one story.

    Measured with multilingual-e5-small (the classifier's cached vectors: title + summary +
    text, first 2,500 characters) on real text, 2026-11-23:

    * different documents, one language — 4,286 pairs of regeringen.se documents of 2025
      (shared/data/weak) published within 10 days of each other: cosine median 0.846,
      99th percentile 0.906, maximum 0.964 (a law and the article explaining it); the 72
      dev documents, same language and focus area: maximum 0.957 (the EUR-Lex summaries
      of the AMIF fund's two regulations). Shingle Jaccard among the 3,000 closest pairs:
      99.9th percentile 0.19, maximum 0.44 (two templated decisions on two AP funds).
    * duplicates, one language, built from 85 real Swedish documents — re-published under
      another title with a dateline and a contact footer: cosine >= 0.956, Jaccard >=
      0.60; lightly edited (every fourth sentence dropped, words changed): cosine >= 0.977,
      Jaccard >= 0.41; cut to its first three paragraphs: cosine >= 0.925 (10th percentile
      0.957), Jaccard >= 0.25.
    * across languages — six translations of real press releases (3 sv→en, 3 en→sv):
      cosine 0.861-0.924, anchor overlap 0.50-1.0 with 3-12 anchors shared. 182 pairs of
      different documents (dev en/da against dev and regeringen sv) with cosine >= 0.84:
      cosine up to 0.888, anchor overlap at most 0.38.

    * across languages, one topic, two countries — Arbetsförmedlingen's October figures
      and the Danish employment minister's comment on the Danish ones (recorded week
      2026-W49): cosine 0.87, anchors shared only "2026", "2" and "8" (from "2,8 procent"
      and "8,2 procent"). Years and single digits are shared by any two texts of one
      month: they no longer count, and at least one shared anchor must be a name.

    Hence: in one language cosine >= 0.95 and Jaccard >= 0.5, or cosine >= 0.975 (above
    every different pair seen) and Jaccard >= 0.25; across languages cosine >= 0.86 and
    at least 3 shared specific anchors (no years, no single digits), one of them a name,
    covering half of the smaller set. A specific designation
    both cite stands in for the word overlap. Over the pairs above this links 85/85
    re-published, 85/85 edited, 79/85 cut copies and 6/6 translations, and merges 1 of
    the 33,113 pairs of different documents: a national strategy (Skr. 2024/25:121) and
    the brochure presenting it, which cites it. Precision first: a wrong merge hides a
    document from the digest, a missed one only shows it twice.
    """

    window_days: int = 10
    same_language_cosine: float = 0.95
    shingle_jaccard: float = 0.5
    close_cosine: float = 0.975
    close_shingle_jaccard: float = 0.25
    cross_language_cosine: float = 0.86
    anchor_overlap: float = 0.5
    shared_anchors: int = 3
    shared_names: int = 1
    lexical_chars: int = 500
    anchor_chars: int = 1500


DEFAULT_SETTINGS = StorySettings()


# -- annotations ----------------------------------------------------------------------


def annotation_window(row: Readable) -> str:
    """What is read for stakeholders and references: title, summary and the opening of
    the text — where a document says who acts and what it builds on."""
    text = (row.text or "")[:ANNOTATE_TEXT_CHARS]
    return "\n\n".join(part for part in (row.title, row.summary, text) if part)


# -- lexical evidence -------------------------------------------------------------------


def opening(row: Readable, chars: int) -> str:
    return f"{row.title}\n{(row.text or '')[:chars]}"


def shingles(text: str, size: int = 3) -> set[tuple[str, ...]]:
    """Word `size`-grams of lower-cased text; a text shorter than `size` words is one."""
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {tuple(words)} if words else set()
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def numbers(text: str) -> set[str]:
    """The digit runs of a text: "1 500", "1,500" and "1.500" all give {"1", "500"}, so
    Swedish, English and Danish number formats agree."""
    return {d.lstrip("0") or "0" for d in _DIGITS.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words not opening a sentence: in Swedish and Danish, which capitalise
    no common nouns, these are names of people, places and programmes, written alike in
    every language ("Ursula von der Leyen", "Fit for 55")."""
    found: set[str] = set()
    opens_sentence = True
    for token in _NAME_TOKEN.findall(text):
        if not token[0].isalnum():
            opens_sentence = True
            continue
        if token[0].isupper() and not opens_sentence and len(token) > 1:
            found.add(token.strip("'’-"))
        opens_sentence = False
    return found


def anchors(row: Readable, chars: int, config_dir: Path | None = None) -> set[str]:
    """What survives translation: numbers, names, and the stakeholders named (by
    canonical name: "Swedish Public Employment Service" is Arbetsförmedlingen)."""
    window = opening(row, chars)
    named = extract_stakeholders(window, row.language or "sv", config_dir)
    return numbers(window) | names(window) | {f"@{m.name}" for m in named}


_YEAR = re.compile(r"^(19|20)\d\d$")


def generic_anchor(anchor: str) -> bool:
    """A number any two texts of one month share: a year ("2026") or a single digit
    (what is left of "2,8 procent" or "8.2%" once digit runs are split)."""
    return anchor.isdigit() and (len(anchor) == 1 or bool(_YEAR.match(anchor)))


def specific_anchors(found: set[str]) -> set[str]:
    return {a for a in found if not generic_anchor(a)}


def jaccard(a: set, b: set) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def overlap(a: set, b: set) -> float:
    """Share of the smaller set found in the other: an English text capitalises words a
    Swedish one does not, so the union is the wrong denominator across languages."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def specific_keys(keys: set[str]) -> set[str]:
    """Reference keys that single out one matter: every key but a law's (SFS), which
    unrelated documents cite alike."""
    return {key for key in keys if not key.startswith("SFS ")}


@dataclass(frozen=True)
class PairEvidence:
    """Why two documents are (or are not) one story: for logs and tests."""

    cosine: float
    same_language: bool
    shingle_jaccard: float
    shared_anchors: int
    anchor_overlap: float
    shared_keys: frozenset[str]
    shared_names: int = 0


def pair_evidence(a: Readable, b: Readable, cosine: float, keys_a: set[str],
                  keys_b: set[str], settings: StorySettings = DEFAULT_SETTINGS,
                  config_dir: Path | None = None) -> PairEvidence:
    same_language = (a.language or "und") == (b.language or "und")
    jac = 0.0
    shared = named = 0
    anchor_share = 0.0
    if same_language:
        jac = jaccard(shingles(opening(a, settings.lexical_chars)),
                      shingles(opening(b, settings.lexical_chars)))
    else:
        found_a = specific_anchors(anchors(a, settings.anchor_chars, config_dir))
        found_b = specific_anchors(anchors(b, settings.anchor_chars, config_dir))
        common = found_a & found_b
        shared, anchor_share = len(common), overlap(found_a, found_b)
        named = sum(1 for anchor in common if not anchor.isdigit())
    return PairEvidence(
        cosine=cosine, same_language=same_language, shingle_jaccard=jac,
        shared_anchors=shared, anchor_overlap=anchor_share, shared_names=named,
        shared_keys=frozenset(specific_keys(keys_a) & specific_keys(keys_b)),
    )


def is_same_story(evidence: PairEvidence, settings: StorySettings = DEFAULT_SETTINGS) -> bool:
    """Close vectors and agreeing words (see StorySettings for the measurements)."""
    e, s = evidence, settings
    if e.same_language:
        return (e.cosine >= s.close_cosine and e.shingle_jaccard >= s.close_shingle_jaccard) or (
            e.cosine >= s.same_language_cosine
            and (e.shingle_jaccard >= s.shingle_jaccard or bool(e.shared_keys))
        )
    return e.cosine >= s.cross_language_cosine and (
        (e.shared_anchors >= s.shared_anchors and e.anchor_overlap >= s.anchor_overlap
         and e.shared_names >= s.shared_names)
        or bool(e.shared_keys)
    )


# -- stories ----------------------------------------------------------------------------


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector
