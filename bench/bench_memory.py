"""Peak memory of the classify stage over 10,000 documents.

Embedding 10,000 documents takes half an hour on two cores, and what could grow with
the number of documents is the stage's own bookkeeping (rows read, features, labels
written), not the encoder's per-batch work. So the documents' vectors are put in the
store's cache first (the real vectors of the shipped training texts; a text repeated
with a numbered title gets its original's vector), and the stage runs over everything
else for real: reading in batches, language, lemmas, vocabulary, the learned head,
writing labels. Peak RSS is printed beside the RSS with the model loaded (the baseline)
and as a ratio to it; the per-batch embedding cost is measured by bench_classify.py.

    .venv/bin/python bench/bench_memory.py [--n 10000]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from omvarld.core.model import Document
from omvarld.nlp.evaluate import as_input, read_labelled
from omvarld.nlp.training import DEFAULT_CAREFUL, DEFAULT_VECTORS, DEFAULT_WEAK
from omvarld.nlp.vectorcache import VectorFile
from omvarld.pipeline.classify import classifier_for, classify_pending
from omvarld.store import Store


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{tmp}/bench.sqlite")
        classifier = classifier_for(store)
        model_id = classifier.encoder.model_id
        corpus = [d for f in DEFAULT_CAREFUL + DEFAULT_WEAK
                  for d in read_labelled(f, classifier.areas.ids)]
        cached = VectorFile(DEFAULT_VECTORS)
        vectors = {}
        for i in range(args.n):
            src = corpus[i % len(corpus)]
            title = src.title if i < len(corpus) else f"{src.title} ({i // len(corpus)})"
            doc = Document(url=f"https://example.org/d/{i}", source="bench", publisher="b",
                           level="national", title=title, text=src.text,
                           language=src.language or "und")
            store.save_document(doc)
            found = cached.embeddings([as_input(src).key], model_id)
            if found:
                vectors[doc.content_hash] = next(iter(found.values()))
        store.put_embeddings(vectors, model_id)
        missing = args.n - len(vectors)
        baseline = rss_mb()
        t0 = time.perf_counter()
        report = classify_pending(store, classifier, batch=64)
        elapsed = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"documents: {report.documents} ({missing} had to be embedded), "
          f"in a focus area: {report.labelled}")
    print(f"stage without embedding: {report.documents / elapsed:.0f} docs/s ({elapsed:.0f} s)")
    print(f"RSS with model loaded (baseline): {baseline:.0f} MB")
    print(f"peak RSS classifying {report.documents} documents: {peak:.0f} MB "
          f"(ratio to baseline {peak / baseline:.2f})")


if __name__ == "__main__":
    main()
