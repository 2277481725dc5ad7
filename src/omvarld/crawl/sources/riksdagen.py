"""Riksdagen's open data (data.riksdagen.se): propositions, SOU, Ds, committee reports,
motions and EU fact memoranda, newest first.

Two calls per document: the `dokumentlista` listing (one chain per configured `doktyp`,
paged through `@nasta_sida`) and the `dokumentstatus/{dok_id}.json` detail, which carries
the metadata, the "Beslut i korthet" summary, the full text as HTML and the attachments.
`systemdatum` changes whenever Riksdagen changes a document; it is the source version that
lets a re-crawl skip everything it already has (about one request per new document).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import lxml.html
import trafilatura
from scrapy import Request
from scrapy.http import Response

from omvarld.core.model import Document, DocumentReference, clean_text
from omvarld.crawl.base import LayoutChanged, OmvarldSpider
from omvarld.crawl.dates import parse_swedish_date

PUBLIC_DOCUMENT_URL = "https://data.riksdagen.se/dokument/{dok_id}"
MAX_TEXT_CHARS = 200_000
# Days re-read before the newest stored publication date: Riksdagen publishes documents
# with a `datum` a few days before they appear in the listing.
OVERLAP_DAYS = 3

DOC_TYPES: dict[str, str] = {
    "prop": "proposition",
    "mot": "motion",
    "bet": "committee_report",
    "sou": "sou",
    "ds": "ds",
    "fpm": "report",
    "sfs": "law",
}
# How each type is cited: "prop. 2016/17:14", "bet. 2022/23:AU6", "SOU 2025:12".
IDENTIFIER_PREFIX: dict[str, str] = {
    "prop": "prop.",
    "mot": "mot.",
    "bet": "bet.",
    "sou": "SOU",
    "ds": "Ds",
    "fpm": "fpm.",
    "sfs": "SFS",
    "skr": "skr.",
    "dir": "dir.",
}


def as_list(value: Any) -> list[Any]:
    """Riksdagen's JSON is converted from XML: one child is an object, several a list."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def strip_html(fragment: str | None) -> str:
    """Text of an HTML fragment ("<p class=Default><span>…</span></p>")."""
    if not fragment or not fragment.strip():
        return ""
    return clean_text(lxml.html.fragment_fromstring(fragment, create_parent="div").text_content())


def document_url(dok_id: str) -> str:
    """The public document URL: the document's identity, whichever host we fetched from."""
    return PUBLIC_DOCUMENT_URL.format(dok_id=quote(dok_id.strip()))


def parse_listing_rows(listing: dict[str, Any]) -> list[dict[str, Any]]:
    """The `dokument` rows of a `dokumentlista` page (a single row comes as an object)."""
    return [row for row in as_list(listing.get("dokument")) if isinstance(row, dict)]


def parse_hit_count(listing: dict[str, Any]) -> int:
    try:
        return int(listing.get("@traffar") or 0)
    except (TypeError, ValueError):
        return 0


def parse_title(dok: dict[str, Any]) -> str:
    """The title alone; the subtitle (a motion's authors, a report's series) is its own
    field (`parse_subtitle`). The subtitle stands in when there is no title."""
    return clean_text(dok.get("titel")) or parse_subtitle(dok)


def parse_subtitle(dok: dict[str, Any]) -> str:
    return clean_text(dok.get("subtitel") or dok.get("undertitel"))


# Riksdagen's committees by the code in `organ` (its spelling: "AU", "SfU").
COMMITTEES: dict[str, str] = {
    "AU": "Arbetsmarknadsutskottet", "BoU": "Bostadsutskottet", "CU": "Civilutskottet",
    "FiU": "Finansutskottet", "FöU": "Försvarsutskottet", "JuU": "Justitieutskottet",
    "KU": "Konstitutionsutskottet", "KrU": "Kulturutskottet", "MJU": "Miljö- och "
    "jordbruksutskottet", "NU": "Näringsutskottet", "SkU": "Skatteutskottet",
    "SfU": "Socialförsäkringsutskottet", "SoU": "Socialutskottet", "TU": "Trafikutskottet",
    "UbU": "Utbildningsutskottet", "UU": "Utrikesutskottet", "EUN": "EU-nämnden",
}


def parse_responsible(dok: dict[str, Any]) -> str | None:
    """The committee or ministry responsible (`organ`: "AU", "CU", "Fi"), a committee by
    its name ("Arbetsmarknadsutskottet"), anything else as Riksdagen gives it."""
    organ = clean_text(dok.get("organ"))
    if not organ:
        return None
    return COMMITTEES.get(organ, organ)


def parse_subtype(dok: dict[str, Any]) -> str | None:
    """`subtyp`: "Enskild motion", "Kommittémotion", "prop", "bet" …"""
    return clean_text(dok.get("subtyp")) or None


def parse_authors(status: dict[str, Any]) -> list[str]:
    """`dokintressent`: the signatories, in their order, as "Name (Party)"."""
    people = [
        p for p in as_list((status.get("dokintressent") or {}).get("intressent"))
        if isinstance(p, dict) and clean_text(p.get("namn"))
    ]
    people.sort(key=lambda p: int(p.get("ordning") or 0) if str(p.get("ordning") or "0")
                .isdigit() else 0)
    out = []
    for person in people:
        name, party = clean_text(person.get("namn")), clean_text(person.get("partibet"))
        out.append(f"{name} ({party})" if party else name)
    return list(dict.fromkeys(out))


def parse_proposals(status: dict[str, Any]) -> list[str]:
    """What the document proposes: a motion's or proposition's `dokforslag` (the wording,
    `lydelse`), a committee's `dokutskottsforslag` ("rubrik: förslag")."""
    out = []
    for forslag in as_list((status.get("dokforslag") or {}).get("forslag")):
        if isinstance(forslag, dict):
            text = strip_html(forslag.get("lydelse"))
            if text:
                out.append(text)
    for punkt in as_list((status.get("dokutskottsforslag") or {}).get("utskottsforslag")):
        if isinstance(punkt, dict):
            text = strip_html((punkt.get("forslag") or "").replace("<BR/>", " "))
            heading = clean_text(punkt.get("rubrik"))
            if text:
                out.append(f"{heading}: {' '.join(text.split())}" if heading else text)
    return out


def reference_designation(ref: dict[str, Any]) -> str | None:
    """How a `dokreferens` entry's document is cited ("mot. 2022/23:1230",
    "bet. 2014/15:CU7"); None without a type, riksmöte or designation."""
    return parse_identifier({
        "doktyp": ref.get("ref_dok_typ"), "rm": ref.get("ref_dok_rm"),
        "beteckning": ref.get("ref_dok_bet"),
    })


def parse_references(status: dict[str, Any]) -> list[DocumentReference]:
    """`dokreferens`: the documents Riksdagen links this one to, with the relation
    ("behandlar", "behandlas_i", "protokollbeslut" …)."""
    out = []
    for ref in as_list((status.get("dokreferens") or {}).get("referens")):
        if not isinstance(ref, dict):
            continue
        designation = reference_designation(ref)
        if designation is None:
            continue
        dok_id = clean_text(ref.get("ref_dok_id"))
        out.append(DocumentReference(
            designation=designation,
            relation=clean_text(ref.get("referenstyp")),
            title=clean_text(ref.get("ref_dok_titel")),
            url=document_url(dok_id) if dok_id else None,
        ))
    return out


def parse_doc_type(dok: dict[str, Any]) -> str:
    return DOC_TYPES.get((dok.get("doktyp") or dok.get("typ") or "").lower(), "other")


def parse_identifier(dok: dict[str, Any]) -> str | None:
    """How the document is cited: riksmöte (or year) and designation, "bet. 2022/23:AU6"."""
    doktyp = (dok.get("doktyp") or dok.get("typ") or "").lower()
    rm = (dok.get("rm") or "").strip()
    beteckning = (dok.get("beteckning") or "").strip()
    if not rm or not beteckning:
        return None
    if doktyp == "sfs" and beteckning.startswith(f"{rm}:"):
        return f"SFS {beteckning}"
    return f"{IDENTIFIER_PREFIX.get(doktyp, doktyp)} {rm}:{beteckning}".strip()


def parse_published(dok: dict[str, Any]) -> date | None:
    """The document's own date (`datum`), else when it was put online (`publicerad`).

    `datum` comes first: for a betänkande `publicerad` is when the case page opened, months
    before the report itself (2022/23:AU6: publicerad 2022-11-21, datum 2023-02-17).
    """
    return parse_swedish_date(dok.get("datum")) or parse_swedish_date(dok.get("publicerad"))


def parse_summary(status: dict[str, Any], row: dict[str, Any]) -> str:
    """ "Beslut i korthet" (the `notis` uppgift) when Riksdagen wrote one, else the listing's."""
    for uppgift in as_list((status.get("dokuppgift") or {}).get("uppgift")):
        if isinstance(uppgift, dict) and uppgift.get("kod") == "notis":
            text = strip_html(uppgift.get("text"))
            if text:
                return text
    return strip_html(row.get("summary")) or strip_html(row.get("notis"))


def parse_text(dok: dict[str, Any]) -> str:
    """Main text of the `html` field (Aspose-converted Word, styles and all).

    trafilatura finds the body; when it finds nothing (very short or odd documents) the
    whole fragment's text is used instead. Capped: a few reports run to megabytes.
    """
    html = dok.get("html") or ""
    if not html.strip():
        return ""
    text = trafilatura.extract(html, include_tables=True, include_comments=False) or ""
    if not text.strip():
        text = lxml.html.fromstring(html).text_content()
    return clean_text(text)[:MAX_TEXT_CHARS]


def parse_attachments(status: dict[str, Any]) -> list[str]:
    """`fil_url` of each `dokbilaga.bilaga` (an object for one file, a list for several)."""
    bilagor = as_list((status.get("dokbilaga") or {}).get("bilaga"))
    return [b["fil_url"] for b in bilagor if isinstance(b, dict) and b.get("fil_url")]


class RiksdagenSpider(OmvarldSpider):
    """Documents from data.riksdagen.se, per `doktyp`, newest first, incrementally."""

    name = "riksdagen"

    def __init__(self, *args: Any, today: date | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = self.source.params
        self.doktyper: list[str] = [str(d) for d in params.get("doktyp", ["prop"])]
        self.page_size = int(params.get("page_size", 50))
        self.max_pages = int(params.get("max_pages", 20))
        self.first_crawl_days = int(params.get("first_crawl_days", 30))
        self.today = today or date.today()

    async def start(self) -> AsyncIterator[Request]:
        for request in self.listing_requests():
            yield request

    def from_date(self) -> date:
        """Where this crawl starts: a few days before the newest stored document, or
        `first_crawl_days` back when nothing of this source is stored yet."""
        newest = self.store.newest_published(self.source.id) if self.store else None
        if newest is None:
            return self.today - timedelta(days=self.first_crawl_days)
        return newest - timedelta(days=OVERLAP_DAYS)

    def listing_url(self, doktyp: str, from_date: date, page: int = 1) -> str:
        query = urlencode(
            {
                "doktyp": doktyp,
                "from": from_date.isoformat(),
                "sort": "datum",
                "sortorder": "desc",
                "utformat": "json",
                "sz": self.page_size,
                "p": page,
            }
        )
        return f"{self.base_url}/dokumentlista/?{query}"

    def listing_requests(self) -> Iterator[Request]:
        start = self.from_date()
        self.logger.info("listing %s from %s", ", ".join(self.doktyper), start)
        for doktyp in self.doktyper:
            yield self.request(
                self.listing_url(doktyp, start),
                self.parse_listing,
                cb_kwargs={"doktyp": doktyp, "page": 1},
            )

    def parse_listing(self, response: Response, doktyp: str, page: int) -> Iterator[Request]:
        data = self.load_json(response)
        if data is None:
            return
        listing = data.get("dokumentlista") if isinstance(data, dict) else None
        if not isinstance(listing, dict):
            raise LayoutChanged(f"no `dokumentlista` object in {response.url}")
        rows = parse_listing_rows(listing)
        self.check_rows(
            rows, expected=parse_hit_count(listing) > 0, url=response.url, what="`dokument` rows"
        )
        known = self.known_versions(document_url(r["dok_id"]) for r in rows if r.get("dok_id"))
        new_rows = 0
        for row in rows:
            request = self.detail_request(row, known, response.url)
            if request is not None:
                new_rows += 1
                yield request
        yield from self.next_page(
            listing, doktyp, page, all_known=bool(rows) and not new_rows, url=response.url
        )

    def detail_request(
        self, row: dict[str, Any], known: dict[str, tuple[str, str | None]], listing_url: str
    ) -> Request | None:
        """The dokumentstatus request for a new or changed row; None for the others."""
        dok_id = (row.get("dok_id") or "").strip()
        if not dok_id:
            self.skip(listing_url, "listing row without dok_id")
            return None
        url = document_url(dok_id)
        if self.is_known(url, row.get("systemdatum"), known):
            self.skip_unchanged(url, f"stored, systemdatum {row.get('systemdatum')} unchanged")
            return None
        return self.request(
            f"{self.base_url}/dokumentstatus/{quote(dok_id)}.json",
            self.parse_document,
            cb_kwargs={"row": row},
        )

    def next_page(
        self, listing: dict[str, Any], doktyp: str, page: int, *, all_known: bool, url: str
    ) -> Iterator[Request]:
        next_url = listing.get("@nasta_sida")
        if not next_url:
            return
        if all_known:
            self.skip(next_url, f"{doktyp}: page {page} held only stored documents")
        elif page >= self.max_pages:
            self.logger.warning(
                "%s: max_pages (%d) reached at %s; older documents left",
                doktyp,
                self.max_pages,
                url,
            )
        else:
            yield self.request(
                self.local_url(next_url),
                self.parse_listing,
                cb_kwargs={"doktyp": doktyp, "page": page + 1},
            )

    def parse_document(self, response: Response, row: dict[str, Any]) -> Iterator[Document]:
        url = document_url(row["dok_id"])
        data = self.load_json(response, public_url=url)
        if data is None:
            return
        status = data.get("dokumentstatus") if isinstance(data, dict) else None
        dok = status.get("dokument") if isinstance(status, dict) else None
        if not isinstance(dok, dict):
            self.record_failure(url, f"no `dokumentstatus.dokument` in {response.url}")
            return
        doc = self.build_document(
            url,
            title=parse_title(dok) or clean_text(row.get("titel")),
            doc_type=parse_doc_type(dok),
            identifier=parse_identifier(dok),
            published=parse_published(dok) or parse_published(row),
            summary=parse_summary(status, row),
            text=parse_text(dok),
            attachments=parse_attachments(status),
            # The listing's systemdatum: the value the next crawl compares its rows with.
            source_version=row.get("systemdatum") or dok.get("systemdatum"),
            subtitle=parse_subtitle(dok),
            subtype=parse_subtype(dok),
            responsible=parse_responsible(dok),
            authors=parse_authors(status),
            proposals=parse_proposals(status),
            references=parse_references(status),
        )
        if doc is not None:
            yield doc
