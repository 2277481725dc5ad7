"""Focus-area classification with evidence.

Two kinds of evidence are combined per area: how much closer a document's embedding is to
the area's descriptions than to the other areas' (a margin: centred, never an absolute
cosine), and which of the area's terms occur in the text and in the title. Every label
carries its evidence — matched terms, the sentence with most matches, the score and the
threshold — so a strategist can see why."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from nlp.encoder import Encoder
from nlp.language import SUPPORTED, detect_language
from nlp.text import analyse
from nlp.vocab import AreaMatches, VocabularyMatcher
from omvarld.config import FocusAreas, load_yaml_model
from omvarld.model import Evidence, Label

log = logging.getLogger(__name__)

DESCRIPTION_LANGS = ("sv", "en")  # max over these: measured better than averaging them


class ClassifierConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
                 cache: EmbeddingCache | None = None) -> None:
        self.areas = areas
        self.config = config
        self.encoder = encoder
        self.cache = cache or EmbeddingCache()
        self.matcher = VocabularyMatcher(areas)
        self.version = f"{config.version}+{encoder.model_id}"
        self._area_vectors = self._embed_descriptions()

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

    def classify(self, docs: Sequence[ClassifierInput]) -> list[Classification]:
        vectors = self.embed(docs)
        if not len(docs):
            return []
        # similarity of every doc to every area: max over the description languages
        sims = np.einsum("nd,ald->nal", vectors, self._area_vectors).max(axis=2)
        return [self._classify_one(doc, row) for doc, row in zip(docs, sims, strict=True)]

    def _classify_one(self, doc: ClassifierInput, sims: np.ndarray) -> Classification:
        lang = doc.language if doc.language and doc.language != "und" else None
        window = doc.embed_text(self.config.vocab_chars)
        if lang is None:
            lang = detect_language(window)
        pipeline_lang = lang if lang in SUPPORTED else "sv"
        analysed = analyse(window, pipeline_lang)
        matches = self.matcher.match(analysed, pipeline_lang) if lang in SUPPORTED or (
            lang == "und") else {}
        title_matches = (
            self.matcher.match(analyse(doc.title, pipeline_lang), pipeline_lang)
            if doc.title and matches else {}
        )
        sentences = {s.start: s.text for s in analysed.sents}
        labels = []
        n_areas = len(self.areas.areas)
        for i, area in enumerate(self.areas.areas):
            others = (sims.sum() - sims[i]) / max(n_areas - 1, 1)
            margin = float(sims[i] - others)
            found = matches.get(area.id, AreaMatches())
            in_title = title_matches.get(area.id, AreaMatches())
            cfg = self.config
            score = (
                cfg.margin_weight * margin / cfg.margin_scale
                + cfg.vocab_weight * math.log1p(found.distinct)
                + cfg.title_weight * in_title.distinct
            )
            best = max(found.sentences.items(), key=lambda kv: (kv[1], -kv[0]), default=None)
            evidence = Evidence(
                terms=sorted(found.terms, key=lambda t: (-found.terms[t], t)),
                sentence=_trim(sentences.get(best[0])) if best else None,
                similarity=round(float(sims[i]), 4),
                margin=round(margin, 4),
            )
            labels.append(Label(
                area=area.id, score=round(score, 3), threshold=cfg.threshold_for(area.id),
                evidence=evidence, model_version=self.version,
            ))
        return Classification(language=lang, labels=labels)


def _trim(sentence: str | None, limit: int = 400) -> str | None:
    if sentence is None:
        return None
    sentence = " ".join(sentence.split())
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"
