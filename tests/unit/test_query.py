"""The pandas API over a real SQLite store."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from omvarld import query as q
from omvarld.core.model import Document, Evidence, Label

SCORES = {"a": {"bostader": 0.9}, "b": {"bostader": 0.7, "miljo": 0.2},
          "c": {"transport": 0.8}}


@pytest.fixture
def filled(store):
    for key, title, level, published in [
        ("a", "Fler bostäder i Malmö", "national", date(2026, 6, 15)),
        ("b", "EU housing plan for affordable homes", "eu", date(2026, 7, 1)),
        ("c", "Järnväg över Öresund", "regional", date(2026, 8, 1)),
    ]:
        store.save_document(Document(url=f"https://example.org/{key}", source="s",
                                     publisher="P", level=level, title=title, text=title,
                                     language="sv", published=published))
    for row in store.documents():
        store.save_labels(row.id, row.content_hash, [
            Label(area=a, score=v, threshold=0.5, evidence=Evidence(), model_version="t")
            for a, v in SCORES[row.url.rsplit("/", 1)[1]].items()])
    return store


def test_search_returns_every_match_as_rows(filled):
    df = q.search("bostäder", store=filled)
    # the Swedish word finds the English document too (the search lexicon)
    assert sorted(df["title"]) == ["EU housing plan for affordable homes", "Fler bostäder i Malmö"]
    assert df["published"].dtype.kind == "M"
    assert df.iloc[0]["areas"] == ["bostader"]
    assert df.iloc[0]["area_bostader"] == pytest.approx(0.9)


def test_filters_take_single_values_and_iso_dates(filled):
    df = q.documents(areas="bostader", since="2026-06-20", store=filled)
    assert list(df["title"]) == ["EU housing plan for affordable homes"]
    assert "area_miljo" not in df.columns  # 0.2 is below its threshold: not labelled
    assert list(q.documents(store=filled)["published"]) == [
        pd.Timestamp("2026-08-01"), pd.Timestamp("2026-07-01"), pd.Timestamp("2026-06-15")]
    assert len(q.documents(limit=2, store=filled)) == 2


def test_facets_as_a_long_frame(filled):
    frame = q.facets(areas=["bostader"], store=filled)
    level = frame[frame["facet"] == "level"].set_index("value")["count"].to_dict()
    assert level == {"national": 1, "eu": 1}


def test_labels_as_a_wide_frame(filled):
    ids = list(q.documents(store=filled).index)
    wide = q.labels(ids, store=filled)
    assert list(wide.index) == ids
    assert wide.loc[ids[1], "miljo"] == pytest.approx(0.2)
    assert pd.isna(wide.loc[ids[0], "bostader"])


def test_no_match_is_an_empty_frame_with_the_message(filled):
    df = q.search("\"')", store=filled)
    assert df.empty and list(df.columns)[:3] == ["title", "url", "publisher"]
    assert df.attrs["message"] == "the query has no searchable words"
