"""The store: documents, labels, embeddings, crawl runs and digests behind one class.

SQLite by default (a file, WAL, FTS5), PostgreSQL by URL. Identity is the canonical URL;
saving a document again with the same content hash changes nothing but its fetch time,
so every stage can be re-run without duplicating anything."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Literal

import numpy as np
from alembic import command
from alembic.config import Config
from sqlalchemy import Insert, Table, create_engine, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, selectinload, sessionmaker

from omvarld.core.model import CrawlReport, Document, Label, LabelledDoc
from omvarld.store import postgres as postgres_only
from omvarld.store import sqlite as sqlite_only
from omvarld.store.tables import (
    CrawlRunRow,
    DigestRow,
    DocumentReferenceRow,
    DocumentRow,
    DocumentStakeholderRow,
    EmbeddingRow,
    FeedbackRow,
    LabelRow,
)
from omvarld.store.textsearch import TextQuery, parse
from omvarld.store.vectors import exact_nearest

log = logging.getLogger(__name__)

SaveResult = Literal["new", "updated", "unchanged"]
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Alembic's migration context is global to the process: one migration at a time.
_MIGRATION_LOCK = threading.Lock()


def utcnow() -> datetime:
    """Naive UTC: what the DateTime columns hold on every backend."""
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    def __init__(self, url: str) -> None:
        if url.startswith(("postgresql://", "postgres://")):
            # psycopg 3 is the driver installed; SQLAlchemy's default would be psycopg2.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            if str(path) != ":memory:":
                path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url, future=True,
                                            pool_pre_ping=not url.startswith("sqlite"))
        if self.is_sqlite:
            sqlite_only.configure_engine(self.engine)
        # Whether pgvector serves semantic search (PostgreSQL with the extension); set
        # by migrate().
        self.has_pgvector = False
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str | None = None) -> Store:
        """Open (and create or migrate) the store at `url`, or the configured one."""
        if url is None:
            from omvarld.core.settings import get_settings

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
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))  # configparser
        with _MIGRATION_LOCK, self._sqlite_file_lock(), self.engine.begin() as conn:
            if not self.is_sqlite:
                postgres_only.advisory_lock(conn)  # two workers opening a fresh database
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
            if not self.is_sqlite:
                self.has_pgvector = postgres_only.ensure_vectors(conn)

    @contextmanager
    def _sqlite_file_lock(self) -> Iterator[None]:
        """Two processes opening one fresh SQLite file: one migrates, the other waits
        (SQLite's DDL does not lock until it writes, so both would create the tables)."""
        path = self.url.removeprefix("sqlite:///") if self.is_sqlite else ":memory:"
        if path == ":memory:" or not path:
            yield
            return
        import fcntl

        with open(f"{path}.migrate-lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _insert(self, table: Table) -> Insert:
        """The dialect's INSERT, which knows ON CONFLICT."""
        return (sqlite_insert if self.is_sqlite else pg_insert)(table)

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
        columns = _columns(doc) if self.is_sqlite else _without_nul(_columns(doc))
        by_url = select(DocumentRow).where(DocumentRow.url == doc.url).with_for_update()
        with self.session() as s:
            row = s.scalar(by_url)
            if row is None:
                # Two workers may store the same new document at once: the second insert
                # does nothing and that worker goes on with the row the first one stored.
                new_id = s.scalar(
                    self._insert(DocumentRow.__table__)
                    .values(**columns, content_hash=digest, first_seen=now, fetched=now)
                    .on_conflict_do_nothing(index_elements=["url"])
                    .returning(DocumentRow.id)
                )
                if new_id is not None:
                    self._index_for_search(s, s.get(DocumentRow, new_id))
                    return "new"
                row = s.scalar(by_url.execution_options(populate_existing=True))
            row.fetched = now
            if row.content_hash == digest:
                if doc.source_version and row.source_version != doc.source_version:
                    row.source_version = doc.source_version
                for key in METADATA_COLUMNS:  # metadata a newer spider reads
                    if getattr(row, key) != columns[key]:
                        setattr(row, key, columns[key])
                return "unchanged"
            for key, value in columns.items():
                setattr(row, key, value)
            row.content_hash = digest
            row.updated = now
            self._index_for_search(s, row)
            return "updated"

    def _index_for_search(self, session: Session, row: DocumentRow) -> None:
        """Search hook, run where a document is saved (new or changed), in the same
        transaction: its folded search terms (`omvarld.store.textsearch`) go into the
        stemmed FTS5 table on SQLite, the terms' tsvector on PostgreSQL (neither a trigger
        nor a generated column can call the stemmer)."""
        if self.is_sqlite:
            sqlite_only.index_stemmed(session, row.id, row.title, row.text, row.language)
        else:
            postgres_only.index_terms(session, row.id, row.title, row.text, row.language)

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

    def classification_ids(self, everything: bool = False) -> list[int]:
        """Ids of documents to classify (new or changed; all with `everything`): ids only,
        so a backfill of 100,000 documents is read a batch at a time."""
        with self.session() as s:
            query = select(DocumentRow.id).order_by(DocumentRow.id)
            if not everything:
                query = query.where(
                    (DocumentRow.classified_hash.is_(None))
                    | (DocumentRow.classified_hash != DocumentRow.content_hash)
                )
            return list(s.scalars(query))

    def documents_by_ids(self, ids: Sequence[int]) -> list[DocumentRow]:
        with self.session() as s:
            return list(s.scalars(
                select(DocumentRow).where(DocumentRow.id.in_(list(ids))).order_by(DocumentRow.id)
            ))

    def save_labels(self, doc_id: int, content_hash: str, labels: list[Label],
                    summary: str | None = None) -> None:
        """Replace a document's labels with a new set, in one transaction. `summary` (the
        digest's summary, worked out with the labels) is kept in each label's evidence;
        an analyst's correction of an area still holds over the new labels."""
        with self.session() as s:
            row = self._to_classify(s, doc_id, content_hash)
            if row is not None:
                _replace_labels(s, row, content_hash, labels, summary)

    def save_classification(
        self,
        doc_id: int,
        content_hash: str,
        labels: list[Label],
        stakeholders: Iterable[tuple[str, str, int]],
        references: Iterable[tuple[str, str, bool]],
        summary: str | None = None,
    ) -> bool:
        """A document's labels, stakeholders and references in one transaction: a run
        killed at any point leaves the document either done or pending, never labelled
        without its annotations. Its story is decided next (`set_story`, `mark_linked`);
        until then it is listed by `unlinked_documents`. False when the document is gone
        or changed meanwhile (it is left for the next run)."""
        with self.session() as s:
            row = self._to_classify(s, doc_id, content_hash)
            if row is None:
                return False
            _replace_labels(s, row, content_hash, labels, summary)
            _replace_annotations(s, doc_id, stakeholders, references)
            return True

    @staticmethod
    def _to_classify(s: Session, doc_id: int, content_hash: str) -> DocumentRow | None:
        # The row lock makes two classifiers of one document take turns (PostgreSQL).
        row = s.get(DocumentRow, doc_id, with_for_update=True)
        if row is not None and row.content_hash != content_hash:
            log.info("document %s changed while being classified; left for next run", doc_id)
            return None
        return row

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

    def fulltext(self, query: str | TextQuery, limit: int = 50,
                 ids: Sequence[int] | None = None) -> list[tuple[int, float]]:
        """Search hook: documents matching `query` — free text, or a query parsed (and
        perhaps given cross-lingual equivalents) by `textsearch.parse` — over the folded
        search terms (stemmed per language; "Öresund" = "Øresund"; words, "phrases",
        `OR` and `-word`; anything else typed is a space, never a syntax error), all
        groups required, the last word also as a prefix.

        Returns up to `limit` (document id, score) pairs, best first; the score is
        **higher-is-better** (SQLite: -bm25 with the title weighted 3:1, or, when more
        than `sqlite.RANK_ALL` documents match, 1.0 with every word in the title and 0.0
        without; PostgreSQL: ts_rank_cd, title weighted A). `ids` restricts the answer
        to those documents. A query with no word in it gives []."""
        parsed = parse(query) if isinstance(query, str) else query
        with self.engine.connect() as conn:
            if self.is_sqlite:
                return sqlite_only.search_stemmed(conn, parsed, limit, ids)
            return postgres_only.search_terms(conn, parsed, limit, ids)

    def nearest(self, vector: np.ndarray, model_id: str, k: int) -> list[tuple[int, float]]:
        """Search hook: the `k` documents whose stored vector (model `model_id`, for their
        current or last embedded content) is closest to `vector`, as (document id,
        cosine), highest cosine first. SQLite: an exact search over a matrix kept in
        memory and topped up when the embeddings table grows; PostgreSQL: pgvector."""
        if not self.is_sqlite:
            with self.engine.begin() as conn:
                if self.has_pgvector:  # HNSW (cosine) index
                    return postgres_only.nearest_hnsw(conn, vector, model_id, k)
                return exact_nearest(conn, vector, model_id, k)
        matrices = self.__dict__.setdefault("_vector_matrices", {})
        matrix = matrices.get(model_id)
        if matrix is None:
            matrix = matrices.setdefault(model_id, sqlite_only.VectorMatrix(model_id))
        with matrix.lock:
            with self.engine.connect() as conn:
                matrix.refresh(conn)
            return matrix.nearest(vector, k)

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
        if not self.is_sqlite:  # ON CONFLICT: safe when two workers embed the same text
            with self.engine.begin() as conn:
                postgres_only.put_embeddings(conn, vectors, model_id, self.has_pgvector)
            return
        rows = []
        for h, vec in vectors.items():
            arr = np.asarray(vec, dtype=np.float32)
            rows.append({"content_hash": h, "model_id": model_id, "dim": int(arr.shape[0]),
                         "vector": arr.tobytes()})
        with self.session() as s:  # a vector stored meanwhile by another worker is kept
            s.execute(self._insert(EmbeddingRow.__table__).on_conflict_do_nothing(), rows)

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

    # -- feedback (analysts' corrections) ----------------------------------------------

    def add_feedback(self, doc_id: int, area: str, action: str, author: str,
                     comment: str = "") -> None:
        """Record an analyst's correction: `action` "add" or "remove" an area. It takes
        effect at once — the document's label for the area is accepted or not, as the
        analyst said, with who and when in its evidence — and holds when the document is
        classified again; `corrected_documents` still hands it to the next training."""
        if action not in ("add", "remove"):
            raise ValueError("action must be 'add' or 'remove'")
        now = utcnow()
        with self.session() as s:
            doc = s.get(DocumentRow, doc_id, with_for_update=True)
            if doc is None:
                raise KeyError(doc_id)
            s.add(FeedbackRow(document_id=doc_id, area=area, action=action, comment=comment,
                              author=author, created=now))
            s.flush()
            # The correction holds at once: the labels are written again (new rows, so
            # every cache keyed on the newest label id sees the change) with it applied.
            old = list(doc.labels)
            copies = [LabelRow(document_id=doc_id, area=lb.area, score=lb.score,
                               threshold=lb.threshold, accepted=lb.accepted,
                               evidence=dict(lb.evidence or {}), model_version=lb.model_version,
                               created=lb.created) for lb in old]
            newest = s.scalar(select(func.max(LabelRow.id))) or 0
            for lb in old:
                s.delete(lb)
            s.flush()
            fixed = _corrected(copies, _latest_corrections(s, doc_id), now)
            if self.is_sqlite:  # SQLite would reuse the ids just freed; PostgreSQL never does
                for offset, lb in enumerate(fixed, start=1):
                    lb.id = newest + offset
            s.add_all(fixed)

    def corrected_documents(self, areas: Sequence[str]) -> list:
        """Documents an analyst corrected, with their labels as corrected (the accepted
        labels, then every correction in order): careful training data."""
        out = []
        with self.session() as s:
            rows = s.execute(select(FeedbackRow).order_by(FeedbackRow.id)).scalars().all()
            by_doc: dict[int, list[FeedbackRow]] = {}
            for row in rows:
                by_doc.setdefault(row.document_id, []).append(row)
            for doc_id, fixes in by_doc.items():
                doc = s.get(DocumentRow, doc_id)
                if doc is None:
                    continue
                labels = {lb.area for lb in doc.labels if lb.accepted}
                for fix in fixes:
                    (labels.add if fix.action == "add" else labels.discard)(fix.area)
                out.append(LabelledDoc(
                    id=f"feedback-{doc_id}", title=doc.title,
                    text="\n\n".join(p for p in (doc.summary, doc.text) if p),
                    labels=[a for a in areas if a in labels], language=doc.language))
        return out

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

    # -- links: stakeholders, references (matters), near-duplicates (stories) ----------
    # Appended for nlp.links; portable SQL only, ordering by date done in Python so that
    # "published, else first seen" needs no dialect-specific date functions.

    def save_annotations(
        self,
        doc_id: int,
        stakeholders: Iterable[tuple[str, str, int]],
        references: Iterable[tuple[str, str, bool]],
    ) -> None:
        """Replace a document's stakeholders — (name, kind, count) — and references —
        (key, kind, is_own) — in one transaction. A key given twice is kept once, as the
        document's own if either says so; a name given twice adds its counts."""
        with self.session() as s:
            if s.get(DocumentRow, doc_id, with_for_update=True) is None:
                return
            _replace_annotations(s, doc_id, stakeholders, references)

    def stakeholders_of(self, doc_id: int) -> list[tuple[str, str, int]]:
        """(name, kind, count) of the organisations a document names, most named first."""
        with self.session() as s:
            rows = s.execute(
                select(DocumentStakeholderRow.name, DocumentStakeholderRow.kind,
                       DocumentStakeholderRow.count)
                .where(DocumentStakeholderRow.document_id == doc_id)
                .order_by(DocumentStakeholderRow.count.desc(), DocumentStakeholderRow.name)
            )
            return [(r.name, r.kind, int(r.count)) for r in rows]

    def references_of(self, doc_id: int) -> list[tuple[str, str, bool]]:
        """(key, kind, is_own) of a document's references, its own first."""
        with self.session() as s:
            rows = s.execute(
                select(DocumentReferenceRow.key, DocumentReferenceRow.kind,
                       DocumentReferenceRow.is_own)
                .where(DocumentReferenceRow.document_id == doc_id)
                .order_by(DocumentReferenceRow.is_own.desc(), DocumentReferenceRow.key)
            )
            return [(r.key, r.kind, bool(r.is_own)) for r in rows]

    def reference_keys(self, doc_ids: Iterable[int]) -> dict[int, set[str]]:
        """Every reference key of each document (own and cited)."""
        ids = list(set(doc_ids))
        out: dict[int, set[str]] = {i: set() for i in ids}
        with self.session() as s:
            for start in range(0, len(ids), 500):
                rows = s.execute(
                    select(DocumentReferenceRow.document_id, DocumentReferenceRow.key)
                    .where(DocumentReferenceRow.document_id.in_(ids[start : start + 500]))
                )
                for doc_id, key in rows:
                    out[doc_id].add(key)
        return out

    def matter(self, doc_id: int, kinds: Iterable[str] | None = None) -> list[DocumentRow]:
        """The other documents sharing a reference key with this one — those citing what
        it cites, those it cites (their own key), those citing it — oldest first.
        `kinds` narrows the keys followed (e.g. leave out "sfs": a much-cited law links
        documents of unrelated matters)."""
        kinds = list(kinds) if kinds is not None else None
        with self.session() as s:
            keys = select(DocumentReferenceRow.key).where(
                DocumentReferenceRow.document_id == doc_id)
            if kinds is not None:
                keys = keys.where(DocumentReferenceRow.kind.in_(kinds))
            others = select(DocumentReferenceRow.document_id).where(
                DocumentReferenceRow.key.in_(keys.scalar_subquery()),
                DocumentReferenceRow.document_id != doc_id,
            )
            rows = list(s.scalars(
                select(DocumentRow).options(selectinload(DocumentRow.labels))
                .where(DocumentRow.id.in_(others.scalar_subquery()))
            ))
        return sorted(rows, key=document_date_key)

    def story(self, doc_id: int) -> list[DocumentRow]:
        """Every document of this one's story (itself included), oldest first; just the
        document while it is not linked."""
        with self.session() as s:
            row = s.get(DocumentRow, doc_id)
            if row is None:
                return []
            if row.story_id is None:
                return [row]
            rows = list(s.scalars(
                select(DocumentRow).options(selectinload(DocumentRow.labels))
                .where(DocumentRow.story_id == row.story_id)
            ))
        return sorted(rows, key=document_date_key)

    def top_stakeholders(
        self, start: datetime, end: datetime, limit: int = 20
    ) -> list[tuple[str, str, int]]:
        """(name, kind, documents): the organisations named in most documents first seen
        in [start, end)."""
        with self.session() as s:
            documents = func.count(func.distinct(DocumentStakeholderRow.document_id))
            rows = s.execute(
                select(DocumentStakeholderRow.name, DocumentStakeholderRow.kind,
                       documents.label("documents"))
                .join(DocumentRow, DocumentRow.id == DocumentStakeholderRow.document_id)
                .where(DocumentRow.first_seen >= start, DocumentRow.first_seen < end)
                .group_by(DocumentStakeholderRow.name, DocumentStakeholderRow.kind)
                .order_by(documents.desc(), DocumentStakeholderRow.name)
                .limit(limit)
            )
            return [(r.name, r.kind, int(r.documents)) for r in rows]

    def dated_hashes(self, lo: date, hi: date) -> list[tuple[int, str, date, str]]:
        """(id, content hash, date, language) of every document dated within [lo, hi] —
        no texts, so a window of thousands of documents is cheap to read."""
        lo_dt, hi_dt = datetime.combine(lo, time.min), datetime.combine(hi, time.max)
        with self.session() as s:
            rows = s.execute(
                select(DocumentRow.id, DocumentRow.content_hash, DocumentRow.published,
                       DocumentRow.first_seen, DocumentRow.language).where(
                    ((DocumentRow.published >= lo) & (DocumentRow.published <= hi))
                    | (DocumentRow.published.is_(None)
                       & (DocumentRow.first_seen >= lo_dt) & (DocumentRow.first_seen <= hi_dt)),
                ).order_by(DocumentRow.id)
            )
            return [(i, h, pub or seen.date(), lang) for i, h, pub, seen, lang in rows]

    def story_members(self, story_ids: Iterable[int]) -> list[DocumentRow]:
        """Every document whose story is one of `story_ids`."""
        ids = sorted(set(story_ids))
        out: list[DocumentRow] = []
        with self.session() as s:
            for start in range(0, len(ids), 500):
                out.extend(s.scalars(
                    select(DocumentRow)
                    .where(DocumentRow.story_id.in_(ids[start : start + 500]))
                    .order_by(DocumentRow.id)
                ))
        return out

    def set_story(self, doc_ids: Iterable[int], story_id: int) -> int:
        """Put documents into one story; returns how many changed."""
        ids = sorted(set(doc_ids))
        if not ids:
            return 0
        with self.session() as s:
            result = s.execute(
                update(DocumentRow)
                .where(DocumentRow.id.in_(ids),
                       (DocumentRow.story_id.is_(None)) | (DocumentRow.story_id != story_id))
                .values(story_id=story_id)
                .execution_options(synchronize_session=False)
            )
            return int(result.rowcount or 0)

    def mark_linked(self, doc_id: int, content_hash: str) -> None:
        """The link stage is done with this version of the document."""
        with self.session() as s:
            s.execute(update(DocumentRow)
                      .where(DocumentRow.id == doc_id, DocumentRow.content_hash == content_hash)
                      .values(linked_hash=content_hash)
                      .execution_options(synchronize_session=False))

    def unlinked_documents(self, limit: int | None = None) -> list[int]:
        """Ids of classified documents whose story was not yet decided for the content
        they were classified from (the link stage's to-do, which a killed run leaves)."""
        with self.session() as s:
            query = select(DocumentRow.id).where(
                DocumentRow.classified_hash.is_not(None),
                DocumentRow.linked_hash.is_(None)
                | (DocumentRow.linked_hash != DocumentRow.classified_hash),
            ).order_by(DocumentRow.id)
            if limit:
                query = query.limit(limit)
            return list(s.scalars(query))

    def embedding_model_ids(self, hashes: Iterable[str]) -> dict[str, list[str]]:
        """For each content hash with a stored vector: the model ids it is stored under."""
        hashes = list(set(hashes))
        out: dict[str, list[str]] = {}
        with self.session() as s:
            for start in range(0, len(hashes), 500):
                rows = s.execute(
                    select(EmbeddingRow.content_hash, EmbeddingRow.model_id)
                    .where(EmbeddingRow.content_hash.in_(hashes[start : start + 500]))
                    .order_by(EmbeddingRow.model_id)
                )
                for h, model_id in rows:
                    out.setdefault(h, []).append(model_id)
        return out


def document_date(row: DocumentRow) -> date:
    """A document's date: when it was published, else when it was first seen."""
    return row.published or row.first_seen.date()


def document_date_key(row: DocumentRow) -> tuple[date, int]:
    """Oldest first, ties by id: the order of matters and stories."""
    return (document_date(row), row.id)


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
        **_metadata_columns(doc),
    }


METADATA_COLUMNS = (
    "subtitle", "subtype", "responsible", "authors", "diarienummer", "proposals",
    "doc_references",
)


def _metadata_columns(doc: Document) -> dict:
    """The source's metadata beside the text (migration 0007); empty values as NULL."""
    return {
        "subtitle": doc.subtitle or None,
        "subtype": doc.subtype,
        "responsible": doc.responsible,
        "authors": list(doc.authors) or None,
        "diarienummer": doc.diarienummer,
        "proposals": list(doc.proposals) or None,
        "doc_references": [r.model_dump(exclude_defaults=True) for r in doc.references]
        or None,
    }


def _without_nul(columns: dict) -> dict:
    """PostgreSQL's text cannot hold NUL characters (extracted PDFs sometimes carry
    them); SQLite's can. Dropped on the way in; the content hash is computed before."""
    return {k: v.replace("\x00", "") if isinstance(v, str) else v for k, v in columns.items()}


def _replace_labels(s: Session, row: DocumentRow, content_hash: str, labels: list[Label],
                    summary: str | None = None) -> None:
    """The document's labels replaced (the summary kept in each label's evidence), an
    analyst's latest correction of an area holding over the classifier's label."""
    now = utcnow()
    s.query(LabelRow).filter(LabelRow.document_id == row.id).delete()
    extra = {"summary": summary} if summary is not None else {}
    fresh = [
        LabelRow(
            document_id=row.id, area=label.area, score=label.score,
            threshold=label.threshold, accepted=label.accepted,
            evidence={**label.evidence.model_dump(), **extra},
            model_version=label.model_version, created=now,
        )
        for label in labels
    ]
    s.add_all(_corrected(fresh, _latest_corrections(s, row.id), now))
    row.classified_hash = content_hash


def _replace_annotations(
    s: Session,
    doc_id: int,
    stakeholders: Iterable[tuple[str, str, int]],
    references: Iterable[tuple[str, str, bool]],
) -> None:
    """A key given twice is kept once, as the document's own if either says so; a name
    given twice adds its counts."""
    names: dict[str, tuple[str, int]] = {}
    for name, kind, count in stakeholders:
        previous = names.get(name)
        names[name] = (kind, int(count) + (previous[1] if previous else 0))
    keys: dict[str, tuple[str, bool]] = {}
    for key, kind, is_own in references:
        previous = keys.get(key)
        keys[key] = (kind, bool(is_own) or bool(previous and previous[1]))
    s.query(DocumentStakeholderRow).filter(
        DocumentStakeholderRow.document_id == doc_id).delete()
    s.query(DocumentReferenceRow).filter(
        DocumentReferenceRow.document_id == doc_id).delete()
    s.add_all(DocumentStakeholderRow(document_id=doc_id, name=name, kind=kind, count=count)
              for name, (kind, count) in names.items())
    s.add_all(DocumentReferenceRow(document_id=doc_id, key=key, kind=kind, is_own=is_own)
              for key, (kind, is_own) in keys.items())


def _report(row: CrawlRunRow) -> CrawlReport:
    return CrawlReport(
        source=row.source, started=row.started, finished=row.finished,
        status=row.status, new=row.new, updated=row.updated, unchanged=row.unchanged,
        failed=row.failed, errors=list(row.errors or []),
    )


def _latest_corrections(session: Session, doc_id: int) -> dict[str, FeedbackRow]:
    """Each area's latest correction of a document: the one that holds."""
    rows = session.execute(select(FeedbackRow).where(FeedbackRow.document_id == doc_id)
                           .order_by(FeedbackRow.id)).scalars()
    return {row.area: row for row in rows}


def _corrected(labels: list[LabelRow], fixes: dict[str, FeedbackRow],
               now: datetime) -> list[LabelRow]:
    """`labels` with the analysts' corrections applied (an added area with no label gets
    one at score 0, accepted): what a reader sees is the analyst's word."""
    by_area = {lb.area: lb for lb in labels}
    for area, fix in fixes.items():
        label = by_area.get(area)
        if label is None:
            label = LabelRow(area=area, score=0.0, threshold=1.0, evidence={},
                             model_version="correction", created=now,
                             document_id=labels[0].document_id if labels else fix.document_id)
            labels.append(label)
            by_area[area] = label
        label.accepted = fix.action == "add"
        label.evidence = {**(label.evidence or {}), "correction": {
            "action": fix.action, "author": fix.author, "at": fix.created.isoformat()}}
    return labels
