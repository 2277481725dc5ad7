"""Crash-consistent classification, locks that belong to a live process, partial runs
that say so, and pages that are garbage: each on a real SQLite store."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pytest

from omvarld.core.model import Document
from omvarld.crawl.pipelines import unreadable
from omvarld.digest.build import incomplete_line
from omvarld.ops.alerts import AlertPolicy, check_partial_run, open_alerts
from omvarld.ops.locks import acquire, holder_of, this_host
from omvarld.ops.report import RunReport, SourceRow
from omvarld.pipeline.classify import classify_pending, classify_rows
from omvarld.store import utcnow
from omvarld.store.tables import OpsLockRow

TEXTS = [
    ("bostad", "Regeringen föreslår fler bostäder och ett ökat bostadsbyggande i "
               "kommunerna. Boverket och Sveriges Kommuner och Regioner ska följa upp. "
               "Se prop. 2025/26:101."),
    ("jobb", "Arbetsförmedlingen får i uppdrag att öka sysselsättningen bland nyanlända "
             "och stärka etableringen på arbetsmarknaden. Se SOU 2025:12."),
    ("klimat", "Naturvårdsverket ska minska utsläppen av växthusgaser från transporter "
               "och stödja kommunernas klimatarbete."),
]


def _document(slug: str, text: str) -> Document:
    return Document(url=f"https://example.se/{slug}", source="test",
                    publisher="Regeringskansliet", level="national", doc_type="report",
                    title=f"Dokument om {slug}", text=text, language="sv",
                    published=date(2026, 11, 17))


@pytest.fixture
def cached(store, classifier):
    """The classifier with its vectors in the store, as the stage runs it."""
    return classifier.with_cache(store)


def _stored(store) -> list[int]:
    for slug, text in TEXTS:
        store.save_document(_document(slug, text))
    return [row.id for row in store.documents()]


# -- one transaction per document; what a killed run left is linked by the next ---------


def test_labels_and_annotations_are_saved_together_and_the_story_is_pending(store, cached):
    ids = _stored(store)
    outcome = classify_rows(store, cached, store.documents_by_ids(ids))
    assert outcome.classified == ids and outcome.failed == []
    for doc_id in ids:
        row = store.document(doc_id)
        assert row.classified_hash == row.content_hash and len(row.labels) == 6
    assert store.references_of(ids[0]) and store.stakeholders_of(ids[0])
    # killed here, before the stories: nothing is lost, the story is the next run's to-do
    assert store.unlinked_documents() == ids
    assert store.classification_ids() == []


def test_the_next_run_links_what_a_killed_run_left_without_a_story(store, cached):
    ids = _stored(store)
    classify_rows(store, cached, store.documents_by_ids(ids))  # then killed
    report = classify_pending(store, cached)
    assert report.documents == 0  # nothing classified twice
    assert report.linked == len(ids)
    assert store.unlinked_documents() == []
    assert all(store.document(i).story_id is not None for i in ids)
    assert classify_pending(store, cached).linked == 0  # and nothing twice


def test_a_changed_document_waits_for_its_story_again(store, cached):
    ids = _stored(store)
    classify_pending(store, cached)
    store.save_document(_document("bostad", TEXTS[0][1] + " Ändrad."))
    assert store.classification_ids() == [ids[0]]
    classify_rows(store, cached, store.documents_by_ids([ids[0]]))
    assert store.unlinked_documents() == [ids[0]]


# -- locks --------------------------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _held(store, holder: str, host: str, pid: int, acquired=None) -> None:
    now = utcnow()
    with store.session() as s:
        s.add(OpsLockRow(name="classify", holder=holder, acquired=acquired or now,
                         expires=now + timedelta(minutes=30), host=host, pid=pid))


def test_a_lock_whose_process_is_gone_is_taken_over_at_once(store):
    _held(store, "flow-run:killed", this_host(), _dead_pid())
    assert acquire(store, "classify", "flow-run:next", timedelta(minutes=30))
    assert holder_of(store, "classify") == "flow-run:next"


def test_a_lock_whose_pid_now_belongs_to_a_newer_process_is_taken_over(store):
    import os

    _held(store, "flow-run:killed", this_host(), os.getpid(),
          acquired=utcnow() - timedelta(days=400))  # long before this process started
    assert acquire(store, "classify", "flow-run:next", timedelta(minutes=30))


def test_a_lock_of_a_live_process_or_another_host_is_respected(store):
    import os

    _held(store, "flow-run:busy", this_host(), os.getpid())
    assert not acquire(store, "classify", "flow-run:next", timedelta(minutes=30))
    with store.session() as s:
        s.query(OpsLockRow).delete()
    _held(store, "flow-run:elsewhere", "another-host", _dead_pid())
    assert not acquire(store, "classify", "flow-run:next", timedelta(minutes=30))


# -- partial runs ---------------------------------------------------------------------


def test_a_run_that_skipped_a_source_or_left_documents_is_partial():
    report = RunReport(flow="weekly", sources=[
        SourceRow(source="riksdagen", status="ok", new=2),
        SourceRow(source="regeringen", status="skipped", error="another run is crawling it"),
        SourceRow(source="eurlex", status="partial", new=1, failed=1,
                  error="https://eur-lex.europa.eu/x: refused: the answer is larger than "
                        "the download limit of 10,485,760 bytes"),
    ], classified=3, labelled=2, unclassified=5)
    assert report.status == "partial"
    assert report.incomplete_sources == ["regeringen", "eurlex"]
    assert report.problems == [
        "regeringen: skipped — another run is crawling it",
        "eurlex: partial, 1 lost — https://eur-lex.europa.eu/x: refused: the answer is "
        "larger than the download limit of 10,485,760 bytes",
        "5 documents left unclassified",
    ]
    assert "**Partial run**: 3 problems." in report.markdown()
    complete = RunReport(flow="weekly", sources=[SourceRow(source="riksdagen", status="ok")],
                         classified=1, unclassified=0)
    assert complete.status == "ok" and "Partial" not in complete.markdown()


def test_the_digest_line_says_what_it_was_built_from():
    assert incomplete_line(41, 86, ["riksdagen"]) == (
        "Ofullständig: byggd av 41 av 86 dokument (45 väntar på klassificering); 1 källa "
        "kunde inte läsas helt: riksdagen.")
    assert incomplete_line(86, 86, []) == ""


def test_a_partial_run_alerts_once_and_a_complete_one_closes_the_episode(store):
    policy = AlertPolicy(operators=["drift@malmo.test"])
    first = check_partial_run(store, "weekly", ["riksdagen: failed"], policy, dry_run=True)
    assert [a.kind for a in first] == ["partial"] and "riksdagen: failed" in first[0].body
    assert [(a.source, a.kind) for a in open_alerts(store)] == [("run:weekly", "partial")]
    assert check_partial_run(store, "weekly", [], policy) == []
    assert open_alerts(store) == []


# -- garbage ----------------------------------------------------------------------------


def test_an_empty_or_garbled_page_is_unreadable_and_a_real_one_is_not():
    empty = _document("tom", "")
    assert unreadable(empty) == "no text: the page was empty or could not be read"
    noise = bytes(range(256)).decode("utf-8", errors="replace") * 8
    assert unreadable(_document("brus", noise)).startswith("unreadable text")
    assert unreadable(_document("bostad", TEXTS[0][1])) is None


def test_a_source_that_read_no_listing_where_it_used_to_yield_is_broken():
    from omvarld.ops.health import health_from_runs
    from omvarld.store.tables import CrawlRunRow

    now = utcnow()

    def run(days: int, status: str, new: int, errors: list[str]) -> CrawlRunRow:
        started = now - timedelta(days=days)
        return CrawlRunRow(source="folketinget", started=started, finished=started,
                           status=status, new=new, updated=0, unchanged=0,
                           failed=0 if status == "ok" else 3, errors=errors)

    unreadable_listing = run(0, "failed", 0, [
        "folketinget: no listing could be read (1 answers unusable)",
        "https://oda.ft.dk/api/Sag: XML (application/xml) where JSON was expected"])
    history = [run(d, "ok", 3, []) for d in (1, 2, 3)]
    assert health_from_runs("folketinget", [unreadable_listing, *history]).status == "broken"
    unreachable = run(0, "failed", 0, ["folketinget: source unreachable"])
    assert health_from_runs("folketinget", [unreachable, *history]).status == "failed"


def test_a_streamed_body_refused_for_its_size_says_the_limit_not_cancelled():
    from scrapy import Request
    from twisted.internet.defer import CancelledError
    from twisted.python.failure import Failure

    from omvarld.crawl.base import describe_failure

    failure = Failure(CancelledError())  # what Scrapy raises when a stream passes the limit
    failure.request = Request("http://127.0.0.1:9/x", meta={"download_maxsize": 10_485_760})
    assert describe_failure(failure) == (
        "refused: the answer is larger than the download limit of 10,485,760 bytes")
