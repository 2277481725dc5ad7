"""The European Commission: its press corner and "Have your say", the EU-level remiss.

**Press corner** (`ec_presscorner`). The site is a JavaScript application; its machine
access is the RSS API `…/presscorner/api/rss?search?language=en&documenttype=1&…&page=N`
(sic: `rss?search?`), paged with `page`/`pagesize`, newest first. Each item's `guid` ends
in the document id (`ip_26_2514`), from which the public page
(`/commission/presscorner/detail/en/ip_26_2514`) and the printable PDF are built. The item's
description is the release's lead; the page itself is not fetched (it is rendered in the
browser), so a new release costs no request beyond its share of the feed page.

**Have your say** (`have_your_say`). The Better Regulation portal's `brpapi`: the listing
`searchInitiatives?page=0&size=50&language=EN&feedbackStatus=OPEN` answers HAL JSON with the
initiatives under `_embedded.initiativeResultDtoes` and paging in `page` — or, in the newer
shape, a Spring page `initiativeResultDtoPage` with `content` and `totalElements`. Both are
read. Each initiative's `currentStatuses` carry the feedback period
(`feedbackStartDate`/`feedbackEndDate`, written "2026/12/08 23:59:59"): the end is the
document's deadline, the start its publication date. One request per new initiative,
`groupInitiatives/{id}`, gives the `dossierSummary` the classifier reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response

from omvarld.core.model import Document, clean_text
from omvarld.crawl.generic import FeedSpider, JsonApiSpider, Row, strip_tags

PRESSCORNER_DETAIL = "https://ec.europa.eu/commission/presscorner/detail/en/{id}"
PRESSCORNER_PDF = (
    "https://ec.europa.eu/commission/presscorner/api/files/document/print/en/{id}/{ID}.pdf"
)
HYS_PUBLIC = "https://ec.europa.eu/info/law/better-regulation/have-your-say/initiatives/{id}"
HYS_API = "/info/law/better-regulation/brpapi"

# Press corner document ids start with their kind: ip_ (press release), statement_, qanda_…
_PRESS_ID = re.compile(r"^(ip|statement|qanda|speech|mex|ac|inf|read|daily)_\d{2}_\d+$")
PRESS_DOC_TYPES: dict[str, str] = {"ip": "press_release", "statement": "press_release"}
# `foreseenActType` codes of Have your say, as a person reads them.
ACT_TYPES: dict[str, str] = {
    "REG": "regulation",
    "PROP_REG": "proposal for a regulation",
    "REG_DEL": "delegated regulation",
    "REG_IMPL": "implementing regulation",
    "DIR": "directive",
    "PROP_DIR": "proposal for a directive",
    "DEC": "decision",
    "COM": "communication",
    "RECO": "recommendation",
}
STAGES: dict[str, str] = {
    "PLANNING_WORKFLOW": "call for evidence",
    "ISC_WORKFLOW": "public consultation",
    "ADOPTION_WORKFLOW": "draft act",
}


# -- press corner ----------------------------------------------------------------------


def press_id(guid: str | None, link: str | None) -> str | None:
    """The document id at the end of the item's guid (else its link): `ip_26_2514`."""
    for value in (guid, link):
        if not value:
            continue
        last = urlsplit(value.strip()).path.rstrip("/").rsplit("/", 1)[-1].lower()
        if _PRESS_ID.match(last):
            return last
    return None


def press_doc_type(doc_id: str) -> str:
    return PRESS_DOC_TYPES.get(doc_id.split("_", 1)[0], "news")


class EcPresscornerSpider(FeedSpider):
    """Commission press releases from the press corner's RSS API, newest first."""

    name = "ec_presscorner"
    doc_type = "press_release"
    follow_detail = False  # the detail page is a JavaScript application
    page_param = "page"

    def feed_urls(self) -> list[str]:
        params = self.source.params
        query = (
            f"search?language={params.get('language', 'en')}"
            f"&documenttype={params.get('documenttype', 1)}"
            f"&text=&policyarea=&pagesize={int(params.get('page_size', 50))}"
        )
        return [f"{self.base_url}/commission/presscorner/api/rss?{query}&page=1"]

    def parse_entry(self, entry: Any) -> Row | None:
        row = super().parse_entry(entry)
        if row is None:
            return None
        doc_id = press_id(entry.get("id") or entry.get("guid"), entry.get("link"))
        if doc_id is None:
            self.skip(row.url, "feed item without a press corner document id in guid or link")
            return None
        row.url = PRESSCORNER_DETAIL.format(id=doc_id)
        row.doc_type = press_doc_type(doc_id)
        row.attachments = [PRESSCORNER_PDF.format(id=doc_id, ID=doc_id.upper())]
        row.identifier = doc_id.upper()
        return row


# -- Have your say ---------------------------------------------------------------------


def parse_hys_date(value: Any) -> date | None:
    """ "2026/12/08 23:59:59" (the portal's form) or an ISO date."""
    if not isinstance(value, str) or not value.strip():
        return None
    head = value.strip()[:10].replace("/", "-")
    try:
        return date.fromisoformat(head)
    except ValueError:
        try:
            return datetime.strptime(value.strip(), "%d/%m/%Y").date()
        except ValueError:
            return None


def current_status(item: dict[str, Any]) -> dict[str, Any]:
    """The status marked `isCurrent`, else the open one, else the last one."""
    statuses = [s for s in item.get("currentStatuses") or [] if isinstance(s, dict)]
    for test in (
        lambda s: s.get("isCurrent"),
        lambda s: s.get("receivingFeedbackStatus") == "OPEN",
    ):
        chosen = [s for s in statuses if test(s)]
        if chosen:
            return chosen[0]
    return statuses[-1] if statuses else {}


def initiative_id(item: dict[str, Any]) -> int | None:
    """`id` as an integer (the newer listing writes it as a float: 18805.0)."""
    try:
        value = float(item.get("id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(value) if value.is_integer() and value > 0 else None


def describe_initiative(item: dict[str, Any], status: dict[str, Any]) -> str:
    """One line a strategist can act on: what kind of consultation, on what, until when."""
    stage = STAGES.get(str(status.get("frontEndStage")), "consultation")
    act = ACT_TYPES.get(str(item.get("foreseenActType")), "")
    topics = ", ".join(
        clean_text(t.get("label")) for t in item.get("topics") or [] if isinstance(t, dict)
    )
    start, end = (parse_hys_date(status.get(k)) for k in ("feedbackStartDate", "feedbackEndDate"))
    parts = [stage.capitalize() + (f" on a {act}" if act else "")]
    if topics:
        parts.append(f"Topics: {topics}")
    if start and end:
        parts.append(f"Feedback from {start.isoformat()} to {end.isoformat()}")
    return ". ".join(parts) + "."


class HaveYourSaySpider(JsonApiSpider):
    """Initiatives open for feedback on the Commission's Have your say portal."""

    name = "have_your_say"
    doc_type = "consultation"
    api_path = f"{HYS_API}/searchInitiatives"
    query: ClassVar[dict[str, Any]] = {"language": "EN", "feedbackStatus": "OPEN"}
    # The newer Spring page first, then the HAL listing (see the module docstring).
    items_path = ("initiativeResultDtoPage.content", "_embedded.initiativeResultDtoes")
    total_path = ("initiativeResultDtoPage.totalElements", "page.totalElements")
    page_param = "page"
    page_size_param = "size"
    first_page = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_size = int(self.source.params.get("page_size", type(self).page_size))

    def row_from_item(self, item: dict[str, Any]) -> Row | None:
        ident = initiative_id(item)
        title = clean_text(item.get("shortTitle"))
        if ident is None or not title:
            self.skip(str(item.get("id")), "initiative without a numeric id or a short title")
            return None
        status = current_status(item)
        summary = describe_initiative(item, status)
        return Row(
            url=HYS_PUBLIC.format(id=ident),
            title=title,
            published=parse_hys_date(status.get("feedbackStartDate")),
            summary=summary,
            deadline=parse_hys_date(status.get("feedbackEndDate")),
            # A new stage or a moved deadline is a changed document.
            version=" ".join(
                str(status.get(k) or "")
                for k in ("frontEndStage", "receivingFeedbackStatus", "feedbackEndDate")
            ).strip()
            or None,
            identifier=clean_text(item.get("reference")) or None,
            extra={"id": ident},
        )

    def row_to_document(self, row: Row) -> Iterator[Request | Document]:
        """The initiative's `groupInitiatives/{id}` for its summary, then the document."""
        yield self.request(
            f"{self.base_url}{HYS_API}/groupInitiatives/{row.extra['id']}",
            self.parse_initiative,
            cb_kwargs={"row": row},
        )

    def parse_initiative(self, response: Response, row: Row) -> Iterator[Request | Document]:
        data = self.load_json(response, public_url=row.url)
        if data is None:
            return
        if not isinstance(data, dict):
            self.record_failure(row.url, f"no initiative object in {response.url}")
            return
        dossier = strip_tags(data.get("dossierSummary"))
        row.text = "\n\n".join(p for p in (dossier, row.summary) if p)
        yield from self.document_from_row(row)
