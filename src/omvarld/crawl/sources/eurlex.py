"""EUR-Lex through CELLAR, the Publications Office's repository: new legislative proposals
and adopted acts, without EUR-Lex's web pages (which sit behind a firewall that refuses
automated clients, shared/SOURCES.md §1.1).

Two steps per crawl:

1. **SPARQL listing.** `GET /webapi/rdf/sparql?query=…&format=application/sparql-results+json`
   asks for works of the configured resource types (`PROP_REG`, `PROP_DIR`, … — the
   `cdm:work_has_resource-type` authority codes) whose `cdm:work_date_document` is on or after
   the crawl's start date, newest first, `LIMIT`/`OFFSET` paged, with their English and
   Swedish expression titles. The answer is SPARQL JSON: `head.vars`, `results.bindings`,
   each binding `{"type": "uri" | "literal" | "typed-literal", "value": …}`.
2. **Notice per new work.** `GET /resource/celex/{CELEX}?language=eng` with
   `Accept: application/xml;notice=branch` returns the work's XML notice (`<NOTICE
   type="branch">`): the expression title and subtitle ("COM/2018/340 final - 2018/0172
   (COD)"), `WORK_DATE_DOCUMENT`, the authoring service, EuroVoc subjects and directory
   codes. The subjects and the authoring DG are the words the classifier needs: a proposal's
   title alone rarely says "housing" or "labour market". An object notice (`type="object"`,
   fewer fields) is read the same way, the listing filling what it lacks.

A document is stored under its EUR-Lex page (`/legal-content/SV/TXT/?uri=CELEX:…`, Swedish
by default: the page falls back to English until the translation exists), with the Swedish
title when CELLAR has one. Works are looked up in the store per listing page, so a weekly
crawl costs one SPARQL request plus one notice per new work.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from lxml import etree
from scrapy import Request
from scrapy.http import Response

from omvarld.core.model import Document, DocumentReference, clean_text
from omvarld.crawl.base import LayoutChanged, OmvarldSpider
from omvarld.crawl.dates import parse_date
from omvarld.crawl.pipelines import canonical_url

EURLEX_PAGE = "https://eur-lex.europa.eu/legal-content/{lang}/TXT/?uri=CELEX:{celex}"
EURLEX_PDF = "https://eur-lex.europa.eu/legal-content/{lang}/TXT/PDF/?uri=CELEX:{celex}"
EURLEX_PROCEDURE = "https://eur-lex.europa.eu/procedure/EN/{year}_{number}"
RESOURCE_TYPE = "http://publications.europa.eu/resource/authority/resource-type/"
LANGUAGE = "http://publications.europa.eu/resource/authority/language/"
SPARQL_JSON = "application/sparql-results+json"
NOTICE_ACCEPT = "application/xml;notice=branch"
MAX_RESPONSE_BYTES = 12 * 1024 * 1024  # branch notices of cited-heavy works reach ~1 MB
OVERLAP_DAYS = 7  # CELLAR indexes works some days after their document date
_CELEX = re.compile(r"^[0-9CE][0-9]{4}[A-Z]{1,2}[0-9A-Z()_]+$")

# Resource types (authority codes) → document type.
DOC_TYPES: dict[str, str] = {
    "PROP_REG": "legislative_proposal",
    "PROP_DIR": "legislative_proposal",
    "PROP_DEC": "legislative_proposal",
    "REG": "law",
    "DIR": "law",
    "DEC": "law",
    "REG_IMPL": "law",
    "REG_DEL": "law",
    "DIR_IMPL": "law",
    "DIR_DEL": "law",
}


def binding_value(binding: dict[str, Any], name: str) -> str:
    """The `value` of one variable of a SPARQL JSON binding; "" when unbound."""
    cell = binding.get(name)
    return str(cell.get("value") or "").strip() if isinstance(cell, dict) else ""


def sparql_rows(data: Any) -> list[dict[str, str]] | None:
    """The bindings of a SPARQL JSON answer as plain dicts; None when the shape is wrong."""
    if not isinstance(data, dict):
        return None
    head, results = data.get("head"), data.get("results")
    if not isinstance(head, dict) or not isinstance(results, dict):
        return None
    variables = head.get("vars")
    bindings = results.get("bindings")
    if not isinstance(variables, list) or not isinstance(bindings, list):
        return None
    return [
        {name: binding_value(b, name) for name in variables}
        for b in bindings
        if isinstance(b, dict)
    ]


def page_url(celex: str, lang: str) -> str:
    return canonical_url(EURLEX_PAGE.format(lang=lang.upper(), celex=celex))


def pdf_url(celex: str, lang: str) -> str:
    return canonical_url(EURLEX_PDF.format(lang=lang.upper(), celex=celex))


def resource_type(value: str) -> str:
    """`…/resource-type/PROP_DIR` → `PROP_DIR`."""
    return value.rstrip("/").rsplit("/", 1)[-1]


def _values(node: etree._Element, path: str) -> list[str]:
    return [clean_text(v) for v in node.xpath(path) if clean_text(v)]


class Notice:
    """What the omvarld document needs from a CELLAR XML notice (branch or object)."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        self.work = root.find("WORK")
        if self.work is None:
            raise ValueError("no WORK element")
        self.expression = root.find("EXPRESSION")

    @classmethod
    def parse(cls, body: bytes) -> Notice:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        root = etree.fromstring(body, parser=parser)
        if root.tag != "NOTICE":
            raise ValueError(f"root element is <{root.tag}>, not <NOTICE>")
        return cls(root)

    @property
    def kind(self) -> str:
        return self.root.get("type") or ""

    def title(self) -> str:
        if self.expression is None:
            return ""
        found = _values(self.expression, "EXPRESSION_TITLE/VALUE/text()")
        return found[0] if found else ""

    def subtitle(self) -> str:
        if self.expression is None:
            return ""
        found = _values(self.expression, "EXPRESSION_SUBTITLE/VALUE/text()")
        return found[0] if found else ""

    def date(self) -> date | None:
        for value in _values(self.work, "WORK_DATE_DOCUMENT/VALUE/text()"):
            found = parse_date(value)
            if found:
                return found
        return None

    def authors(self) -> list[str]:
        return list(dict.fromkeys(_values(self.work, "WORK_CREATED_BY_AGENT/PREFLABEL/text()")))

    def subjects(self) -> list[str]:
        """EuroVoc subject labels: the concept facet (branch) or `IS_ABOUT` (object)."""
        labels = _values(
            self.work,
            "WORK_IS_ABOUT_CONCEPT_EUROVOC/WORK_IS_ABOUT_CONCEPT_EUROVOC_CONCEPT/PREFLABEL/text()"
            " | IS_ABOUT/PREFLABEL/text()",
        )
        return list(dict.fromkeys(labels))

    def directory(self) -> list[str]:
        """Directory-of-legislation headings ("Environment", "Reintroduction of …")."""
        labels = _values(
            self.work,
            ".//*[starts-with(local-name(), 'RESOURCE_LEGAL_IS_ABOUT_CONCEPT_DIRECTORY')]"
            "/PREFLABEL/text()",
        )
        return list(dict.fromkeys(labels))

    def version(self) -> str | None:
        found = _values(self.work, "LASTMODIFICATIONDATE/VALUE/text() | VERSION/VALUE/text()")
        return found[0] if found else None


def parse_identifier(notice: Notice, celex: str) -> str:
    """How the act is cited: the subtitle's first part ("COM/2018/340 final"), else CELEX."""
    head = notice.subtitle().split(" - ")[0].strip()
    return head or f"CELEX {celex}"


def parse_procedure(notice: Notice) -> str | None:
    """The interinstitutional procedure in the subtitle: "2018/0172 (COD)"."""
    found = re.search(r"\b\d{4}/\d{4}\s*\([A-Z]{3}\)", notice.subtitle())
    return found.group(0) if found else None


def parse_procedures(notice: Notice) -> list[str]:
    """The interinstitutional procedures the work is part of, as cited ("2018/0172(COD)"):
    `WORK_PART_OF_DOSSIER`'s reference ("2018/0172/COD"), else the subtitle's."""
    found = notice.work.xpath(
        "WORK_PART_OF_DOSSIER//PROCEDURE_CODE_INTERINSTITUTIONAL_REFERENCE_PROCEDURE"
        "/VALUE/text()")
    out = []
    for value in found:
        m = re.fullmatch(r"\s*(\d{4})/(\d{4})/([A-Z]{3})\s*", value)
        if m:
            out.append(f"{m.group(1)}/{m.group(2)}({m.group(3)})")
    if not out:
        subtitle = parse_procedure(notice)
        if subtitle:
            out.append(re.sub(r"\s+", "", subtitle))
    return list(dict.fromkeys(out))


def parse_references(notice: Notice) -> list[DocumentReference]:
    """CELLAR's procedure links as structured references, with EUR-Lex's procedure page."""
    refs = []
    for designation in parse_procedures(notice):
        year, number = designation[:4], int(designation[5:9])
        refs.append(DocumentReference(
            designation=designation, relation="procedure",
            url=EURLEX_PROCEDURE.format(year=year, number=number)))
    return refs


def parse_responsible(notice: Notice) -> str | None:
    """The authoring service ("Directorate-General for Environment"), else the first
    author ("European Commission")."""
    authors = notice.authors()
    services = [a for a in authors if a != "European Commission"]
    return (services or authors or [None])[0]


def parse_summary(notice: Notice, doc_type: str, identifier: str) -> str:
    kind = {"legislative_proposal": "Lagförslag", "law": "Rättsakt"}.get(doc_type, "Dokument")
    parts = [kind, identifier]
    procedure = parse_procedure(notice)
    if procedure and procedure not in identifier:
        parts.append(f"förfarande {procedure}")
    authors = [a for a in notice.authors() if a != "European Commission"]
    parts += authors[:2]
    return " · ".join(parts)


def parse_text(notice: Notice, title: str) -> str:
    """The English title, EuroVoc subjects and directory headings: what the notice says the
    act is about, in words the classifier's vocabulary has."""
    english = notice.title()
    parts = [english] if english and english != title else []
    subjects = notice.subjects()
    if subjects:
        parts.append("Subjects (EuroVoc): " + "; ".join(subjects))
    directory = notice.directory()
    if directory:
        parts.append("Directory of legislation: " + "; ".join(directory))
    authors = notice.authors()
    if authors:
        parts.append("Author: " + "; ".join(authors))
    return "\n\n".join(parts)


class EurlexSpider(OmvarldSpider):
    """New legislative proposals and acts from CELLAR: SPARQL listing, notice per work."""

    name = "eurlex"
    custom_settings: ClassVar[dict[str, Any]] = {
        "DOWNLOAD_MAXSIZE": MAX_RESPONSE_BYTES,
        "DOWNLOAD_WARNSIZE": 0,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        params = self.source.params
        self.resource_types = [
            str(t) for t in params.get("resource_types", ["PROP_REG", "PROP_DIR", "REG", "DIR"])
        ]
        self.page_size = int(params.get("page_size", 50))
        self.max_pages = int(params.get("max_pages", 10))
        self.first_crawl_days = int(params.get("first_crawl_days", 30))
        self.page_language = str(params.get("page_language", "sv"))
        self.notice_language = str(params.get("notice_language", "eng"))

    async def start(self) -> AsyncIterator[Request]:
        yield self.listing_request(self.from_date(), 1)

    def from_date(self) -> date:
        """A week before the newest stored work, or `first_crawl_days` back at first."""
        newest = self.store.newest_published(self.source.id) if self.store else None
        if newest is None:
            return self.today - timedelta(days=self.first_crawl_days)
        return newest - timedelta(days=OVERLAP_DAYS)

    def query(self, since: date, page: int) -> str:
        """The SPARQL listing: works of the configured types since `since`, newest first."""
        types = ", ".join(f"<{RESOURCE_TYPE}{t}>" for t in self.resource_types)
        return (
            "PREFIX cdm: <http://publications.europa.eu/ontology/cdm#>\n"
            "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
            "SELECT DISTINCT ?work ?celex ?date ?type ?title_en ?title_sv WHERE {\n"
            "  ?work cdm:work_has_resource-type ?type ;\n"
            "        cdm:resource_legal_id_celex ?celex ;\n"
            "        cdm:work_date_document ?date .\n"
            f"  FILTER(?type IN ({types}))\n"
            f'  FILTER(?date >= "{since.isoformat()}"^^xsd:date)\n'
            "  OPTIONAL { ?en cdm:expression_belongs_to_work ?work ;\n"
            f"      cdm:expression_uses_language <{LANGUAGE}ENG> ;\n"
            "      cdm:expression_title ?title_en . }\n"
            "  OPTIONAL { ?sv cdm:expression_belongs_to_work ?work ;\n"
            f"      cdm:expression_uses_language <{LANGUAGE}SWE> ;\n"
            "      cdm:expression_title ?title_sv . }\n"
            "}\n"
            f"ORDER BY DESC(?date) ?celex LIMIT {self.page_size} "
            f"OFFSET {(page - 1) * self.page_size}"
        )

    def listing_request(self, since: date, page: int) -> Request:
        query = urlencode({"query": self.query(since, page), "format": SPARQL_JSON})
        request = self.request(
            f"{self.base_url}/webapi/rdf/sparql?{query}",
            self.parse_listing,
            cb_kwargs={"since": since, "page": page},
        )
        return request.replace(headers={"Accept": SPARQL_JSON})

    def notice_request(self, row: dict[str, str]) -> Request:
        query = urlencode({"language": self.notice_language})
        request = self.request(
            f"{self.base_url}/resource/celex/{quote(row['celex'])}?{query}",
            self.parse_notice,
            cb_kwargs={"row": row},
        )
        return request.replace(headers={"Accept": NOTICE_ACCEPT})

    def parse_listing(self, response: Response, since: date, page: int) -> Iterator[Request]:
        data = self.load_json(response)
        if data is None:  # counted once, by load_json, with what came instead
            return
        rows = sparql_rows(data)
        if rows is None:
            raise LayoutChanged(f"no SPARQL JSON `head.vars`/`results.bindings` in {response.url}")
        works = [r for r in rows if _CELEX.match(r.get("celex", ""))]
        if len(works) < len(rows):
            self.skip(response.url, f"{len(rows) - len(works)} binding(s) without a CELEX number")
        # A SPARQL answer with no rows is legitimate (no new acts this week), unless the
        # store holds documents of the source and the rows were unusable.
        self.check_rows(works, expected=bool(rows), url=response.url, what="works with a CELEX")
        # One row per work: a work with several titles in a language comes back twice.
        by_celex = {r["celex"]: r for r in reversed(works)}
        unique = [by_celex[c] for c in dict.fromkeys(r["celex"] for r in works)]
        known = self.known_versions(page_url(r["celex"], self.page_language) for r in unique)
        fresh = 0
        for row in unique:
            url = page_url(row["celex"], self.page_language)
            if self.is_known(url, None, known):
                self.skip_unchanged(url, "stored already")
                continue
            fresh += 1
            yield self.notice_request(row)
        if len(rows) < self.page_size:
            return
        if not fresh:
            self.skip(response.url, f"page {page} held only stored works")
        elif page >= self.max_pages:
            self.logger.warning("max_pages (%d) reached; older works left", self.max_pages)
        else:
            yield self.listing_request(since, page + 1)

    def parse_notice(self, response: Response, row: dict[str, str]) -> Iterator[Document]:
        celex = row["celex"]
        url = page_url(celex, self.page_language)
        try:
            notice = Notice.parse(response.body)
        except (etree.XMLSyntaxError, ValueError) as exc:
            self.record_failure(
                url,
                f"unreadable CELLAR notice ({exc}) from {response.url}, "
                f"{len(response.body)} bytes — truncated, or not a notice?",
            )
            return
        doc_type = DOC_TYPES.get(resource_type(row.get("type", "")), "other")
        title = row.get("title_sv") or notice.title() or row.get("title_en") or ""
        identifier = parse_identifier(notice, celex)
        published = self.checked_date(url, notice.date() or parse_date(row.get("date")))
        doc = self.build_document(
            url,
            title=title,
            doc_type=doc_type,
            identifier=identifier,
            published=published,
            summary=parse_summary(notice, doc_type, identifier),
            text=parse_text(notice, title),
            attachments=[pdf_url(celex, self.page_language)],
            source_version=notice.version(),
            subtitle=notice.subtitle(),
            responsible=parse_responsible(notice),
            authors=notice.authors(),
            references=parse_references(notice),
        )
        if doc is not None:
            yield doc
