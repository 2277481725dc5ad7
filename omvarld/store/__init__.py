"""The store: documents, labels, embeddings, crawl runs and digests behind one class.

SQLite by default (a file, WAL, FTS5), PostgreSQL by URL. Identity is the canonical URL;
saving a document again with the same content hash changes nothing but its fetch time,
so every stage can be re-run without duplicating anything."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

import numpy as np
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload, sessionmaker

from omvarld.model import CrawlReport, Document, Label
from omvarld.store import sqlite as sqlite_only
from omvarld.store.tables import (
    CrawlRunRow,
    DigestRow,
    DocumentRow,
    EmbeddingRow,
    LabelRow,
)

log = logging.getLogger(__name__)

SaveResult = Literal["new", "updated", "unchanged"]
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Alembic's migration context is global to the process: one migration at a time.
_MIGRATION_LOCK = threading.Lock()


def utcnow() -> datetime:
    """Naive UTC: what the DateTime columns hold on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True)
        if self.is_sqlite:
            sqlite_only.configure_engine(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (and create or migrate) the store at `url`, or the configured one."""
        if url is None:
            from omvarld.settings import get_settings

            url = get_settings().database_url
        store = cls(url)
        store.migrate()
        return store

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.set_main_option("sqlalchemy.url", self.url)
        with _MIGRATION_LOCK, self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # -- documents ---------------------------------------------------------------------

    def known_versions(self, urls: Iterable[str]) -> dict[str, tuple[str, str | None]]:
        """For each URL already stored: (content hash, source's own version marker)."""
        urls = list(urls)
        if not urls:
            return {}
        out: dict[str, tuple[str, str | None]] = {}
        with self.session() as s:
            for start in range(0, len(urls), 500):
                chunk = urls[start : start + 500]
                rows = s.execute(
                    select(DocumentRow.url, DocumentRow.content_hash, DocumentRow.source_version)
                    .where(DocumentRow.url.in_(chunk))
                )
                out.update({r.url: (r.content_hash, r.source_version) for r in rows})
        return out

    def newest_published(self, source: str) -> date | None:
        """The newest publication date stored for `source`: where an incremental crawl
        of a dated listing resumes."""
        with self.session() as s:
            return s.scalar(
                select(func.max(DocumentRow.published)).where(DocumentRow.source == source)
            )

    def save_document(self, doc: Document, now: datetime | None = None) -> SaveResult:
        """Insert a new document, update a changed one, or only touch an unchanged one."""
        now = now or utcnow()
        digest = doc.content_hash
        with self.session() as s:
            row = s.scalar(select(DocumentRow).where(DocumentRow.url == doc.url))
            if row is None:
                s.add(DocumentRow(**_columns(doc), content_hash=digest, first_seen=now,
                                  fetched=now))
                return "new"
            row.fetched = now
            if row.content_hash == digest:
                if doc.source_version and row.source_version != doc.source_version:
                    row.source_version = doc.source_version
                return "unchanged"
            for key, value in _columns(doc).items():
                setattr(row, key, value)
            row.content_hash = digest
            row.updated = now
            return "updated"

    def document(self, doc_id: int) -> DocumentRow | None:
        with self.session() as s:
            return s.scalar(
                select(DocumentRow)
                .options(selectinload(DocumentRow.labels))
                .where(DocumentRow.id == doc_id)
            )

    def documents(self) -> list[DocumentRow]:
        with self.session() as s:
            return list(s.scalars(
                select(DocumentRow).options(selectinload(DocumentRow.labels))
                .order_by(DocumentRow.id)
            ))

    def count_documents(self) -> int:
        with self.session() as s:
            return int(s.scalar(select(func.count(DocumentRow.id))) or 0)

    def pending_classification(self, limit: int | None = None) -> list[DocumentRow]:
        """Documents never classified, or changed since they were."""
        with self.session() as s:
            query = select(DocumentRow).where(
                (DocumentRow.classified_hash.is_(None))
                | (DocumentRow.classified_hash != DocumentRow.content_hash)
            ).order_by(DocumentRow.id)
            if limit:
                query = query.limit(limit)
            return list(s.scalars(query))

    def all_for_classification(self) -> list[DocumentRow]:
        with self.session() as s:
            return list(s.scalars(select(DocumentRow).order_by(DocumentRow.id)))

    def save_labels(self, doc_id: int, content_hash: str, labels: list[Label]) -> None:
        """Replace a document's labels with a new set, in one transaction."""
        now = utcnow()
        with self.session() as s:
            row = s.get(DocumentRow, doc_id)
            if row is None:
                return
            if row.content_hash != content_hash:
                log.info("document %s changed while being classified; left for next run", doc_id)
                return
            s.query(LabelRow).filter(LabelRow.document_id == doc_id).delete()
            for label in labels:
                s.add(LabelRow(
                    document_id=doc_id, area=label.area, score=label.score,
                    threshold=label.threshold, accepted=label.accepted,
                    evidence=label.evidence.model_dump(), model_version=label.model_version,
                    created=now,
                ))
            row.classified_hash = content_hash

    def documents_first_seen(self, start: datetime, end: datetime) -> list[DocumentRow]:
        with self.session() as s:
            return list(s.scalars(
                select(DocumentRow).options(selectinload(DocumentRow.labels))
                .where(DocumentRow.first_seen >= start, DocumentRow.first_seen < end)
                .order_by(DocumentRow.id)
            ))

    def open_consultations(self, today: date, until: date) -> list[DocumentRow]:
        with self.session() as s:
            return list(s.scalars(
                select(DocumentRow).options(selectinload(DocumentRow.labels))
                .where(DocumentRow.deadline >= today, DocumentRow.deadline <= until)
                .order_by(DocumentRow.deadline, DocumentRow.id)
            ))

    def fulltext(self, query: str, limit: int = 50) -> list[tuple[int, float]]:
        """Full-text search; the dialect's own index answers."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                return sqlite_only.search_ids(conn, query, limit)
            raise NotImplementedError("full-text search on this database comes with PostgreSQL")

    # -- embeddings --------------------------------------------------------------------

    def embeddings(self, hashes: Iterable[str], model_id: str) -> dict[str, np.ndarray]:
        hashes = list(set(hashes))
        out: dict[str, np.ndarray] = {}
        with self.session() as s:
            for start in range(0, len(hashes), 500):
                rows = s.execute(
                    select(EmbeddingRow.content_hash, EmbeddingRow.vector).where(
                        EmbeddingRow.model_id == model_id,
                        EmbeddingRow.content_hash.in_(hashes[start : start + 500]),
                    )
                )
                for h, blob in rows:
                    out[h] = np.frombuffer(blob, dtype=np.float32)
        return out

    def put_embeddings(self, vectors: dict[str, np.ndarray], model_id: str) -> None:
        if not vectors:
            return
        with self.session() as s:
            present = {
                h for (h,) in s.execute(
                    select(EmbeddingRow.content_hash).where(
                        EmbeddingRow.model_id == model_id,
                        EmbeddingRow.content_hash.in_(list(vectors)),
                    )
                )
            }
            for h, vec in vectors.items():
                if h in present:
                    continue
                arr = np.asarray(vec, dtype=np.float32)
                s.add(EmbeddingRow(content_hash=h, model_id=model_id, dim=int(arr.shape[0]),
                                   vector=arr.tobytes()))

    # -- crawl runs --------------------------------------------------------------------

    def start_crawl(self, source: str, started: datetime | None = None) -> int:
        with self.session() as s:
            row = CrawlRunRow(source=source, started=started or utcnow(), status="running",
                              new=0, updated=0, unchanged=0, failed=0, errors=[])
            s.add(row)
            s.flush()
            return row.id

    def finish_crawl(self, run_id: int, report: CrawlReport) -> None:
        with self.session() as s:
            row = s.get(CrawlRunRow, run_id)
            if row is None:
                raise KeyError(run_id)
            row.finished = report.finished or utcnow()
            row.status = report.status
            row.new, row.updated = report.new, report.updated
            row.unchanged, row.failed = report.unchanged, report.failed
            row.errors = report.errors[:200]

    def crawl_run(self, run_id: int) -> CrawlReport | None:
        with self.session() as s:
            row = s.get(CrawlRunRow, run_id)
            return _report(row) if row else None

    def last_crawls(self) -> dict[str, CrawlReport]:
        """The latest run of every source that has run."""
        with self.session() as s:
            latest = (
                select(CrawlRunRow.source, func.max(CrawlRunRow.id).label("id"))
                .group_by(CrawlRunRow.source).subquery()
            )
            rows = s.scalars(select(CrawlRunRow).join(latest, CrawlRunRow.id == latest.c.id))
            return {r.source: _report(r) for r in rows}

    def last_success(self, source: str) -> datetime | None:
        with self.session() as s:
            return s.scalar(
                select(func.max(CrawlRunRow.finished)).where(
                    CrawlRunRow.source == source, CrawlRunRow.status == "ok"
                )
            )

    def document_counts_by_source(self) -> dict[str, int]:
        with self.session() as s:
            rows = s.execute(
                select(DocumentRow.source, func.count(DocumentRow.id)).group_by(DocumentRow.source)
            )
            return {src: int(n) for src, n in rows}

    # -- digests -----------------------------------------------------------------------

    def record_digest(self, week: str, content_hash: str, paths: dict[str, str],
                      entries: int) -> None:
        with self.session() as s:
            row = s.scalar(select(DigestRow).where(DigestRow.week == week))
            if row is None:
                s.add(DigestRow(week=week, created=utcnow(), content_hash=content_hash,
                                paths=paths, entries=entries))
            else:
                row.content_hash, row.paths, row.entries = content_hash, paths, entries

    def digest_record(self, week: str) -> DigestRow | None:
        with self.session() as s:
            return s.scalar(select(DigestRow).where(DigestRow.week == week))

    def integrity_check(self) -> str:
        if not self.is_sqlite:
            return "ok"
        with self.engine.connect() as conn:
            return str(conn.execute(text("PRAGMA integrity_check")).scalar())


def _columns(doc: Document) -> dict:
    return {
        "url": doc.url,
        "source": doc.source,
        "publisher": doc.publisher,
        "level": doc.level,
        "doc_type": doc.doc_type,
        "language": doc.language,
        "title": doc.title,
        "summary": doc.summary,
        "text": doc.text,
        "identifier": doc.identifier,
        "published": doc.published,
        "deadline": doc.deadline,
        "attachments": list(doc.attachments),
        "source_version": doc.source_version,
    }


def _report(row: CrawlRunRow) -> CrawlReport:
    return CrawlReport(
        source=row.source, started=row.started, finished=row.finished,
        status=row.status, new=row.new, updated=row.updated, unchanged=row.unchanged,
        failed=row.failed, errors=list(row.errors or []),
    )
