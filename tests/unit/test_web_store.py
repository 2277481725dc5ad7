"""The web tests' store is what those tests assume (see tests/webstore.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from omvarld.store import Store
from webstore import SCRIPT_TITLE, web_store_copy


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    return web_store_copy(tmp_path_factory, "web-store")


def test_every_dev_document_is_stored_with_its_hand_labels(built) -> None:
    path, ids = built
    store = Store.open(f"sqlite:///{path}")
    try:
        assert store.count_documents() == 74
        row = store.document(ids["se-gov-652d57035d"])
        accepted = {lb.area for lb in row.labels if lb.accepted}
        assert accepted == {"bostader"}
        label = next(lb for lb in row.labels if lb.area == "bostader")
        assert label.evidence["terms"], "the evidence names the vocabulary terms found"
    finally:
        store.close()


def test_the_special_documents_are_there(built) -> None:
    path, ids = built
    store = Store.open(f"sqlite:///{path}")
    try:
        assert store.document(ids["script"]).title == SCRIPT_TITLE
        assert store.document(ids["remiss"]).deadline > date(2026, 11, 18)
        story = [r.id for r in store.story(ids["remiss"])]
        assert sorted(story) == sorted([ids["remiss"], ids["se-gov-652d57035d"]])
        names = [n for n, _, _ in store.stakeholders_of(ids["remiss"])]
        assert "Malmö stad" in names
    finally:
        store.close()
