"""The store's tables (SQLAlchemy 2). Portable SQL only: everything SQLite-specific lives
in `omvarld.store.sqlite`, so the same tables run on PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class DocumentRow(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    publisher: Mapped[str] = mapped_column(String(256))
    level: Mapped[str] = mapped_column(String(16), index=True)
    doc_type: Mapped[str] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    identifier: Mapped[str | None] = mapped_column(String(128))
    published: Mapped[date | None] = mapped_column(Date, index=True)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    attachments: Mapped[list[str]] = mapped_column(JSON, default=list)
    source_version: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(DateTime, index=True)
    fetched: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime | None] = mapped_column(DateTime)
    # Hash of the content the current labels were computed from; differs from
    # content_hash when the document changed and must be classified again.
    classified_hash: Mapped[str | None] = mapped_column(String(64))
    # Id of the oldest document of this one's near-duplicate group (the same news from
    # several publishers); its own id when it has none; NULL until linked.
    story_id: Mapped[int | None] = mapped_column(Integer, index=True)
    # What the source says of the document beside its text (migration 0007): the
    # subtitle, Riksdagen's subtype, the responsible ministry or committee, the authors
    # ("Monica Haider (S)"), the diarienummer beside the designation, proposals, and the
    # references the source lists itself ([{designation, relation, title, url}]).
    subtitle: Mapped[str | None] = mapped_column(Text)
    subtype: Mapped[str | None] = mapped_column(String(64))
    responsible: Mapped[str | None] = mapped_column(String(256), index=True)
    authors: Mapped[list[str] | None] = mapped_column(JSON)
    diarienummer: Mapped[str | None] = mapped_column(String(64), index=True)
    proposals: Mapped[list[str] | None] = mapped_column(JSON)
    doc_references: Mapped[list[dict] | None] = mapped_column(JSON)
    # The content hash the story was decided for: differs from classified_hash while the
    # document waits for the link stage (a run killed after its labels leaves it so).
    linked_hash: Mapped[str | None] = mapped_column(String(64))

    labels: Mapped[list[LabelRow]] = relationship(
        back_populates="document", cascade="all, delete-orphan"
    )


class LabelRow(Base):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("document_id", "area"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    area: Mapped[str] = mapped_column(String(64), index=True)
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    accepted: Mapped[bool] = mapped_column(default=False, index=True)
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    model_version: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(DateTime)

    document: Mapped[DocumentRow] = relationship(back_populates="labels")


class EmbeddingRow(Base):
    __tablename__ = "embeddings"

    content_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    model_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)


class CrawlRunRow(Base):
    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_runs_source_started", "source", "started"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    started: Mapped[datetime] = mapped_column(DateTime)
    finished: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    new: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)


class DigestRow(Base):
    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), unique=True)
    created: Mapped[datetime] = mapped_column(DateTime)
    content_hash: Mapped[str] = mapped_column(String(64))
    paths: Mapped[dict] = mapped_column(JSON, default=dict)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)


class FeedbackRow(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    area: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(DateTime)


class DocumentStakeholderRow(Base):
    """An organisation named in a document (canonical name), and how many times."""

    __tablename__ = "document_stakeholders"
    __table_args__ = (UniqueConstraint("document_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(256), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=1)


class DocumentReferenceRow(Base):
    """A designation a document cites, or its own (`is_own`), as a normalised key:
    documents sharing a key belong to one matter."""

    __tablename__ = "document_references"
    __table_args__ = (UniqueConstraint("document_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    is_own: Mapped[bool] = mapped_column(Boolean, default=False)


# -- digest delivery (omvarld.digest_delivery; migration 0003) ------------------------------


class DigestSendRow(Base):
    """One digest of one week handed to one recipient: what makes a second send of the
    same week a no-op unless forced."""

    __tablename__ = "digest_sends"
    __table_args__ = (UniqueConstraint("week", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[str] = mapped_column(String(10), index=True)
    recipient: Mapped[str] = mapped_column(String(320))
    content_hash: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(256))
    sent_at: Mapped[datetime] = mapped_column(DateTime)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)


# -- operations (omvarld.health, omvarld.alerts, flows): alerts sent, run locks, run reports


class OpsAlertRow(Base):
    """One problem episode of a source ("failing", "broken"): opened when first seen,
    e-mailed once (`sent_at`), closed (`resolved`) when the source is healthy again."""

    __tablename__ = "ops_alerts"
    __table_args__ = (Index("ix_ops_alerts_source_kind", "source", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    opened: Mapped[datetime] = mapped_column(DateTime)
    subject: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list[str]] = mapped_column(JSON, default=list)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved: Mapped[datetime | None] = mapped_column(DateTime)


class OpsLockRow(Base):
    """A named lock (`crawl:riksdagen`, `classify`) held by one run until `expires`, and by
    one process (`host`, `pid`): a lock whose process is gone is taken over at once, one
    held from another host once it has expired."""

    __tablename__ = "ops_locks"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    acquired: Mapped[datetime] = mapped_column(DateTime)
    expires: Mapped[datetime] = mapped_column(DateTime)
    host: Mapped[str | None] = mapped_column(String(256))
    pid: Mapped[int | None] = mapped_column(Integer)


class OpsRunRow(Base):
    """The report of one flow run (per source: new, updated, unchanged, failed, time)."""

    __tablename__ = "ops_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    flow: Mapped[str] = mapped_column(String(64), index=True)
    flow_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    started: Mapped[datetime] = mapped_column(DateTime)
    finished: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16))
    report: Mapped[dict] = mapped_column(JSON, default=dict)
    markdown: Mapped[str] = mapped_column(Text, default="")


# -- search: watches (bevakningar) and their subscribers and matches (omvarld.watches;
# -- migration 0004) ------------------------------------------------------------------------


class WatchRow(Base):
    """A saved search an analyst follows: `query` is an `omvarld.search.query.SearchQuery`
    as JSON (words, semantic query, filters)."""

    __tablename__ = "watches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    query: Mapped[dict] = mapped_column(JSON, default=dict)
    created: Mapped[datetime] = mapped_column(DateTime)
    updated: Mapped[datetime] = mapped_column(DateTime)
    applied: Mapped[datetime | None] = mapped_column(DateTime)


class WatchSubscriberRow(Base):
    """A person following a watch: its new matches in their weekly digest ("digest") or
    by e-mail as they arrive ("email")."""

    __tablename__ = "watch_subscribers"
    __table_args__ = (UniqueConstraint("watch_id", "email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"),
                                          index=True)
    email: Mapped[str] = mapped_column(String(320))
    delivery: Mapped[str] = mapped_column(String(8), default="digest")
    created: Mapped[datetime] = mapped_column(DateTime)
    # Id of the last match e-mailed to this person (the watch's newest when subscribing):
    # a failed send is retried for this person alone and nobody gets a match twice.
    sent_through: Mapped[int] = mapped_column(Integer, default=0)


class WatchMatchRow(Base):
    """A document a watch matched, once per watch and document. `announce` is false for
    what was already stored when the watch was saved or edited (the analyst saw those in
    the preview): only matches found later are e-mailed as they arrive."""

    __tablename__ = "watch_matches"
    __table_args__ = (UniqueConstraint("watch_id", "document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch_id: Mapped[int] = mapped_column(ForeignKey("watches.id", ondelete="CASCADE"),
                                          index=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    matched: Mapped[datetime] = mapped_column(DateTime)
    announce: Mapped[bool] = mapped_column(Boolean, default=True)


class WebSessionRow(Base):
    """A browser's login to the web app: the cookie holds a random secret, this row its
    SHA-256 (a copy of the table gives no one a session). Expired rows are refused and
    swept on the next login; logging out deletes the row."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    method: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(128))
    created: Mapped[datetime] = mapped_column(DateTime)
    expires: Mapped[datetime] = mapped_column(DateTime, index=True)
