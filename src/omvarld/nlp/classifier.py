"""Focus-area classification with evidence.

Two kinds of evidence are combined per area: how much closer a document's embedding is to
the area's descriptions than to the other areas' (a margin: centred, never an absolute
cosine), and which of the area's terms occur in the text and in the title. Every label
carries its evidence — matched terms, the sentence nearest the area among those with
matches, the score and the threshold — so a strategist can see why. Page furniture and the
names of publishers, ministries and agencies are never counted as terms (see `vocab`)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import Field

from omvarld.core.areas import FocusAreas
from omvarld.core.model import Evidence, Label
from omvarld.core.schema import Strict, load_yaml_model
from omvarld.nlp.encoder import Encoder
from omvarld.nlp.language import SUPPORTED, detect_language
from omvarld.nlp.text import analyse
from omvarld.nlp.vocab import AreaMatches, VocabularyMatcher

log = logging.getLogger(__name__)

DESCRIPTION_LANGS = ("sv", "en")  # max over these: measured better than averaging them
EVIDENCE_CANDIDATES = 3  # sentences with most hits, embedded to find the one nearest the area


class ClassifierConfig(Strict):
    version: str
    embed_chars: int = Field(default=2500, ge=100)
    vocab_chars: int = Field(default=6000, ge=100)
    margin_scale: float = Field(default=0.01, gt=0)
    margin_weight: float = Field(default=0.5, ge=0)
    vocab_weight: float = Field(default=1.5, ge=0)
    title_weight: float = Field(default=1.0, ge=0)
    threshold: float = 2.5
    thresholds: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def load(cls, config_dir: Path) -> ClassifierConfig:
        return load_yaml_model(Path(config_dir) / "classifier.yaml", cls)

    def threshold_for(self, area: str) -> float:
        return self.thresholds.get(area, self.threshold)


@dataclass(frozen=True)
class ClassifierInput:
    """What the classifier reads of a document."""

    key: str  # content hash: embeddings are cached under it
    title: str
    summary: str
    text: str
    language: str | None = None

    def embed_text(self, limit: int) -> str:
        parts = [p for p in (self.title, self.summary, self.text) if p]
        return "\n\n".join(parts)[:limit]


@dataclass
class DocFeatures:
    """What the classifier reads of one document, before any scoring."""

    language: str
    vector: np.ndarray  # the document's embedding
    sims: np.ndarray  # cosine to each area (max over its descriptions)
    margins: np.ndarray  # sims centred: each area against the mean of the others
    vocab: np.ndarray  # distinct vocabulary terms matched per area
    title: np.ndarray  # distinct terms matched in the title per area
    matches: dict[str, AreaMatches]
    sentences: dict[int, str]
    # the same counts with furniture and names included, as the first head was trained
    vocab_raw: np.ndarray | None = None
    title_raw: np.ndarray | None = None


class Scorer(Protocol):
    """A learned head: scores per area, and each area's threshold."""

    version: str

    def scores(self, feats: DocFeatures) -> np.ndarray: ...

    def threshold(self, area: str) -> float: ...


@dataclass
class Classification:
    language: str
    labels: list[Label]  # one per area (accepted or not), evidence on each

    @property
    def accepted(self) -> list[Label]:
        return [label for label in self.labels if label.accepted]


class EmbeddingCache:
    """Where vectors are kept between runs; the store implements it."""

    def embeddings(self, hashes: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        return {}

    def put_embeddings(self, vectors: dict[str, np.ndarray], model_id: str) -> None:
        return None


class FocusAreaClassifier:
    def __init__(self, areas: FocusAreas, config: ClassifierConfig, encoder: Encoder,
                 cache: EmbeddingCache | None = None, head: Scorer | None = None) -> None:
        self.areas = areas
        self.config = config
        self.encoder = encoder
        self.cache = cache or EmbeddingCache()
        self.matcher = VocabularyMatcher(areas, exclude_names=True)
        self.head = head
        method = head.version if head is not None else config.version
        self.version = f"{method}+{encoder.model_id}"
        self._area_vectors = self._embed_descriptions()

    def with_cache(self, cache: EmbeddingCache) -> FocusAreaClassifier:
        """The same classifier (model, vocabulary, area vectors shared, nothing rebuilt)
        keeping its vectors in `cache`: a store, or a training file."""
        other = copy.copy(self)
        other.cache = cache
        return other

    def _embed_descriptions(self) -> np.ndarray:
        """(areas, description languages, dim): each area's descriptions as queries."""
        texts = [
            area.descriptions.get(lang) or area.descriptions["sv"]
            for area in self.areas.areas
            for lang in DESCRIPTION_LANGS
        ]
        vectors = self.encoder.encode_queries(texts)
        return vectors.reshape(len(self.areas.areas), len(DESCRIPTION_LANGS), -1)

    def embed(self, docs: Sequence[ClassifierInput]) -> np.ndarray:
        """Vectors of `docs`, from the cache where present; new ones are cached. A text
        that is identical to one already embedded is never embedded twice."""
        model_id = self.encoder.model_id
        keys = [d.key for d in docs]
        known = self.cache.embeddings(keys, model_id)
        missing: dict[str, ClassifierInput] = {}
        for doc in docs:
            if doc.key not in known and doc.key not in missing:
                missing[doc.key] = doc
        if missing:
            texts = [d.embed_text(self.config.embed_chars) or " " for d in missing.values()]
            vectors = self.encoder.encode_passages(texts)
            fresh = dict(zip(missing, vectors, strict=True))
            self.cache.put_embeddings(fresh, model_id)
            known.update(fresh)
        dim = self._area_vectors.shape[-1]
        if not docs:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([np.asarray(known[k], dtype=np.float32) for k in keys])

    def features(self, docs: Sequence[ClassifierInput]) -> list[DocFeatures]:
        """Everything the scorers read of each document: its vector, its similarity to
        each area, and the vocabulary matched in its text and in its title."""
        vectors = self.embed(docs)
        if not len(docs):
            return []
        # similarity of every doc to every area: max over the description languages
        sims = np.einsum("nd,ald->nal", vectors, self._area_vectors).max(axis=2)
        return [self._features_one(doc, vec, row)
                for doc, vec, row in zip(docs, vectors, sims, strict=True)]

    def _features_one(self, doc: ClassifierInput, vector: np.ndarray,
                      sims: np.ndarray) -> DocFeatures:
        lang = doc.language if doc.language and doc.language != "und" else None
        window = doc.embed_text(self.config.vocab_chars)
        if lang is None:
            lang = detect_language(window)
        pipeline_lang = lang if lang in SUPPORTED else "sv"
        analysed = analyse(window, pipeline_lang)
        # Vocabulary is per language: a German text has none of ours to match.
        readable = lang in SUPPORTED or lang == "und"
        matches = self.matcher.match(analysed, pipeline_lang) if readable else {}
        title_matches = (
            self.matcher.match(analyse(doc.title, pipeline_lang), pipeline_lang)
            if doc.title and matches else {}
        )
        ids = self.areas.ids
        n = len(ids)
        margins = np.array([sims[i] - (sims.sum() - sims[i]) / max(n - 1, 1)
                            for i in range(n)], dtype=np.float32)
        return DocFeatures(
            language=lang,
            vector=np.asarray(vector, dtype=np.float32),
            sims=np.asarray(sims, dtype=np.float32),
            margins=margins,
            vocab=np.array([matches[a].distinct if a in matches else 0 for a in ids],
                           dtype=np.float32),
            title=np.array([title_matches[a].distinct if a in title_matches else 0
                            for a in ids], dtype=np.float32),
            matches=matches,
            sentences={s.start: s.text for s in analysed.sents},
            vocab_raw=np.array([matches[a].distinct_with_excluded if a in matches else 0
                                for a in ids], dtype=np.float32),
            title_raw=np.array([title_matches[a].distinct_with_excluded
                                if a in title_matches else 0 for a in ids], dtype=np.float32),
        )

    def zero_shot_scores(self, feats: DocFeatures) -> np.ndarray:
        cfg = self.config
        return (cfg.margin_weight * feats.margins / cfg.margin_scale
                + cfg.vocab_weight * np.log1p(feats.vocab)
                + cfg.title_weight * feats.title)

    def classify(self, docs: Sequence[ClassifierInput]) -> list[Classification]:
        scored = []
        for feats in self.features(docs):
            if self.head is not None:
                scores = self.head.scores(feats)
                thresholds = [self.head.threshold(a) for a in self.areas.ids]
            else:
                scores = self.zero_shot_scores(feats)
                thresholds = [self.config.threshold_for(a) for a in self.areas.ids]
            scored.append((feats, scores, thresholds))
        nearest = self._nearest_sentences(scored)
        return [self._labels(feats, scores, thresholds, nearest[n])
                for n, (feats, scores, thresholds) in enumerate(scored)]

    def _nearest_sentences(self, scored: Sequence[tuple[DocFeatures, np.ndarray, Sequence[float]]]
                           ) -> list[dict[int, int]]:
        """For each accepted label whose terms occur in several sentences, the sentence
        (among the EVIDENCE_CANDIDATES with most hits) nearest the area's descriptions. All
        candidates of a batch are embedded in one call; short sentences cost little."""
        wanted: list[tuple[int, int, int]] = []  # (document, area index, sentence start)
        for n, (feats, scores, thresholds) in enumerate(scored):
            for i, area in enumerate(self.areas.ids):
                found = feats.matches.get(area)
                if scores[i] < thresholds[i] or found is None or len(found.sentences) < 2:
                    continue
                top = sorted(found.sentences.items(), key=lambda kv: (-kv[1], kv[0]))
                wanted += [(n, i, start) for start, _ in top[:EVIDENCE_CANDIDATES]]
        out: list[dict[int, int]] = [{} for _ in scored]
        if not wanted:
            return out
        texts = [_trim(scored[n][0].sentences[start], 300) or " " for n, _, start in wanted]
        vectors = self.encoder.encode_passages(texts)
        best: dict[tuple[int, int], tuple[float, int]] = {}
        for (n, i, start), vec in zip(wanted, vectors, strict=True):
            sim = float((self._area_vectors[i] @ vec).max())
            if (n, i) not in best or sim > best[(n, i)][0]:
                best[(n, i)] = (sim, start)
        for (n, i), (_, start) in best.items():
            out[n][i] = start
        return out

    def _labels(self, feats: DocFeatures, scores: np.ndarray,
                thresholds: Sequence[float], nearest: dict[int, int] | None = None
                ) -> Classification:
        labels = []
        nearest = nearest or {}
        for i, area in enumerate(self.areas.areas):
            found = feats.matches.get(area.id, AreaMatches())
            best = max(found.sentences.items(), key=lambda kv: (kv[1], -kv[0]), default=None)
            start = nearest.get(i, best[0] if best else None)
            evidence = Evidence(
                terms=sorted(found.terms, key=lambda t: (-found.terms[t], t)),
                sentence=_trim(feats.sentences.get(start)) if start is not None else None,
                similarity=round(float(feats.sims[i]), 4),
                margin=round(float(feats.margins[i]), 4),
            )
            labels.append(Label(
                area=area.id, score=round(float(scores[i]), 4),
                threshold=round(float(thresholds[i]), 4),
                evidence=evidence, model_version=self.version,
            ))
        return Classification(language=feats.language, labels=labels)


def _trim(sentence: str | None, limit: int = 400) -> str | None:
    if sentence is None:
        return None
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"
