"""The item pipeline stages, each on its own: normalise, language, de-duplicate, store."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from scrapy.exceptions import DropItem

from omvarld.core.model import CrawlReport, Document
from omvarld.crawl.pipelines import (
    DedupePipeline,
    LanguagePipeline,
    NormalisePipeline,
    StorePipeline,
    canonical_url,
    detect_language,
)


def doc(**fields) -> Document:
    base = {
        "url": "https://www.regeringen.se/pressmeddelanden/2025/12/a/",
        "source": "regeringen",
        "publisher": "Regeringskansliet",
        "level": "national",
        "title": "Titel",
    }
    return Document(**{**base, **fields})


def spider(store=None) -> SimpleNamespace:
    report = CrawlReport(source="regeringen", started=datetime.now(UTC).replace(tzinfo=None))
    return SimpleNamespace(name="regeringen", store=store, report=report)


# -- normalise --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        (
            "http://www.regeringen.se/rattsdokument/kommittedirektiv/2017/03/dir.-201729/",
            "https://www.regeringen.se/rattsdokument/kommittedirektiv/2017/03/dir.-201729/",
        ),
        (
            "https://www.regeringen.se/a/?utm_source=nyhetsbrev&utm_medium=email#top",
            "https://www.regeringen.se/a/",
        ),
        (
            "https://data.riksdagen.se/dokumentlista/?doktyp=bet&utm_campaign=x&p=2",
            "https://data.riksdagen.se/dokumentlista/?doktyp=bet&p=2",
        ),
        ("https://WWW.Regeringen.se/a/", "https://www.regeringen.se/a/"),
    ],
)
def test_canonical_url(url, canonical):
    assert canonical_url(url) == canonical


def test_normalise_cleans_whitespace_and_url():
    out = NormalisePipeline().process_item(
        doc(
            url="http://www.regeringen.se/a/#x",
            title="  Ett \u00a0 ärende \n",
            summary="a\t\tb",
            text="rad 1\n\n\n\nrad 2",
            attachments=[" a.pdf ", "a.pdf"],
        ),
        spider(),
    )
    assert out.url == "https://www.regeringen.se/a/"
    assert (out.title, out.summary, out.text) == ("Ett ärende", "a b", "rad 1\n\nrad 2")
    assert out.attachments == ["a.pdf"]


# -- language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (
            "Remissvaren ska ha kommit in till Justitiedepartementet senast den 10 mars 2026. "
            "Här kan du ta del av till vilka remissinstanser som regeringen har remitterat "
            "promemorian.",
            "sv",
        ),
        (
            "EP paves way for the use of EU funds to finance natural disaster recovery in the "
            "member states.",
            "en",
        ),
        (
            "Regeringen har i dag besluttet at styrke indsatsen for flere boliger i hovedstaden, "
            "og kommunerne får flere penge.",
            "da",
        ),
        (
            "Die Bundesregierung hat heute beschlossen, den Wohnungsbau in den Städten zu fördern.",
            "de",
        ),
        ("2026-03-10 12:00", "und"),
        ("", "und"),
    ],
)
def test_detect_language(text, language):
    assert detect_language(text) == language


def test_language_is_detected_from_title_summary_and_text():
    out = LanguagePipeline().process_item(
        doc(
            title="Integration",
            summary="Riksdagen sa nej till cirka 25 förslag som handlar "
            "om olika integrationsåtgärder.",
            language="en",
        ),
        spider(),
    )
    assert out.language == "sv"


# -- de-duplicate -----------------------------------------------------------------------


def test_second_item_with_the_same_url_is_dropped_with_its_reason():
    pipeline = DedupePipeline()
    pipeline.process_item(doc(), spider())
    with pytest.raises(
        DropItem, match=re.escape("duplicate in this crawl: https://www.regeringen.se/")
    ):
        pipeline.process_item(doc(title="Annan titel"), spider())


def test_different_urls_pass():
    pipeline = DedupePipeline()
    pipeline.process_item(doc(), spider())
    assert pipeline.process_item(doc(url="https://www.regeringen.se/b/"), spider()).url.endswith(
        "/b/"
    )


# -- store ------------------------------------------------------------------------------


def test_store_counts_new_unchanged_and_updated(store):
    crawl = spider(store)
    pipeline = StorePipeline()
    pipeline.process_item(doc(), crawl)
    pipeline.process_item(doc(), crawl)
    pipeline.process_item(doc(text="Ny text"), crawl)
    assert (crawl.report.new, crawl.report.unchanged, crawl.report.updated) == (1, 1, 1)
    assert store.count_documents() == 1


class BrokenStore:
    def save_document(self, doc: Document) -> str:
        raise RuntimeError("database is locked")


def test_a_failure_to_store_is_counted_with_its_message_and_never_raised():
    crawl = spider(BrokenStore())
    out = StorePipeline().process_item(doc(), crawl)
    assert out.url == doc().url
    assert crawl.report.failed == 1
    assert crawl.report.errors == [
        "https://www.regeringen.se/pressmeddelanden/2025/12/a/: not stored: RuntimeError: "
        "database is locked"
    ]
