"""The JSON API under `/api`: the same search, documents and corrections as the pages,
with pydantic response models so that `/openapi.json` documents every field."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from omvarld.search.query import Hit, SearchResult
from omvarld.web import queries
from omvarld.web.auth import Principal, post_allowed
from omvarld.web.deps import context, principal
from omvarld.web.pages import document_view, validate_correction
from omvarld.web.params import DocId, SearchParams, search_params, to_query

router = APIRouter(tags=["omvarld"])


class EvidenceOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    terms: list[str] = []
    sentence: str | None = None
    similarity: float | None = None
    margin: float | None = None


class LabelOut(BaseModel):
    area: str
    area_name: str
    score: float
    threshold: float
    accepted: bool = Field(description="score ≥ threshold: the document is in this area")
    evidence: EvidenceOut
    model_version: str


class StakeholderOut(BaseModel):
    name: str
    kind: str
    count: int = Field(description="How many times the document names it")


class ReferenceOut(BaseModel):
    key: str
    kind: str
    is_own: bool = Field(description="The document's own designation (else one it cites)")


class RelatedOut(BaseModel):
    id: int
    title: str
    publisher: str
    source: str
    published: date | None
    url: str


class CorrectionOut(BaseModel):
    area: str
    action: Literal["add", "remove"]
    comment: str
    author: str
    created: datetime


class DocumentOut(BaseModel):
    id: int
    url: str
    title: str
    publisher: str
    source: str
    level: str
    doc_type: str
    language: str
    identifier: str | None
    diarienummer: str | None = None
    subtitle: str = ""
    subtype: str | None = None
    responsible: str | None = Field(None, description="The responsible ministry or committee")
    authors: list[str] = Field(default_factory=list)
    proposals: list[str] = Field(default_factory=list)
    source_references: list[dict] = Field(
        default_factory=list, description="References the source lists itself: designation, "
        "relation, title, url (Riksdagen's dokreferens, CELLAR's procedure)")
    published: date | None
    deadline: date | None
    first_seen: datetime
    summary: str
    text: str
    attachments: list[str]
    labels: list[LabelOut]
    stakeholders: list[StakeholderOut]
    references: list[ReferenceOut]
    story: list[RelatedOut] = Field(description="The same news from other publishers")
    corrections: list[CorrectionOut] = Field(description="Analysts' corrections, newest first")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    area: str = Field(description="Focus-area id")
    action: Literal["add", "remove"]
    comment: str = Field(default="", max_length=4000)
    author: str | None = Field(default=None, max_length=128,
                               description="Required unless authenticated as a named user")


class AreaOut(BaseModel):
    id: str
    name: str
    names: dict[str, str]
    documents: int = Field(description="Documents with this area accepted")


class DigestOut(BaseModel):
    week: str
    created: datetime
    entries: int
    html_url: str | None
    markdown_url: str | None


class WeekOut(BaseModel):
    week: str
    monday: date
    documents: int
    areas: dict[str, int]


class Problem(BaseModel):
    detail: str


@router.get("/search", response_model=SearchResult)
def api_search(request: Request, params: Annotated[SearchParams, Depends(search_params)],
               response: Response) -> SearchResult:
    """Search with the same parameters as the search page. Problems with the parameters
    (a wrong date, say) are reported in `message` and the header `X-Query-Problems`."""
    query, problems = to_query(params)
    result = context(request).search(query)
    if problems:
        response.headers["X-Query-Problems"] = str(len(problems))
        note = " ".join(problems)
        result = result.model_copy(update={"message": f"{result.message} {note}".strip()
                                           if result.message else note})
    return result


def _document_out(request: Request, doc_id: int) -> DocumentOut:
    ctx = context(request)
    view = document_view(ctx, doc_id)
    doc = view["doc"]
    return DocumentOut(
        id=doc.id, url=doc.url, title=doc.title, publisher=doc.publisher, source=doc.source,
        level=doc.level, doc_type=doc.doc_type, language=doc.language,
        identifier=doc.identifier, diarienummer=doc.diarienummer,
        subtitle=doc.subtitle or "", subtype=doc.subtype, responsible=doc.responsible,
        authors=list(doc.authors or []), proposals=list(doc.proposals or []),
        source_references=list(doc.doc_references or []),
        published=doc.published, deadline=doc.deadline,
        first_seen=doc.first_seen, summary=doc.summary or "", text=doc.text or "",
        attachments=list(doc.attachments or []),
        labels=[LabelOut(area=lb.area, area_name=ctx.area_name(lb.area), score=lb.score,
                         threshold=lb.threshold, accepted=lb.accepted,
                         evidence=EvidenceOut.model_validate(lb.evidence or {}),
                         model_version=lb.model_version) for lb in view["labels"]],
        stakeholders=[StakeholderOut(name=n, kind=k, count=c) for n, k, c in view["stakeholders"]],
        references=[ReferenceOut(key=k, kind=kd, is_own=o) for k, kd, o in view["references"]],
        story=[RelatedOut(id=r.id, title=r.title, publisher=r.publisher, source=r.source,
                          published=r.published, url=r.url) for r in view["story"]],
        corrections=[CorrectionOut(**c.__dict__) for c in view["corrections"]],
    )


@router.get("/documents/{doc_id}", response_model=DocumentOut,
            responses={404: {"model": Problem}})
def api_document(request: Request, doc_id: DocId) -> DocumentOut:
    """One document with its labels (score, threshold, evidence), stakeholders,
    references, the other publishers of its story and its corrections."""
    return _document_out(request, doc_id)


@router.get("/documents/{doc_id}/similar", response_model=list[Hit],
            responses={404: {"model": Problem}})
def api_similar(request: Request, doc_id: DocId,
                k: Annotated[int, Query(ge=1, le=50)] = 5) -> list[Any]:
    """The documents closest in meaning to this one."""
    from omvarld.search.query import similar

    ctx = context(request)
    if ctx.store.document(doc_id) is None:
        raise HTTPException(404, f"no document {doc_id}")
    return similar(ctx.store, doc_id, k=k, encoder=ctx.encoder())


@router.post("/documents/{doc_id}/corrections", response_model=CorrectionOut,
             status_code=201, responses={404: {"model": Problem}, 422: {"model": Problem}})
def api_correct(request: Request, doc_id: DocId, body: CorrectionIn,
                who: Annotated[Principal, Depends(principal)]) -> CorrectionOut:
    """Record an analyst's correction: add or remove a focus area, with a comment. The
    author is the authenticated user, else `author`. It takes effect at once (the
    document's labels, search and the next digest show it) and feeds the next training."""
    ctx = context(request)
    if not post_allowed(request):
        raise HTTPException(403, "posted from another site: send a matching Origin, the "
                                 "X-CSRF-Token of the page, or a bearer token")
    if ctx.store.document(doc_id) is None:
        raise HTTPException(404, f"no document {doc_id}")
    author = who.name or (body.author or "").strip()
    problem = validate_correction(ctx, body.area, body.action, body.comment, author)
    if problem:
        raise HTTPException(422, problem)
    ctx.store.add_feedback(doc_id, body.area, body.action, author, body.comment.strip())
    newest = queries.corrections_of(ctx.store, doc_id)[0]
    return CorrectionOut(**newest.__dict__)


@router.get("/areas", response_model=list[AreaOut])
def api_areas(request: Request) -> list[AreaOut]:
    """The focus areas, with how many documents each holds."""
    ctx = context(request)
    counts = queries.area_counts(ctx.store)
    return [AreaOut(id=a.id, name=a.name("sv"), names=a.names, documents=counts.get(a.id, 0))
            for a in ctx.areas.areas]


@router.get("/digests", response_model=list[DigestOut])
def api_digests(request: Request) -> list[DigestOut]:
    """The digests written so far, newest week first."""
    out = []
    for row in queries.digests(context(request).store):
        paths = row.paths or {}
        out.append(DigestOut(
            week=row.week, created=row.created, entries=row.entries,
            html_url=f"/digests/{row.week}.html" if paths.get("html") else None,
            markdown_url=f"/digests/{row.week}.md" if paths.get("markdown") else None))
    return out


@router.get("/stats/weekly", response_model=list[WeekOut])
def api_weekly(
    request: Request,
    weeks: Annotated[int, Query(ge=1, le=260, description="How many weeks")] = 26,
    until: Annotated[date | None, Query(
        ge=queries.FIRST_DAY, le=queries.LAST_DAY,
        description="Last day of the window (default today), 1900-01-01 to 2999-12-31")
    ] = None,
    basis: Annotated[Literal["published", "first_seen"], Query(
        description="Date a document by its publication date or by when it was found")
    ] = "published",
) -> list[WeekOut]:
    """Documents per focus area per ISO week, oldest week first."""
    rows = queries.weekly_counts(context(request).store, weeks, until=until, basis=basis)
    return [WeekOut(week=r.week, monday=r.monday, documents=r.documents, areas=r.areas)
            for r in rows]
