"""A file of embeddings keyed by text hash and model id, for training and evaluation.

Training reads thousands of documents; embedding them takes a quarter of an hour on two
cores. The vectors are kept beside the training data so `omvarld train` on a fresh clone
is quick; a different model id ignores them and embeds again."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


class VectorFile:
    """Implements the classifier's EmbeddingCache over one compressed .npz file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._vectors: dict[str, dict[str, np.ndarray]] = {}
        self._dirty = False
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as data:
                model_ids = [str(m) for m in data["model_ids"]]
                for i, model_id in enumerate(model_ids):
                    keys = [str(k) for k in data[f"keys_{i}"]]
                    vecs = data[f"vectors_{i}"].astype(np.float32)
                    self._vectors[model_id] = dict(zip(keys, vecs, strict=True))

    def embeddings(self, hashes: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        table = self._vectors.get(model_id, {})
        return {h: table[h] for h in hashes if h in table}

    def put_embeddings(self, vectors: dict[str, np.ndarray], model_id: str) -> None:
        if vectors:
            self._vectors.setdefault(model_id, {}).update(vectors)
            self._dirty = True

    def __len__(self) -> int:
        return sum(len(t) for t in self._vectors.values())

    def save(self) -> None:
        """Write atomically; vectors kept as float16 (cosine to float32 > 0.9999)."""
        if not self._dirty:
            return
        arrays: dict[str, np.ndarray] = {"model_ids": np.array(list(self._vectors))}
        for i, table in enumerate(self._vectors.values()):
            keys = sorted(table)
            arrays[f"keys_{i}"] = np.array(keys)
            arrays[f"vectors_{i}"] = np.stack([table[k] for k in keys]).astype(np.float16)
        tmp = self.path.with_suffix(".tmp.npz")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(tmp, **arrays)
        tmp.replace(self.path)
        self._dirty = False
        log.info("saved %d vectors to %s", len(self), self.path)
