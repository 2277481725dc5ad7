"""Search over the store: full-text (Swedish-aware), semantic and both combined, with
filters, facet counts, sorting and pagination — the one search the web app, the CLI,
the pandas API and watches all use.

Why it is built this way:

* The two index lookups that depend on the database go through two Store hooks,
  `Store.fulltext` (the same folded, stemmed search terms on both stores: FTS5 on
  SQLite, a tsvector on PostgreSQL; higher-is-better scores) and `Store.nearest` (exact
  cosine over an in-memory matrix on SQLite, pgvector on PostgreSQL). Everything else
  is portable. The query is parsed and given its cross-lingual equivalents here
  (`text_query`), so the CLI, the web app, the API and Datasette search alike.
* Filters and facets need, for every match, a handful of small columns (level, source,
  publisher, type, language, date, deadline, accepted areas, stakeholders). Counting
  eight facets over 50,000 matches with GROUP BY queries would take far longer than
  the 50 ms an analyst should wait, so those columns are read once (portable
  SQLAlchemy) into numpy arrays per store and read again only when the store changed:
  a filter is then a boolean mask and a facet a `bincount`, microseconds each.
* A query typed by a person is never an error: words are quoted before they reach
  FTS5, a query with no word gets `message`, and a failing index lookup becomes a
  message too, never an exception (a web page must never answer 500 to a query).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from omvarld.search.lexicon import default_lexicon, expand
from omvarld.store import Store
from omvarld.store.tables import DocumentRow, DocumentStakeholderRow, LabelRow
from omvarld.store.textsearch import QUERY_LANGUAGES, TextQuery, parse, stem_words

if TYPE_CHECKING:
    from omvarld.nlp.encoder import Encoder

log = logging.getLogger(__name__)

FACETS = ("area", "level", "source", "publisher", "doc_type", "language", "stakeholder",
          "open_deadline")
# At most this many documents match a semantic query: the nearest passing the filters,
# down to the query's relevance cut-off (`_cutoff`).
SEMANTIC_MATCHES = 200
# The cut-off: within this much of the best match's similarity (adjusted for language)...
SEMANTIC_MARGIN = 0.05
# ... and this many standard deviations above the mean of the documents compared.
SEMANTIC_SPREAD = 1.0
# Language centroids (`_language_offsets`): vectors sampled per language, and the fewest
# a language needs to get an offset.
CENTROID_SAMPLE = 300
CENTROID_MIN = 3
# Reciprocal-rank fusion constant for the combined (hybrid) mode.
RRF_K = 60
STAKEHOLDER_FACET_SIZE = 25
SNIPPET_CHARS = 240

NO_WORDS = "the query has no searchable words"
NO_MATCH = "no document contains all of these words"
FTS_FAILED = "the words could not be searched: try fewer or plainer words"
SEMANTIC_FAILED = "semantic search failed on the stored vectors"
# Several messages are joined with "; " (none contains one).


class SearchQuery(BaseModel):
    """What an analyst asks. Text only → full-text; semantic only → semantic; both →
    combined (hybrid); neither → every document passing the filters (newest first)."""

    model_config = ConfigDict(extra="forbid")

    text: str = ""
    semantic: str = ""
    areas: list[str] = []
    min_score: float | None = None
    levels: list[str] = []
    sources: list[str] = []
    publishers: list[str] = []
    doc_types: list[str] = []
    languages: list[str] = []
    since: date | None = None
    until: date | None = None
    stakeholders: list[str] = []
    open_deadline: bool = False
    sort: Literal["relevance", "date"] = "relevance"
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=200)

    @property
    def mode(self) -> Literal["fulltext", "semantic", "hybrid", "browse"]:
        has_text, has_semantic = bool(self.text.strip()), bool(self.semantic.strip())
        if has_text and has_semantic:
            return "hybrid"
        if has_text:
            return "fulltext"
        return "semantic" if has_semantic else "browse"


class Hit(BaseModel):
    id: int
    url: str
    title: str
    publisher: str
    source: str
    level: str
    doc_type: str
    language: str
    published: date | None
    deadline: date | None
    summary: str
    snippet: str  # plain text (never HTML); the caller escapes it
    score: float  # relevance, higher is better, for the query's mode
    areas: dict[str, float]  # accepted focus areas -> label score
    identifier: str | None = None  # the designation ("SOU 2025:112")
    responsible: str | None = None  # the ministry or committee (migration 0007)


class Searched(BaseModel):
    """What was searched, as the stores saw it: the reader's answer to "why nothing?"."""

    # each required group of words as its search terms (stemmed, folded; `*` a prefix;
    # alternatives joined by "|"), e.g. "klimat|climat|klima*"
    terms: list[str] = []
    excluded: list[str] = []
    # the words of other languages added from the search lexicon, per group
    equivalents: list[list[str]] = []
    # the filters applied, as "name: value, value"
    filters: list[str] = []
    # semantic search: the lowest adjusted similarity kept, and how many of the
    # documents allowed by the filters were compared
    semantic_cutoff: float | None = None
    semantic_compared: int | None = None

    def describe(self) -> str:
        parts = []
        if self.terms:
            parts.append("sökte " + " OCH ".join(f"({t})" for t in self.terms))
        if self.excluded:
            parts.append("utom " + ", ".join(self.excluded))
        if self.semantic_cutoff is not None:
            parts.append(f"betydelse med likhet minst {self.semantic_cutoff:.3f}")
        if self.filters:
            parts.append("filter: " + "; ".join(self.filters))
        return ", ".join(parts)


class SearchResult(BaseModel):
    query: SearchQuery
    hits: list[Hit]
    total: int
    page: int
    per_page: int
    # facet -> value -> documents, over all matches (every filter applied, no paging);
    # "open_deadline" has the values "true" and "false"; "stakeholder" the most named.
    facets: dict[str, dict[str, int]]
    message: str | None = None
    searched: Searched = Searched()


def search(store: Store, query: SearchQuery, *, encoder: Encoder | None = None
           ) -> SearchResult:
    """Run `query` over `store`: one page of hits, the total and the facets."""
    index = _index(store)
    searched = Searched(filters=_filters(query))
    positions, scores, message = _match(store, index, query, encoder, searched)
    order = _order(index, positions, scores, query)
    start = (query.page - 1) * query.per_page
    page = order[start : start + query.per_page]
    hits = _hits(store, index.ids[positions[page]], scores[page], query)
    return SearchResult(query=query, hits=hits, total=len(positions), page=query.page,
                        per_page=query.per_page, facets=_facets(index, positions),
                        message=message, searched=searched)


def search_ids(store: Store, query: SearchQuery, *, encoder: Encoder | None = None
               ) -> tuple[list[tuple[int, float]], str | None]:
    """Every match of `query` as (document id, score) in the query's order, no paging:
    what watches record and what the pandas API reads."""
    index = _index(store)
    positions, scores, message = _match(store, index, query, encoder, Searched())
    order = _order(index, positions, scores, query)
    ids = index.ids[positions[order]]
    return [(int(i), float(s)) for i, s in zip(ids, scores[order], strict=True)], message


def similar(store: Store, doc_id: int, *, k: int = 5, encoder: Encoder | None = None
            ) -> list[Hit]:
    """The `k` documents nearest to document `doc_id` by their stored vectors (cosine as
    score), itself left out. A document without a stored vector is embedded with
    `encoder` when one is given; otherwise it has no similar documents yet."""
    row = store.document(doc_id)
    if row is None:
        return []
    model_id = encoder.model_id if encoder is not None else _default_model_id()
    vector = store.embeddings([row.content_hash], model_id).get(row.content_hash)
    if vector is None and encoder is not None:
        from omvarld.nlp.classifier import ClassifierInput

        text = ClassifierInput(key=row.content_hash, title=row.title, summary=row.summary,
                               text=row.text).embed_text(4000)
        vector = encoder.encode_passages([text])[0]
    if vector is None:
        return []
    try:
        nearest = store.nearest(vector, model_id, k + 1)
    except (SQLAlchemyError, ValueError) as exc:
        log.warning("similar documents of %s: %s", doc_id, exc)
        return []
    pairs = [(i, s) for i, s in nearest if i != doc_id][:k]
    return _hits(store, np.array([i for i, _ in pairs], dtype=np.int64),
                 np.array([s for _, s in pairs], dtype=np.float64), SearchQuery())


def hits(store: Store, ids: Sequence[int], scores: Sequence[float] | None = None,
         text: str = "") -> list[Hit]:
    """Documents `ids` as hits, in that order (a missing id is left out); the snippet
    around the first of the words of `text`, else the beginning of the text."""
    values = np.zeros(len(ids)) if scores is None else np.asarray(scores, dtype=np.float64)
    return _hits(store, np.asarray(list(ids), dtype=np.int64), values, SearchQuery(text=text))


# -- matching -----------------------------------------------------------------------------


def _match(store: Store, index: _Index, query: SearchQuery, encoder: Encoder | None,
           searched: Searched) -> tuple[np.ndarray, np.ndarray, str | None]:
    """(positions in the store's index, scores, message) of every match, unordered.
    Words and meaning together: the documents matching both, ranked by both."""
    mask = _filter_mask(index, query)
    mode = query.mode
    empty = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64))
    if mode == "browse":
        if query.text or query.semantic:  # only spaces typed
            return *empty, NO_WORDS
        positions = np.flatnonzero(mask)
        return positions, np.zeros(len(positions)), None
    messages: list[str] = []
    ranked: list[tuple[np.ndarray, np.ndarray]] = []
    if mode in ("fulltext", "hybrid"):
        found = _fulltext(store, index, mask, query.text, messages, searched)
        if found is None:
            return *empty, "; ".join(messages) or None
        ranked.append(found)
        if mode == "hybrid":  # meaning ranks (and cuts) among the documents with the words
            mask = np.zeros_like(mask)
            mask[found[0]] = True
    if mode in ("semantic", "hybrid"):
        found = _semantic(store, index, mask, query.semantic, encoder, messages, searched)
        if found is None:  # no model, say: the words' matches, with the reason
            return *(ranked[0] if ranked else empty), "; ".join(messages) or None
        ranked.append(found)
    if len(ranked) == 2:
        positions, scores = _fuse(ranked)
    else:
        positions, scores = ranked[0]
    if not len(positions) and not messages:
        messages.append(_nothing_found(searched))
    return positions, scores, "; ".join(messages) or None


def _nothing_found(searched: Searched) -> str:
    return f"Inga dokument matchar ({searched.describe()})."


def _filters(query: SearchQuery) -> list[str]:
    out = []
    for name, values in (("område", query.areas), ("nivå", query.levels),
                         ("källa", query.sources), ("utgivare", query.publishers),
                         ("dokumenttyp", query.doc_types), ("språk", query.languages),
                         ("aktör", query.stakeholders)):
        if values:
            out.append(f"{name}: {', '.join(values)}")
    if query.min_score is not None:
        out.append(f"lägsta poäng: {query.min_score:g}")
    if query.since:
        out.append(f"från: {query.since.isoformat()}")
    if query.until:
        out.append(f"till: {query.until.isoformat()}")
    if query.open_deadline:
        out.append("öppen svarstid")
    return out


def text_query(text: str) -> TextQuery:
    """`text` parsed for the stores, with the search lexicon's equivalents added."""
    return expand(parse(text), default_lexicon())


def _fulltext(store: Store, index: _Index, mask: np.ndarray, text: str,
              messages: list[str], searched: Searched
              ) -> tuple[np.ndarray, np.ndarray] | None:
    parsed = text_query(text)
    searched.terms = parsed.describe()
    searched.excluded = [str(t) for t in parsed.excluded]
    searched.equivalents = [parsed.equivalents.get(n, []) for n in range(len(parsed.groups))]
    if parsed.empty:
        messages.append(NO_WORDS)
        return None
    allowed = int(mask.sum())
    if allowed == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    try:  # every match; the filters are applied here, on the mask
        pairs = store.fulltext(parsed, max(len(index.ids), 1))
    except (SQLAlchemyError, ValueError) as exc:
        log.warning("full-text query %r failed: %s", text, exc)
        messages.append(FTS_FAILED)
        return None
    return _to_positions(index, mask, pairs)


def _semantic(store: Store, index: _Index, mask: np.ndarray, text: str,
              encoder: Encoder | None, messages: list[str], searched: Searched
              ) -> tuple[np.ndarray, np.ndarray] | None:
    """The documents close enough in meaning, by the similarity adjusted for the
    documents' language (`_language_offsets`), down to the relevance cut-off."""
    if not _WORD.search(text):
        messages.append(NO_WORDS)
        return None
    try:
        encoder = encoder or _default_encoder()
        vector = encoder.encode_queries([text[:2000]])[0]
    except Exception as exc:  # a missing model must read as a message, not a 500
        log.warning("could not embed the query: %s", exc)
        messages.append("semantic search is unavailable: the model could not be loaded "
                        f"({type(exc).__name__})")
        return None
    allowed = int(mask.sum())
    if allowed == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    want = min(SEMANTIC_MATCHES, allowed)
    k = want * 4
    try:
        while True:
            pairs = store.nearest(vector, encoder.model_id, k)
            positions, scores = _to_positions(index, mask, pairs)
            if len(positions) >= want or len(pairs) < k or k >= len(index.ids):
                break
            k *= 8
        offsets = _language_offsets(store, index, vector, encoder.model_id)
    except (SQLAlchemyError, ValueError) as exc:
        log.warning("semantic query failed: %s", exc)
        messages.append(SEMANTIC_FAILED)
        return None
    if not pairs:  # nothing to compare with: not a search by meaning at all
        messages.append(f"no document has been embedded with {encoder.model_id} yet: "
                        "run `omvarld classify`")
        return None
    if offsets is not None:
        scores = scores - offsets[index.columns["language"].values[positions]]
    cutoff = _cutoff(scores)
    searched.semantic_cutoff = round(cutoff, 4)
    searched.semantic_compared = len(scores)
    keep = np.flatnonzero(scores >= cutoff)
    order = keep[np.argsort(-scores[keep], kind="stable")][:want]
    return positions[order], scores[order]


def _cutoff(scores: np.ndarray) -> float:
    """The relevance cut-off of one semantic query: within `SEMANTIC_MARGIN` of the best
    match, and at least `SEMANTIC_SPREAD` standard deviations above the mean of the
    documents compared (E5's cosines bunch together: only the distance from the best and
    from the crowd tells a relevant document)."""
    if not len(scores):
        return 0.0
    best = float(scores.max())
    crowd = float(scores.mean() + SEMANTIC_SPREAD * scores.std()) if len(scores) > 5 else -1.0
    return min(best, max(best - SEMANTIC_MARGIN, crowd))


_offsets_cache: weakref.WeakKeyDictionary[Store, tuple[tuple, str, dict]] = (
    weakref.WeakKeyDictionary())


def _language_offsets(store: Store, index: _Index, vector: np.ndarray, model_id: str
                      ) -> np.ndarray | None:
    """Per language code of `index`: how much closer the query is to that language's
    average document than to the average document of every language. The E5 model puts
    a query nearer to texts in its own language; subtracting this offset from each
    document's cosine ranks a Danish bill on the matter beside the Swedish ones. The
    averages come from up to `CENTROID_SAMPLE` stored vectors per language, read once
    per version of the store."""
    cached = _offsets_cache.get(store)
    if cached is not None and cached[0] == index.version and cached[1] == model_id:
        centroids = cached[2]
    else:
        centroids = _centroids(store, index, model_id)
        _offsets_cache[store] = (index.version, model_id, centroids)
    if len(centroids) < 2:
        return None
    query = np.asarray(vector, dtype=np.float32).ravel()
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    closeness = {code: float(c @ query) for code, c in centroids.items()}
    overall = float(np.mean(list(closeness.values())))
    offsets = np.zeros(len(index.columns["language"].labels))
    for code, value in closeness.items():
        offsets[code] = value - overall
    return offsets


def _centroids(store: Store, index: _Index, model_id: str) -> dict[int, np.ndarray]:
    column = index.columns["language"]
    rng = np.random.default_rng(0)
    wanted: dict[int, list[int]] = {}
    for code in range(len(column.labels)):
        members = np.flatnonzero(column.values == code)
        if len(members) >= CENTROID_MIN:
            chosen = rng.choice(members, min(CENTROID_SAMPLE, len(members)), replace=False)
            wanted[code] = [int(i) for i in index.ids[chosen]]
    if len(wanted) < 2:
        return {}
    every = [i for ids in wanted.values() for i in ids]
    hashes: dict[int, str] = {}
    with store.session() as s:
        for start in range(0, len(every), 500):
            hashes.update(s.execute(select(DocumentRow.id, DocumentRow.content_hash).where(
                DocumentRow.id.in_(every[start : start + 500]))).tuples().all())
    vectors = store.embeddings(hashes.values(), model_id)
    out = {}
    for code, ids in wanted.items():
        found = [vectors[hashes[i]] for i in ids if hashes.get(i) in vectors]
        if len(found) >= CENTROID_MIN:
            matrix = np.stack(found).astype(np.float32)
            matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
            out[code] = matrix.mean(axis=0)
    return out


def _to_positions(index: _Index, mask: np.ndarray, pairs: Sequence[tuple[int, float]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Document ids → positions in the index, keeping those the filters allow."""
    if not pairs:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ids = np.fromiter((p[0] for p in pairs), dtype=np.int64, count=len(pairs))
    scores = np.fromiter((p[1] for p in pairs), dtype=np.float64, count=len(pairs))
    positions = np.searchsorted(index.ids, ids)
    positions = np.minimum(positions, len(index.ids) - 1)
    known = index.ids[positions] == ids  # a document saved after the index was read
    positions, scores = positions[known], scores[known]
    keep = mask[positions]
    return positions[keep], scores[keep]


def _fuse(ranked: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Reciprocal-rank fusion over the documents in every list (words and meaning
    narrow each other): each list adds 1/(RRF_K + rank) to a document's score."""
    common = ranked[0][0]
    for positions, _ in ranked[1:]:
        common = np.intersect1d(common, positions)
    fused = np.zeros(len(common))
    for positions, scores in ranked:
        rank = np.empty(len(positions), dtype=np.int64)
        rank[np.argsort(-scores, kind="stable")] = np.arange(len(positions))
        at = dict(zip(positions.tolist(), rank.tolist(), strict=True))
        fused += 1.0 / (RRF_K + 1 + np.array([at[p] for p in common.tolist()], dtype=np.float64))
    return common, fused


def _filter_mask(index: _Index, query: SearchQuery) -> np.ndarray:
    mask = np.ones(len(index.ids), dtype=bool)
    for name, wanted in (("level", query.levels), ("source", query.sources),
                         ("publisher", query.publishers), ("doc_type", query.doc_types),
                         ("language", query.languages)):
        if wanted:
            column = index.columns[name]
            codes = [column.codes[v] for v in wanted if v in column.codes]
            mask &= np.isin(column.values, codes)
    if query.since:
        mask &= index.date >= query.since.toordinal()
    if query.until:
        mask &= index.date <= query.until.toordinal()
    if query.open_deadline:
        mask &= index.deadline >= date.today().toordinal()
    if query.areas or query.min_score is not None:
        columns = ([index.area_codes[a] for a in query.areas if a in index.area_codes]
                   if query.areas else list(range(len(index.areas))))
        scores = index.area_scores[:, columns]
        ok = ~np.isnan(scores)
        if query.min_score is not None:
            ok &= np.nan_to_num(scores, nan=-np.inf) >= query.min_score
        mask &= ok.any(axis=1)
    if query.stakeholders:
        codes = [index.stakeholder_codes[n] for n in query.stakeholders
                 if n in index.stakeholder_codes]
        named = np.zeros(len(index.ids), dtype=bool)
        named[index.stakeholder_doc[np.isin(index.stakeholder_name, codes)]] = True
        mask &= named
    return mask


def _order(index: _Index, positions: np.ndarray, scores: np.ndarray,
           query: SearchQuery) -> np.ndarray:
    """Indices into `positions`: best first (relevance; ties newest first), or newest
    first (date, and whenever there is nothing to rank by); ties by id, newest first."""
    dates, ids = index.date[positions], index.ids[positions]
    if query.mode == "browse":  # the start page: what is still open before what has passed
        deadlines = index.deadline[positions]
        passed = (deadlines >= 0) & (deadlines < date.today().toordinal())
        return np.lexsort((-ids, -dates, passed))
    if query.sort == "date":
        return np.lexsort((-ids, -dates))
    return np.lexsort((-ids, -dates, -scores))


def _facets(index: _Index, positions: np.ndarray) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    accepted = ~np.isnan(index.area_scores[positions])
    out["area"] = {a: int(n) for a, n in zip(index.areas, accepted.sum(axis=0), strict=True)
                   if n}
    for name in ("level", "source", "publisher", "doc_type", "language"):
        column = index.columns[name]
        counts = np.bincount(column.values[positions], minlength=len(column.labels))
        out[name] = _counted(column.labels, counts)
    matched = np.zeros(len(index.ids), dtype=bool)
    matched[positions] = True
    named = index.stakeholder_name[matched[index.stakeholder_doc]]
    counts = np.bincount(named, minlength=len(index.stakeholders))
    top = np.argsort(-counts, kind="stable")[:STAKEHOLDER_FACET_SIZE]
    out["stakeholder"] = {index.stakeholders[i]: int(counts[i]) for i in top if counts[i]}
    open_now = int((index.deadline[positions] >= date.today().toordinal()).sum())
    out["open_deadline"] = {"true": open_now, "false": len(positions) - open_now}
    return out


def _counted(labels: list[str], counts: np.ndarray) -> dict[str, int]:
    order = np.argsort(-counts, kind="stable")
    return {labels[i]: int(counts[i]) for i in order if counts[i]}


# -- hits ---------------------------------------------------------------------------------


def _hits(store: Store, ids: np.ndarray, scores: np.ndarray, query: SearchQuery
          ) -> list[Hit]:
    if not len(ids):
        return []
    wanted = [int(i) for i in ids]
    with store.session() as s:
        d = DocumentRow
        rows = {r.id: r for r in s.execute(
            select(d.id, d.url, d.title, d.publisher, d.source, d.level, d.doc_type,
                   d.language, d.published, d.deadline, d.summary, d.text, d.identifier,
                   d.responsible)
            .where(d.id.in_(wanted)))}
        areas: dict[int, dict[str, float]] = {}
        for doc_id, area, score in s.execute(
            select(LabelRow.document_id, LabelRow.area, LabelRow.score).where(
                LabelRow.document_id.in_(wanted), LabelRow.accepted.is_(True))
            .order_by(LabelRow.score.desc())
        ):
            areas.setdefault(doc_id, {})[area] = round(float(score), 4)
    pattern = _snippet_pattern(query.text)
    hits = []
    for doc_id, score in zip(wanted, scores, strict=True):
        row = rows.get(doc_id)
        if row is None:
            continue
        hits.append(Hit(
            id=row.id, url=row.url, title=row.title, publisher=row.publisher,
            source=row.source, level=row.level, doc_type=row.doc_type, language=row.language,
            published=row.published, deadline=row.deadline, summary=row.summary or "",
            snippet=snippet(row.text or row.summary or "", pattern), score=float(score),
            areas=areas.get(doc_id, {}), identifier=row.identifier,
            responsible=row.responsible,
        ))
    return hits


_WORD = re.compile(r"\w", re.UNICODE)
_TOKEN = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def _snippet_pattern(text: str) -> re.Pattern[str] | None:
    """A case-blind pattern for the query's words: each word, or a stem of it followed
    by any ending (so "bostäder" is marked in "bostäderna")."""
    forms: set[str] = set()
    for word in _TOKEN.findall(text)[:32]:
        forms.add(word.lower())
        for language in QUERY_LANGUAGES:
            forms.update(s for s in stem_words([word], language) if len(s) >= 3)
    if not forms:
        return None
    alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})\w*", re.IGNORECASE)


def snippet(text: str, pattern: re.Pattern[str] | None, size: int = SNIPPET_CHARS) -> str:
    """Plain text around the first match of `pattern` (the beginning when none), cut at
    word boundaries, "…" where text was left out. Only a window of the text is
    normalised: a 50-page text costs no more than a short one."""
    found = pattern.search(text) if pattern else None
    low = max(0, found.start() - size) if found else 0
    high = min(len(text), low + 3 * size)
    cut_before, cut_after = low > 0, high < len(text)
    piece = _SPACE.sub(" ", text[low:high]).strip()
    if len(piece) <= size and not cut_before and not cut_after:
        return piece
    found = pattern.search(piece) if pattern else None
    start = max(0, found.start() - size // 3) if found else 0
    end = min(len(piece), start + size)
    start = max(0, end - size)
    if start > 0 or cut_before:
        space = piece.find(" ", start)
        start = space + 1 if 0 <= space < start + 30 else start
    if end < len(piece) or cut_after:
        space = piece.rfind(" ", start, end)
        end = space if space > end - 30 else end
    before = "…" if start > 0 or cut_before else ""
    after = "…" if end < len(piece) or cut_after else ""
    return before + piece[start:end].strip() + after


# -- the in-memory index of filter columns ------------------------------------------------


@dataclass
class _Column:
    """A categorical column as small integer codes."""

    values: np.ndarray
    labels: list[str]
    codes: dict[str, int]


@dataclass
class _Index:
    version: tuple
    ids: np.ndarray  # document ids, ascending
    date: np.ndarray  # ordinal of the published date, else the first-seen date
    deadline: np.ndarray  # ordinal of the deadline, -1 when none
    columns: dict[str, _Column]
    areas: list[str]
    area_codes: dict[str, int]
    area_scores: np.ndarray  # (documents, areas): score of accepted labels, NaN otherwise
    stakeholders: list[str]
    stakeholder_codes: dict[str, int]
    stakeholder_doc: np.ndarray  # per (document, stakeholder) pair: the document position
    stakeholder_name: np.ndarray  # ... and the stakeholder code
    lock: threading.Lock = field(default_factory=threading.Lock)


_indexes: weakref.WeakKeyDictionary[Store, _Index] = weakref.WeakKeyDictionary()
_indexes_lock = threading.Lock()


def _version(store: Store) -> tuple:
    """Changes whenever a document is added or changed (its id or `updated` is the
    newest) or a document's labels or stakeholders are replaced (they are deleted and
    inserted again, so the newest id grows). Maxima of indexed columns only: a COUNT
    would read a whole index (~10-20 ms at 100,000 documents) on every search."""
    with store.session() as s:
        return tuple(s.execute(select(
            select(func.max(DocumentRow.id)).scalar_subquery(),
            select(func.max(DocumentRow.updated)).scalar_subquery(),
            select(func.max(LabelRow.id)).scalar_subquery(),
            select(func.max(DocumentStakeholderRow.id)).scalar_subquery(),
        )).one())


def _index(store: Store) -> _Index:
    version = _version(store)
    with _indexes_lock:
        index = _indexes.get(store)
    if index is not None and index.version == version:
        return index
    index = _read_cache(store, version)
    if index is None:
        index = _load_index(store, version)
        _write_cache(store, index)
    with _indexes_lock:
        _indexes[store] = index
    return index


# A SQLite store keeps its filter columns in a file beside it, so that a new process
# (each `omvarld search`, a restarted web app) reads ~10 MB of arrays in milliseconds
# instead of rebuilding them from every row (seconds at 100,000 documents).
CACHE_SUFFIX = ".search-cache.npz"


def _cache_path(store: Store) -> Path | None:
    if not store.is_sqlite:
        return None
    database = store.engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database + CACHE_SUFFIX)


def _version_key(version: tuple) -> str:
    return json.dumps([str(v) if v is not None else None for v in version])


def _read_cache(store: Store, version: tuple) -> _Index | None:
    path = _cache_path(store)
    if path is None or not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["version"]) != _version_key(version):
                return None
            columns = {}
            for name in ("level", "source", "publisher", "doc_type", "language"):
                labels = [str(v) for v in data[f"{name}_labels"]]
                columns[name] = _Column(values=data[f"{name}_values"], labels=labels,
                                        codes={v: i for i, v in enumerate(labels)})
            areas = [str(a) for a in data["areas"]]
            stakeholders = [str(n) for n in data["stakeholders"]]
            return _Index(
                version=version, ids=data["ids"], date=data["date"],
                deadline=data["deadline"], columns=columns, areas=areas,
                area_codes={a: i for i, a in enumerate(areas)},
                area_scores=data["area_scores"], stakeholders=stakeholders,
                stakeholder_codes={n: i for i, n in enumerate(stakeholders)},
                stakeholder_doc=data["stakeholder_doc"],
                stakeholder_name=data["stakeholder_name"])
    except (OSError, KeyError, ValueError) as exc:  # unreadable: rebuild it
        log.info("search cache %s not used: %s", path, exc)
        return None


def _write_cache(store: Store, index: _Index) -> None:
    path = _cache_path(store)
    if path is None:
        return
    arrays: dict[str, np.ndarray] = {
        "version": np.array(_version_key(index.version)), "ids": index.ids,
        "date": index.date, "deadline": index.deadline,
        "areas": np.array(index.areas, dtype=str), "area_scores": index.area_scores,
        "stakeholders": np.array(index.stakeholders, dtype=str),
        "stakeholder_doc": index.stakeholder_doc, "stakeholder_name": index.stakeholder_name,
    }
    for name, column in index.columns.items():
        arrays[f"{name}_values"] = column.values
        arrays[f"{name}_labels"] = np.array(column.labels, dtype=str)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with temporary.open("wb") as out:
            np.savez(out, **arrays)
        os.replace(temporary, path)  # readers see the old file or the new one, whole
    except OSError as exc:  # a read-only folder: search works, only slower to start
        log.info("could not write the search cache %s: %s", path, exc)
        temporary.unlink(missing_ok=True)


def warm_up(store: Store, model_id: str | None = None) -> None:
    """Read the filter columns and the vector matrix now rather than on the first query
    (seconds at 100,000 documents): for a web app's start-up."""
    _index(store)
    with contextlib.suppress(NotImplementedError, ValueError, SQLAlchemyError):
        store.nearest(np.zeros(1, dtype=np.float32), model_id or _default_model_id(), 0)


def invalidate(store: Store) -> None:
    """Forget the cached filter columns of `store` (they are re-read on the next search)."""
    with _indexes_lock:
        _indexes.pop(store, None)


def _load_index(store: Store, version: tuple) -> _Index:
    with store.session() as s:
        rows = s.execute(
            select(DocumentRow.id, DocumentRow.level, DocumentRow.source,
                   DocumentRow.publisher, DocumentRow.doc_type, DocumentRow.language,
                   DocumentRow.published, DocumentRow.first_seen, DocumentRow.deadline)
            .order_by(DocumentRow.id)
        ).all()
        labels = s.execute(
            select(LabelRow.document_id, LabelRow.area, LabelRow.score)
            .where(LabelRow.accepted.is_(True))
        ).all()
        named = s.execute(
            select(DocumentStakeholderRow.document_id, DocumentStakeholderRow.name)
        ).all()
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=n)
    dates = np.fromiter(((r.published or _as_date(r.first_seen)).toordinal() for r in rows),
                        dtype=np.int64, count=n)
    deadlines = np.fromiter((r.deadline.toordinal() if r.deadline else -1 for r in rows),
                            dtype=np.int64, count=n)
    columns = {name: _categorical([r[k] for r in rows])
               for k, name in enumerate(("level", "source", "publisher", "doc_type",
                                         "language"), start=1)}
    areas = sorted({a for _, a, _ in labels})
    area_codes = {a: i for i, a in enumerate(areas)}
    area_scores = np.full((n, len(areas)), np.nan, dtype=np.float32)
    if labels and n:
        doc_ids = np.array([d for d, _, _ in labels], dtype=np.int64)
        positions = np.searchsorted(ids, doc_ids).clip(0, n - 1)
        known = ids[positions] == doc_ids
        cols = np.array([area_codes[a] for _, a, _ in labels], dtype=np.int64)
        values = np.array([v for _, _, v in labels], dtype=np.float32)
        area_scores[positions[known], cols[known]] = values[known]
    stakeholders = sorted({name for _, name in named})
    stakeholder_codes = {name: i for i, name in enumerate(stakeholders)}
    s_doc = np.array([d for d, _ in named], dtype=np.int64)
    s_name = np.array([stakeholder_codes[name] for _, name in named], dtype=np.int64)
    if len(s_doc) and n:
        positions = np.searchsorted(ids, s_doc).clip(0, n - 1)
        known = ids[positions] == s_doc
        s_doc, s_name = positions[known], s_name[known]
    else:
        s_doc, s_name = np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    return _Index(version=version, ids=ids, date=dates, deadline=deadlines, columns=columns,
                  areas=areas, area_codes=area_codes, area_scores=area_scores,
                  stakeholders=stakeholders, stakeholder_codes=stakeholder_codes,
                  stakeholder_doc=s_doc, stakeholder_name=s_name)


def _categorical(values: list[str]) -> _Column:
    labels = sorted(set(values))
    codes = {v: i for i, v in enumerate(labels)}
    return _Column(values=np.fromiter((codes[v] for v in values), dtype=np.int64,
                                      count=len(values)), labels=labels, codes=codes)


def _as_date(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


# -- the encoder --------------------------------------------------------------------------


def _default_encoder() -> Encoder:
    from omvarld.core.settings import get_settings
    from omvarld.nlp.encoder import load_encoder

    s = get_settings()
    return load_encoder(s.model_backend, s.model_dir, batch_size=s.batch_size)


def _default_model_id() -> str:
    from omvarld.nlp.models import MODEL_ID

    return MODEL_ID
