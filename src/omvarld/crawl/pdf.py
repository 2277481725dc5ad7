"""Text from PDF attachments: a SOU, a remiss or a report is its PDF, not its web page.

`extract_pdf_text` reads a PDF with pypdf up to `OMVARLD_PDF_MAX_BYTES` and
`OMVARLD_PDF_MAX_PAGES` and never raises: an encrypted, corrupt, oversized or text-less PDF
comes back as a `PdfText` whose `problem` says why, so the spider stores the document
without it and names the problem in the crawl report.

`PdfAttachments` is the spider side (mixed into the generic bases): after a document is
built, its PDF attachments are fetched one after the other (only for the document types
where the PDF holds the substance, or every type when the source says so with
`params.pdf: true`), their text appended to the document's, and the document yielded once
— with whatever could be read. A document that lost an attachment is stored without its
source's version marker, so the next crawl does not take it for known and fetches it
(and the attachment) again. The download itself is bounded by Scrapy's per-request
`download_maxsize`, so an oversized PDF is refused before it is in memory.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError
from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from omvarld.core.model import Document, clean_text
from omvarld.core.settings import get_settings
from omvarld.crawl.base import describe_failure

log = logging.getLogger(__name__)

# Types whose PDF is the document itself (the web page is a cover note).
PDF_DOC_TYPES: frozenset[str] = frozenset(
    {"sou", "ds", "proposition", "remiss", "consultation", "report", "decision", "directive"}
)
MAX_ATTACHMENTS = 3
MAX_PDF_TEXT_CHARS = 300_000


@dataclass(frozen=True)
class PdfText:
    """What one PDF gave: its text and page counts, or the problem that stopped it."""

    text: str = ""
    pages_read: int = 0
    pages: int = 0
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def extract_pdf_text(
    data: bytes, *, max_bytes: int | None = None, max_pages: int | None = None
) -> PdfText:
    """The text of a PDF, or why there is none ("encrypted", "corrupt", "too large").

    A PDF longer than `max_pages` is read up to that page (the text says so in `pages_read`
    vs `pages`); a PDF larger than `max_bytes` is not parsed at all.
    """
    settings = get_settings()
    max_bytes = max_bytes if max_bytes is not None else settings.pdf_max_bytes
    max_pages = max_pages if max_pages is not None else settings.pdf_max_pages
    if len(data) > max_bytes:
        return PdfText(problem=f"PDF too large ({len(data):,} bytes > {max_bytes:,}); skipped")
    if data.lstrip()[:5] != b"%PDF-":
        return PdfText(problem="not a PDF (no %PDF- header); skipped")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            return PdfText(problem="PDF is encrypted; skipped")
        pages = len(reader.pages)
        texts = []
        for page in reader.pages[:max_pages]:
            texts.append(page.extract_text() or "")
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        return PdfText(problem=f"corrupt PDF ({type(exc).__name__}: {exc}); skipped")
    text = clean_text("\n\n".join(texts))[:MAX_PDF_TEXT_CHARS]
    if not text:
        return PdfText(pages=pages, problem="PDF has no text layer (scanned?); skipped")
    return PdfText(text=text, pages_read=min(pages, max_pages), pages=pages)


def attachment_name(url: str) -> str:
    """The file name of an attachment URL, for the heading above its text."""
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or url


def is_pdf_link(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".pdf")


class PdfAttachments:
    """Mixed into an `OmvarldSpider`: fetch a document's PDFs before yielding it.

    Subclasses may set `pdf_doc_types` (default `PDF_DOC_TYPES`); `params.pdf: true` in
    `config/sources.yaml` reads the PDFs of every document of the source, `false` none.
    """

    pdf_doc_types: frozenset[str] = PDF_DOC_TYPES

    # provided by OmvarldSpider
    source: Any
    logger: Any

    def wants_pdfs(self, doc: Document) -> bool:
        configured = self.source.params.get("pdf")
        if configured is not None:
            return bool(configured)
        return doc.doc_type in self.pdf_doc_types

    def pdf_links(self, doc: Document) -> list[str]:
        """The attachments that are PDFs (a site whose file links carry no `.pdf` says
        otherwise)."""
        return [a for a in doc.attachments if is_pdf_link(a)]

    def with_pdfs(self, doc: Document, *, force: bool = False) -> Iterator[Document | Request]:
        """The document itself, or a request chain that reads its PDFs and then yields it;
        `force` reads them whatever the type (a page whose own text was only chrome)."""
        pdfs = self.pdf_links(doc)[:MAX_ATTACHMENTS]
        if not pdfs or not (force or self.wants_pdfs(doc)):
            yield doc
            return
        yield self._pdf_request(doc, pdfs, [])

    def _pdf_request(self, doc: Document, pending: list[str], texts: list[str]) -> Request:
        url = pending[0]
        return Request(
            self.to_local(url),  # type: ignore[attr-defined]
            callback=self._parse_pdf,
            errback=self._pdf_failed,
            cb_kwargs={"doc": doc, "pending": pending, "texts": texts},
            meta={
                "download_maxsize": get_settings().pdf_max_bytes,
                "download_warnsize": 0,
                "omvarld_pdf": True,
            },
            dont_filter=True,
        )

    def _parse_pdf(
        self, response: Response, doc: Document, pending: list[str], texts: list[str]
    ) -> Iterator[Document | Request]:
        url = pending[0]
        result = extract_pdf_text(response.body)
        if result.ok:
            note = (
                f" (first {result.pages_read} of {result.pages} pages)"
                if result.pages_read < result.pages
                else ""
            )
            texts = [*texts, f"[Bilaga: {attachment_name(url)}{note}]\n{result.text}"]
        else:
            self.record_failure(url, f"attachment of {doc.url}: {result.problem}")  # type: ignore[attr-defined]
            doc = _incomplete(doc)
        yield from self._next_pdf(doc, pending[1:], texts)

    def _pdf_failed(self, failure: Failure) -> Iterator[Document | Request]:
        kwargs = failure.request.cb_kwargs  # type: ignore[attr-defined]
        doc, pending, texts = kwargs["doc"], kwargs["pending"], kwargs["texts"]
        reason = describe_failure(failure)
        if "maxsize" in reason.lower() or reason.startswith(("CancelledError", "refused:")):
            reason = f"PDF larger than {get_settings().pdf_max_bytes:,} bytes; not downloaded"
        self.record_failure(pending[0], f"attachment of {doc.url}: {reason}")  # type: ignore[attr-defined]
        yield from self._next_pdf(_incomplete(doc), pending[1:], texts)

    def _next_pdf(
        self, doc: Document, pending: list[str], texts: list[str]
    ) -> Iterator[Document | Request]:
        if pending:
            yield self._pdf_request(doc, pending, texts)
            return
        if texts:
            text = "\n\n".join([doc.text, *texts]) if doc.text else "\n\n".join(texts)
            doc = Document.model_validate({**doc.model_dump(), "text": text})
        yield doc


def _incomplete(doc: Document) -> Document:
    """The document without its version marker: stored, but fetched again next crawl."""
    if doc.source_version is None:
        return doc
    return Document.model_validate({**doc.model_dump(), "source_version": None})
