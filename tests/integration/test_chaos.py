"""The recorded responses served with 20 % faults — 503s, stalls that end in a cut
connection, bodies cut short, garbled 200s, XML where JSON was expected — to real
crawls into a real store: nothing garbled is stored, every loss is named in the crawl's
report, a crawl that lost anything is never "ok", and the next crawl (the faults gone)
stores every clean document."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from omvarld.crawl.replay import FAULTS, ReplayServer, chaos_fault
from omvarld.crawl.run import run_crawl_in_subprocess

FIXTURES = Path(__file__).parent.parent / "fixtures"
SOURCES = ["riksdagen", "regeringen", "boverket", "folketinget"]
RATE = 0.2


def crawl(server: ReplayServer, database_url: str) -> dict:
    return {sid: run_crawl_in_subprocess(sid, base_url=server.base_url(sid),
                                         database_url=database_url, timeout=120)
            for sid in SOURCES}


def stored(path: Path) -> dict[str, tuple[str, str]]:
    """URL → (source, content hash) of every stored document."""
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {u: (s, h) for u, s, h in db.execute(
            "SELECT url, source, content_hash FROM documents")}


def a_seed_with_every_fault(types: dict[str, str]) -> int:
    """The first seed whose faults over these requests include every kind (the
    faults are a hash of seed and path: the run is reproducible)."""
    best, best_kinds = 0, 0
    for seed in range(500):
        kinds = {chaos_fault(RATE, seed, p, t) for p, t in types.items()} - {None}
        if len(kinds) == len(FAULTS):
            return seed
        if len(kinds) > best_kinds:
            best, best_kinds = seed, len(kinds)
    return best


@pytest.fixture(scope="module")
def chaos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chaos")
    with ReplayServer(FIXTURES) as server:
        crawl(server, f"sqlite:///{folder}/clean.sqlite")
        types = dict(server.content_types)  # what each requested path serves
    clean = stored(folder / "clean.sqlite")
    seed = a_seed_with_every_fault(types)
    url = f"sqlite:///{folder}/chaos.sqlite"
    with ReplayServer(FIXTURES) as server:
        server.chaos(RATE, seed)
        first = crawl(server, url)
        faulted, requests = dict(server.faulted), Counter(server.requests)
        server.chaos(0.0)
        after_first = stored(folder / "chaos.sqlite")
        second = crawl(server, url)
    return clean, first, faulted, requests, after_first, second, stored(folder / "chaos.sqlite")


def test_faults_of_every_kind_were_served(chaos):
    clean, _, faulted, *_ = chaos
    assert len(clean) >= 15
    assert set(faulted.values()) == set(FAULTS), faulted


def test_nothing_garbled_is_stored(chaos):
    """Every stored document is a clean one; one that lost an attachment (its page read,
    its PDF spoiled) is stored with what could be read, named in the report, and not
    taken for known by the next crawl."""
    clean, first, _, _, after_first, *_ = chaos
    differing = {u: s for u, (s, h) in after_first.items() if clean.get(u) != (s, h)}
    for url, source in differing.items():
        assert any(f"attachment of {url}" in e for e in first[source].errors), url


def test_every_loss_is_named_and_no_crawl_that_lost_something_is_ok(chaos):
    clean, first, faulted, requests, after_first, *_ = chaos
    for path, fault in faulted.items():
        source = path.split("/")[1]
        if requests[path] > 1:  # retried within the crawl, and the retry was clean
            continue
        report = first[source]
        where = unquote(urlsplit(path).path).removeprefix(f"/{source}")
        assert any(where in unquote(e) for e in report.errors), (path, fault, report.errors)
        assert report.status != "ok", (source, path, fault)
    for source in SOURCES:
        lost = [u for u, (s, _) in clean.items() if s == source and u not in after_first]
        if lost:
            assert first[source].status != "ok" and first[source].errors, (source, lost)


def test_the_next_crawl_stores_every_clean_document(chaos):
    clean, *_, last = chaos
    assert last == clean
