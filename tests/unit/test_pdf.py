"""PDF attachments: text extracted with pypdf within the size and page limits; an encrypted,
corrupt, oversized or text-less PDF is reported by name and reason and the document is stored
without it. The PDFs are made here, for real: weasyprint renders an HTML report, pypdf
encrypts a copy, and slices make a truncated one."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader, PdfWriter
from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure
from weasyprint import HTML

from factories import source_spider
from omvarld.core.model import Document
from omvarld.crawl.pdf import PdfText, attachment_name, extract_pdf_text, is_pdf_link

MalmoLundregionenSpider = source_spider("malmolundregionen")

PARAGRAPH = (
    "Kommunerna i MalmöLundregionen föreslår att utbyggnaden till fyra spår mellan Malmö och Lund "
    "tidigareläggs och att fler bostäder planeras nära stationerna."
)


def report_pdf(pages: int = 3) -> bytes:
    """A real, multi-page PDF: one heading and paragraph per page."""
    sections = "".join(
        f"<section style='page-break-after: always'><h1>Kapitel {n}</h1>"
        f"<p>{PARAGRAPH}</p></section>"
        for n in range(1, pages + 1)
    )
    return HTML(string=f"<html lang='sv'><body>{sections}</body></html>").write_pdf()


REPORT = report_pdf()


def encrypted(data: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password="hemligt", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_text_of_every_page_within_the_limit():
    result = extract_pdf_text(REPORT, max_bytes=10_000_000, max_pages=10)
    assert result.ok and (result.pages_read, result.pages) == (3, 3)
    assert "Kapitel 1" in result.text and "Kapitel 3" in result.text
    assert "fyra spår mellan Malmö och Lund" in " ".join(result.text.split())


def test_a_long_pdf_is_read_up_to_the_page_limit():
    result = extract_pdf_text(REPORT, max_bytes=10_000_000, max_pages=2)
    assert (result.pages_read, result.pages) == (2, 3)
    assert "Kapitel 2" in result.text and "Kapitel 3" not in result.text


def test_an_encrypted_pdf_is_recorded_as_such():
    assert extract_pdf_text(encrypted(REPORT)) == PdfText(problem="PDF is encrypted; skipped")


def test_a_truncated_pdf_is_recorded_as_corrupt():
    result = extract_pdf_text(REPORT[: len(REPORT) // 3])
    assert not result.ok and result.problem.startswith("corrupt PDF (")


def test_a_pdf_over_the_size_limit_is_not_parsed():
    result = extract_pdf_text(REPORT, max_bytes=1_000)
    assert result.problem == f"PDF too large ({len(REPORT):,} bytes > 1,000); skipped"


def test_html_served_as_pdf_is_not_a_pdf():
    assert extract_pdf_text(b"<html><body>Sidan finns inte</body></html>").problem == (
        "not a PDF (no %PDF- header); skipped"
    )


def test_a_pdf_without_text_layer_is_recorded():
    result = extract_pdf_text(blank_pdf())
    assert result.problem == "PDF has no text layer (scanned?); skipped" and result.pages == 1


def test_limits_come_from_the_settings(monkeypatch):
    from omvarld.core.settings import get_settings

    monkeypatch.setenv("OMVARLD_PDF_MAX_PAGES", "1")
    get_settings.cache_clear()
    try:
        assert extract_pdf_text(REPORT).pages_read == 1
    finally:
        monkeypatch.delenv("OMVARLD_PDF_MAX_PAGES")
        get_settings.cache_clear()


def test_attachment_helpers():
    url = "https://www.malmolundregionen.se/wp-content/uploads/2026/11/remissvar%20plan.pdf"
    assert attachment_name(url) == "remissvar plan.pdf"
    assert is_pdf_link(url) and not is_pdf_link("https://x.se/a.docx")


# -- the spider side: the PDF chain of a document -------------------------------------------

BASE = "http://127.0.0.1:9/malmolundregionen"
PDF_A = "https://www.malmolundregionen.se/wp-content/uploads/2026/11/a.pdf"
PDF_B = "https://www.malmolundregionen.se/wp-content/uploads/2026/11/b.pdf"


def document(doc_type: str = "report") -> Document:
    spider = MalmoLundregionenSpider(base_url=BASE)
    return spider.make_document(
        url="https://www.malmolundregionen.se/2026/11/remissvar/",
        title="Remissvar om nationell plan",
        doc_type=doc_type,
        published=date(2026, 11, 12),
        text="Sidans egen text.",
        attachments=[PDF_A, "https://www.malmolundregionen.se/bilaga.docx", PDF_B],
    )


def answer(request: Request, body: bytes) -> Response:
    return Response(request.url, body=body, request=request)


def run_chain(spider, doc, bodies: dict[str, bytes | Exception]) -> Document:
    """Follow the chain of PDF requests the spider yields, answering from `bodies`."""
    (out,) = spider.with_pdfs(doc)
    while isinstance(out, Request):
        public = PDF_A if out.url.endswith("/a.pdf") else PDF_B
        body = bodies[public]
        if isinstance(body, Exception):
            failure = Failure(body)
            failure.request = out
            (out,) = out.errback(failure)
        else:
            (out,) = out.callback(answer(out, body), **out.cb_kwargs)
    return out


def test_a_reports_pdfs_are_fetched_locally_one_after_the_other():
    spider = MalmoLundregionenSpider(base_url=BASE)
    (request,) = spider.with_pdfs(document())
    assert request.url == f"{BASE}/wp-content/uploads/2026/11/a.pdf"
    assert request.meta["download_maxsize"] == 15_000_000


def test_pdf_texts_are_appended_under_their_file_names():
    spider = MalmoLundregionenSpider(base_url=BASE)
    doc = run_chain(spider, document(), {PDF_A: REPORT, PDF_B: report_pdf(1)})
    assert doc.text.startswith("Sidans egen text.\n\n[Bilaga: a.pdf]\n")
    assert "[Bilaga: b.pdf]" in doc.text and spider.report.failed == 0


def test_a_broken_pdf_is_reported_and_the_others_still_read():
    spider = MalmoLundregionenSpider(base_url=BASE)
    doc = run_chain(spider, document(), {PDF_A: encrypted(REPORT), PDF_B: REPORT})
    assert "[Bilaga: a.pdf]" not in doc.text and "[Bilaga: b.pdf]" in doc.text
    assert spider.report.errors == [
        f"{PDF_A}: attachment of https://www.malmolundregionen.se/2026/11/remissvar/: "
        "PDF is encrypted; skipped"
    ]


def test_a_pdf_refused_while_downloading_is_reported_and_the_document_kept():
    from twisted.internet.defer import CancelledError

    spider = MalmoLundregionenSpider(base_url=BASE)
    too_big = CancelledError("Cancelling download: expected response size larger than maxsize")
    doc = run_chain(spider, document(), {PDF_A: too_big, PDF_B: b"%PDF-1.7 trunc"})
    assert doc.text == "Sidans egen text."
    assert [e.split(": ", 2)[2] for e in spider.report.errors] == [
        "PDF larger than 15,000,000 bytes; not downloaded",
        spider.report.errors[1].split(": ", 2)[2],
    ]
    assert spider.report.errors[1].split(": ", 2)[2].startswith("corrupt PDF (")
    assert spider.report.failed == 2


@pytest.mark.parametrize(("doc_type", "fetches"), [("report", True), ("news", False)])
def test_pdfs_are_read_only_where_they_matter(doc_type, fetches):
    spider = MalmoLundregionenSpider(base_url=BASE)
    (out,) = spider.with_pdfs(document(doc_type))
    assert isinstance(out, Request) is fetches
