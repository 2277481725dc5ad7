"""The one domain model every stage speaks: spiders produce `Document`s, the store keeps
them, the classifier attaches `Label`s with `Evidence`, the digest reads them back."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Level = Literal["eu", "national", "regional", "local"]
LEVELS: tuple[str, ...] = ("eu", "national", "regional", "local")

DocType = Literal[
    "proposition",
    "legislative_proposal",
    "sou",
    "ds",
    "directive",
    "committee_report",
    "motion",
    "remiss",
    "consultation",
    "decision",
    "law",
    "report",
    "press_release",
    "news",
    "other",
]

# How much a type weighs in the digest's ranking and how it reads to a person.
DOC_TYPE_NAMES_SV: dict[str, str] = {
    "proposition": "Proposition",
    "legislative_proposal": "Lagförslag (EU)",
    "sou": "SOU",
    "ds": "Ds/promemoria",
    "directive": "Kommittédirektiv",
    "committee_report": "Betänkande",
    "motion": "Motion",
    "remiss": "Remiss",
    "consultation": "Samråd",
    "decision": "Beslut",
    "law": "Författning",
    "report": "Rapport",
    "press_release": "Pressmeddelande",
    "news": "Nyhet",
    "other": "Övrigt",
}

LEVEL_NAMES_SV: dict[str, str] = {
    "eu": "EU",
    "national": "Nationell",
    "regional": "Regional",
    "local": "Lokal",
}

_WS = re.compile(r"[ \t\u00a0\u200b]+")


def clean_text(value: str | None) -> str:
    """Collapse runs of spaces, keep paragraph breaks, strip the ends."""
    if not value:
        return ""
    lines = [_WS.sub(" ", line).strip() for line in value.replace("\r", "\n").split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class DocumentReference(BaseModel):
    """A document the source itself says this one is linked to (Riksdagen's `dokreferens`,
    CELLAR's procedure): its designation as cited ("bet. 2014/15:CU7", "2018/0172(COD)"),
    the relation the source names ("behandlas_i", "procedure"), and its title and URL
    where given. Stored as references, so that matters link through them."""

    model_config = ConfigDict(extra="forbid")

    designation: str
    relation: str = ""
    title: str = ""
    url: str | None = None


class Document(BaseModel):
    """A published document, identified by its canonical URL; `content_hash` tells a
    changed document from an unchanged one on re-crawl."""

    model_config = ConfigDict(extra="forbid")

    url: str
    source: str
    publisher: str
    level: Level
    doc_type: DocType = "other"
    title: str
    summary: str = ""
    text: str = ""
    language: str = "und"
    identifier: str | None = None
    published: date | None = None
    deadline: date | None = None
    attachments: list[str] = Field(default_factory=list)
    source_version: str | None = None
    fetched: datetime | None = None
    # What the source says beside the text. Not part of `content_hash`: a re-crawl that
    # only adds metadata stores it without making the document "changed".
    subtitle: str = ""
    subtype: str | None = None
    responsible: str | None = None
    authors: list[str] = Field(default_factory=list)
    diarienummer: str | None = None
    proposals: list[str] = Field(default_factory=list)
    references: list[DocumentReference] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("URL must start with http:// or https://")
        return value

    @field_validator("title")
    @classmethod
    def _non_empty_title(cls, value: str) -> str:
        value = clean_text(value)
        if not value:
            raise ValueError("title is empty")
        return value

    @property
    def content_hash(self) -> str:
        """Hash of what a reader sees; metadata such as fetch time does not count."""
        parts = [
            self.title,
            self.summary,
            self.text,
            self.identifier or "",
            self.published.isoformat() if self.published else "",
            self.deadline.isoformat() if self.deadline else "",
            "\n".join(self.attachments),
        ]
        return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


class Evidence(BaseModel):
    """Why a document got (or nearly got) an area: a strategist must be able to check it."""

    model_config = ConfigDict(extra="forbid")

    terms: list[str] = Field(default_factory=list)
    sentence: str | None = None
    similarity: float | None = None
    margin: float | None = None


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area: str
    score: float
    threshold: float
    evidence: Evidence
    model_version: str

    @property
    def accepted(self) -> bool:
        return self.score >= self.threshold


class Stakeholder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    aliases: list[str] = Field(default_factory=list)


class Feedback(BaseModel):
    """An analyst's correction of a label: used by training."""

    model_config = ConfigDict(extra="forbid")

    document_url: str
    area: str
    action: Literal["add", "remove"]
    comment: str = ""
    author: str
    created: datetime


# The error a crawl that read none of its listings starts with (`omvarld.crawl.base`);
# health calls such a source broken when it used to return documents.
NO_LISTING = "no listing could be read"


class CrawlReport(BaseModel):
    """What one crawl of one source did; stored as a crawl run and shown by `omvarld sources`."""

    model_config = ConfigDict(extra="forbid")

    source: str
    started: datetime
    finished: datetime | None = None
    # partial: finished, but documents or listings were lost (named in `errors`)
    status: Literal["running", "ok", "partial", "failed"] = "running"
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = Field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.new + self.updated + self.unchanged


class DigestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: int
    title: str
    url: str
    publisher: str
    level: str
    doc_type: str
    published: date | None
    language: str
    summary: str
    score: float
    terms: list[str]
    sentence: str | None
    deadline: date | None = None


class Digest(BaseModel):
    """One ISO week's digest, as built before rendering."""

    model_config = ConfigDict(extra="forbid")

    week: str
    start: date
    end: date
    generated: datetime
    areas: dict[str, list[DigestEntry]]
    more: dict[str, int]
    consultations: list[DigestEntry]
    documents_in_week: int


@dataclass
class LabelledDoc:
    """A document with the focus areas a reader gave it: evaluation and training data."""

    id: str
    title: str
    text: str
    labels: list[str]
    language: str | None = None
