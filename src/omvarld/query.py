"""The analysts' search as pandas DataFrames, for notebooks.

The same search as the web app and `omvarld search` (`omvarld.search.query`), without paging:
a call returns every match (or the first `limit`) as one row per document, so an analyst
can group, pivot and plot at once::

    from omvarld import query as q
    df = q.search("bostäder", areas="bostader", levels="eu", since="2026-06-01")
    df.groupby("publisher").size()
    q.facets("bostäder")                     # facet, value, count
    q.labels(df.index)                       # every area score of those documents

Filters take a single value or a list; dates take `date`s or "YYYY-MM-DD" strings. The
store is the configured one (`OMVARLD_DATABASE_URL`) unless `store=` is given.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import select

from omvarld.search.query import Hit, SearchQuery, hits, search_ids
from omvarld.search.query import search as _search
from omvarld.search.query import similar as _similar
from omvarld.store import Store
from omvarld.store.tables import LabelRow

if TYPE_CHECKING:
    from omvarld.nlp.encoder import Encoder

COLUMNS = ["title", "url", "publisher", "source", "level", "doc_type", "language",
           "published", "deadline", "score", "areas", "summary", "snippet"]
_LIST_FIELDS = ("areas", "levels", "sources", "publishers", "doc_types", "languages",
                "stakeholders")
_store: Store | None = None


def connect(url: str | None = None) -> Store:
    """The store the other functions use by default (the configured one, opened once)."""
    global _store
    if url is not None or _store is None:
        _store = Store.open(url)
    return _store


def make_query(text: str = "", **filters: Any) -> SearchQuery:
    """A `SearchQuery` from loose notebook arguments: one value or a list per filter,
    dates as `date` or ISO strings."""
    fields: dict[str, Any] = {"text": text}
    for key, value in filters.items():
        if value is None:
            continue
        if key in _LIST_FIELDS and isinstance(value, str):
            value = [value]
        elif key in _LIST_FIELDS:
            value = list(value)
        elif key in ("since", "until") and isinstance(value, str):
            value = date.fromisoformat(value)
        fields[key] = value
    return SearchQuery(**fields)


def search(text: str = "", *, semantic: str = "", limit: int | None = None,
           store: Store | None = None, encoder: Encoder | None = None,
           **filters: Any) -> pd.DataFrame:
    """Every document matching (best first; newest first with sort="date" or without
    words), one row each, indexed by document id. Columns: title, url, publisher,
    source, level, doc_type, language, published, deadline, score, areas (the accepted
    focus areas), summary, snippet, and `area_<id>` with each accepted area's score.
    `df.attrs["message"]` holds the search's message, if any."""
    store = store or connect()
    query = make_query(text, semantic=semantic, **filters)
    found, message = search_ids(store, query, encoder=encoder)
    if limit is not None:
        found = found[:limit]
    rows: list[Hit] = []
    for start in range(0, len(found), 500):
        chunk = found[start : start + 500]
        rows += hits(store, [i for i, _ in chunk], [s for _, s in chunk], query.text)
    frame = frame_of(rows)
    frame.attrs["message"] = message
    return frame


def documents(*, limit: int | None = None, store: Store | None = None,
              **filters: Any) -> pd.DataFrame:
    """Every document passing the filters, newest first (a search without words)."""
    return search("", limit=limit, store=store, **filters)


def facets(text: str = "", *, semantic: str = "", store: Store | None = None,
           encoder: Encoder | None = None, **filters: Any) -> pd.DataFrame:
    """Facet counts over every match: columns facet, value, count."""
    store = store or connect()
    query = make_query(text, semantic=semantic, per_page=1, **filters)
    result = _search(store, query, encoder=encoder)
    rows = [(facet, value, count) for facet, counts in result.facets.items()
            for value, count in counts.items()]
    return pd.DataFrame(rows, columns=["facet", "value", "count"])


def similar(doc_id: int, k: int = 5, *, store: Store | None = None,
            encoder: Encoder | None = None) -> pd.DataFrame:
    """The `k` documents nearest in meaning to document `doc_id` (score: cosine)."""
    return frame_of(_similar(store or connect(), doc_id, k=k, encoder=encoder))


def labels(doc_ids: Iterable[int], *, accepted_only: bool = False,
           store: Store | None = None) -> pd.DataFrame:
    """Area scores of documents: one row per document id, one column per area
    (NaN where the document has no label for the area)."""
    ids = [int(i) for i in doc_ids]
    store = store or connect()
    records: list[tuple[int, str, float]] = []
    with store.session() as s:
        for start in range(0, len(ids), 500):
            query = select(LabelRow.document_id, LabelRow.area, LabelRow.score).where(
                LabelRow.document_id.in_(ids[start : start + 500]))
            if accepted_only:
                query = query.where(LabelRow.accepted.is_(True))
            records += [(d, a, float(v)) for d, a, v in s.execute(query)]
    frame = pd.DataFrame(records, columns=["id", "area", "score"])
    wide = frame.pivot_table(index="id", columns="area", values="score", aggfunc="first")
    wide.columns.name = None
    return wide.reindex(ids)


def frame_of(rows: Sequence[Hit]) -> pd.DataFrame:
    """Hits as a DataFrame indexed by document id (dates as pandas datetimes)."""
    records = []
    areas = sorted({a for hit in rows for a in hit.areas})
    for hit in rows:
        record = hit.model_dump(include={"id", *COLUMNS})
        record["areas"] = list(hit.areas)
        record.update({f"area_{a}": hit.areas.get(a) for a in areas})
        records.append(record)
    frame = pd.DataFrame(records, columns=["id", *COLUMNS, *(f"area_{a}" for a in areas)])
    for column in ("published", "deadline"):
        frame[column] = pd.to_datetime(frame[column])
    for column in (f"area_{a}" for a in areas):
        frame[column] = frame[column].astype("float64")
    return frame.set_index("id")
