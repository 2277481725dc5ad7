"""The item pipeline, one job per stage: normalise → language → readable → de-duplicate →
store.

Items are `omvarld.core.model.Document`s. Every stage returns a new, validated document (the
model is the contract between the stages). Stage failures never stop the crawl: a
duplicate is dropped with its reason, a document the store refuses is counted as failed,
and so is one with no readable text (a garbled or empty page is never stored, so the next
crawl fetches it again instead of taking it for known).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from scrapy import Spider
from scrapy.exceptions import DropItem

from omvarld.core.failpoints import failpoint
from omvarld.core.model import Document, clean_text
from omvarld.nlp.language import detect_language

log = logging.getLogger(__name__)



def canonical_url(url: str) -> str:
    """The identity of a document: https, no fragment, no `utm_*` tracking parameters.

    The same page reached through a newsletter link (`?utm_source=…#top`) or over plain
    http (old regeringen.se pages give `http://` canonicals) must be one document.
    """
    parts = urlsplit(url.strip())
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_")
    ]
    return urlunsplit((scheme, parts.netloc.lower(), parts.path, urlencode(query), ""))


def _replace(doc: Document, **changes: Any) -> Document:
    """A validated copy: `model_copy(update=…)` would skip the model's validators."""
    return Document.model_validate({**doc.model_dump(), **changes})


def _report(spider: Spider) -> Any:
    return getattr(spider, "report", None)


class NormalisePipeline:
    """Clean whitespace in the text fields and make the URL canonical."""

    def process_item(self, item: Document, spider: Spider) -> Document:
        return _replace(
            item,
            url=canonical_url(item.url),
            title=clean_text(item.title),
            summary=clean_text(item.summary),
            text=clean_text(item.text),
            identifier=clean_text(item.identifier) or None,
            attachments=list(dict.fromkeys(a.strip() for a in item.attachments if a.strip())),
        )


class LanguagePipeline:
    """The language of title + summary + text, whatever the source claims."""

    def process_item(self, item: Document, spider: Spider) -> Document:
        body = "\n".join(part for part in (item.title, item.summary, item.text) if part)
        return _replace(item, language=detect_language(body))


def unreadable(doc: Document) -> str | None:
    """Why a document has no text worth storing, or None. No text and no summary (a
    garbled page that fell back to the listing's title) or a body of mostly replacement
    characters, control characters or symbols (binary read as text, a wrong encoding)."""
    body = "\n".join(part for part in (doc.summary, doc.text) if part)
    if not body.strip():
        return "no text: the page was empty or could not be read"
    sample = body[:20_000]
    bad = sum(ch == "\ufffd" or (ord(ch) < 32 and ch not in "\n\t\r") for ch in sample)
    if bad > max(3, len(sample) // 100):
        return f"unreadable text: {bad} of {len(sample)} characters are not text"
    letters = sum(ch.isalpha() for ch in sample)
    if len(sample) >= 200 and letters < len(sample) * 0.4:
        return f"unreadable text: only {letters} of {len(sample)} characters are letters"
    return None


class ReadablePipeline:
    """A document without readable text is a failed document, not a stored one."""

    def process_item(self, item: Document, spider: Spider) -> Document:
        problem = unreadable(item)
        if problem is None:
            return item
        record = getattr(spider, "record_failure", None)
        if record is not None:
            record(item.url, f"{problem}; not stored, fetched again next crawl")
        raise DropItem(problem)


class DedupePipeline:
    """Drop a document whose URL was already produced in this crawl.

    Listings repeat documents (one press release under two categories, a row moving to
    the next page while we page); the store would not duplicate it, but the report would
    count it twice.
    """

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def process_item(self, item: Document, spider: Spider) -> Document:
        if item.url in self.seen:
            raise DropItem(f"duplicate in this crawl: {item.url}")
        self.seen.add(item.url)
        return item


class StorePipeline:
    """Save each document; count new / updated / unchanged in the crawl report.

    An error storing one document is that document's failure, with its message in the
    report; the crawl goes on.
    """

    def process_item(self, item: Document, spider: Spider) -> Document:
        store = getattr(spider, "store", None)
        report = _report(spider)
        if store is None:
            log.warning("no store on spider %s: %s not saved", spider.name, item.url)
            return item
        try:
            result = store.save_document(item)
        except Exception as exc:  # one bad document must never stop the crawl
            log.exception("could not store %s", item.url)
            if report is not None:
                report.failed += 1
                report.errors.append(f"{item.url}: not stored: {type(exc).__name__}: {exc}")
            return item
        if report is not None:
            setattr(report, result, getattr(report, result) + 1)
        log.debug("%s: %s", result, item.url)
        failpoint("crawl.stored")
        return item
