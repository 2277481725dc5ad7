"""Watches (bevakningar): saved searches a team follows beyond the six focus areas — a
named project, a law, an organisation.

An analyst previews what a search would match in the stored documents, saves it under a
name, edits it (which re-applies it to everything stored), and subscribes people: each
gets the watch's new matches as a section of their weekly digest ("digest") or by e-mail
as they arrive ("email", sent by `notify`).

Matches are recorded once per watch and document, so applying a watch again never
duplicates anything. What was already stored when a watch was saved or edited is
recorded as not to be announced: the analyst saw it in the preview, and a new watch must
not e-mail its subscribers the whole archive. Each subscriber keeps the id of the last
match e-mailed to them, so a failed send is retried for that person alone and nobody
gets a match twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from omvarld.core.errors import OmvarldError
from omvarld.search.query import Hit, SearchQuery, SearchResult, hits, search, search_ids
from omvarld.store import Store, utcnow
from omvarld.store.tables import DocumentRow, WatchMatchRow, WatchRow, WatchSubscriberRow

if TYPE_CHECKING:
    from omvarld.nlp.encoder import Encoder

log = logging.getLogger(__name__)

Delivery = Literal["digest", "email"]
DELIVERIES: tuple[str, ...] = ("digest", "email")
MAX_NAME = 128
# A watch's e-mail lists at most this many documents (then "and N more").
MAX_MAIL_DOCUMENTS = 50


class WatchError(OmvarldError):
    """A watch that does not exist, a name taken, a bad address or query."""


class Subscriber(BaseModel):
    email: str
    delivery: Delivery


class Watch(BaseModel):
    id: int
    name: str
    description: str
    query: SearchQuery
    created: datetime
    updated: datetime
    applied: datetime | None
    subscribers: list[Subscriber]
    matches: int


class WatchSection(BaseModel):
    """One watch's part of a digest: its new matches in the digest's window."""

    name: str
    description: str
    subscribers: list[str]  # who gets it in their digest
    documents: list[Hit]  # newest first


class NotifyReport(BaseModel):
    sent: int = 0  # e-mails handed to the SMTP server
    documents: int = 0  # matches announced (counted once per e-mail)
    failed: list[str] = []  # "watch → address: reason"


# -- saving, editing, reading -------------------------------------------------------------


def preview(store: Store, query: SearchQuery, *, encoder: Encoder | None = None
            ) -> SearchResult:
    """What `query` matches among the stored documents now (a page of it, with the total
    and facets), without saving anything."""
    return search(store, query, encoder=encoder)


def create(store: Store, name: str, query: SearchQuery, *, description: str = "",
           encoder: Encoder | None = None) -> Watch:
    """Save `query` as watch `name` and record what it matches among the stored
    documents (not announced: see the module's docstring)."""
    name = _valid_name(name)
    _valid_query(query)
    now = utcnow()
    try:
        with store.session() as s:
            s.add(WatchRow(name=name, description=description, query=_as_json(query),
                           created=now, updated=now))
    except IntegrityError as exc:
        raise WatchError(f"a watch named {name!r} already exists: edit it or pick "
                         "another name") from exc
    _apply_one(store, name, encoder=encoder, baseline=True)
    return get(store, name)


def edit(store: Store, name: str, *, query: SearchQuery | None = None,
         new_name: str | None = None, description: str | None = None,
         encoder: Encoder | None = None) -> Watch:
    """Change a watch and re-apply it to everything stored: documents it no longer
    matches are dropped from its matches, newly matched stored ones added (not
    announced); matches it keeps keep their history."""
    with store.session() as s:
        row = _row(s, name)
        if query is not None:
            _valid_query(query)
            row.query = _as_json(query)
        if description is not None:
            row.description = description
        if new_name is not None and new_name != row.name:
            new_name = _valid_name(new_name)
            if s.scalar(select(WatchRow.id).where(WatchRow.name == new_name)) is not None:
                raise WatchError(f"a watch named {new_name!r} already exists")
            row.name = new_name
        row.updated = utcnow()
        name = row.name
    _apply_one(store, name, encoder=encoder, baseline=True, replace=query is not None)
    return get(store, name)


def remove(store: Store, name: str) -> None:
    """Delete a watch with its subscribers and matches."""
    with store.session() as s:
        row = _row(s, name)
        s.execute(delete(WatchMatchRow).where(WatchMatchRow.watch_id == row.id))
        s.execute(delete(WatchSubscriberRow).where(WatchSubscriberRow.watch_id == row.id))
        s.delete(row)


def get(store: Store, name: str) -> Watch:
    with store.session() as s:
        return _watch(s, _row(s, name))


def list_watches(store: Store) -> list[Watch]:
    with store.session() as s:
        return [_watch(s, row) for row in s.scalars(select(WatchRow).order_by(WatchRow.name))]


def subscribe(store: Store, name: str, email: str, delivery: Delivery = "digest") -> Watch:
    """Subscribe `email` to watch `name` (again: changes how they get it). They get only
    what the watch matches from now on."""
    email = _valid_email(email)
    if delivery not in DELIVERIES:
        raise WatchError(f"delivery must be one of {', '.join(DELIVERIES)}, not {delivery!r}")
    with store.session() as s:
        row = _row(s, name)
        newest = s.scalar(select(func.max(WatchMatchRow.id))
                          .where(WatchMatchRow.watch_id == row.id)) or 0
        sub = s.scalar(select(WatchSubscriberRow).where(
            WatchSubscriberRow.watch_id == row.id, WatchSubscriberRow.email == email))
        if sub is None:
            s.add(WatchSubscriberRow(watch_id=row.id, email=email, delivery=delivery,
                                     created=utcnow(), sent_through=newest))
        elif sub.delivery != delivery:
            sub.delivery = delivery
            sub.sent_through = max(sub.sent_through, newest)
    return get(store, name)


def unsubscribe(store: Store, name: str, email: str) -> bool:
    """Remove a subscriber; False when they were not subscribed."""
    with store.session() as s:
        row = _row(s, name)
        result = s.execute(delete(WatchSubscriberRow).where(
            WatchSubscriberRow.watch_id == row.id,
            WatchSubscriberRow.email == email.strip().lower()))
        return bool(result.rowcount)


def matches(store: Store, name: str, *, announced_only: bool = False) -> list[Hit]:
    """The documents a watch has matched, newest match first."""
    with store.session() as s:
        row = _row(s, name)
        query = (select(WatchMatchRow.document_id).where(WatchMatchRow.watch_id == row.id)
                 .order_by(WatchMatchRow.id.desc()))
        if announced_only:
            query = query.where(WatchMatchRow.announce.is_(True))
        ids = list(s.scalars(query))
    return hits(store, ids)


# -- applying -----------------------------------------------------------------------------


def apply(store: Store, name: str | None = None, *, encoder: Encoder | None = None
          ) -> dict[str, int]:
    """Apply every watch (or watch `name`) to the stored documents and record what it
    matches that it had not matched before (to be announced). Per watch: how many new."""
    names = [name] if name else [w.name for w in list_watches(store)]
    return {n: _apply_one(store, n, encoder=encoder) for n in names}


def _apply_one(store: Store, name: str, *, encoder: Encoder | None = None,
               baseline: bool = False, replace: bool = False) -> int:
    with store.session() as s:
        row = _row(s, name)
        watch_id, query = row.id, SearchQuery.model_validate(row.query)
    found, message = search_ids(store, query, encoder=encoder)
    if message and not found:
        log.info("watch %s: %s", name, message)
    now = utcnow()
    with store.session() as s:
        known = set(s.scalars(select(WatchMatchRow.document_id)
                              .where(WatchMatchRow.watch_id == watch_id)))
        wanted = {doc_id for doc_id, _ in found}
        if replace and known - wanted:
            gone = sorted(known - wanted)
            for start in range(0, len(gone), 500):
                s.execute(delete(WatchMatchRow).where(
                    WatchMatchRow.watch_id == watch_id,
                    WatchMatchRow.document_id.in_(gone[start : start + 500])))
        new = [doc_id for doc_id, _ in found if doc_id not in known]
        if new:
            s.execute(insert(WatchMatchRow), [
                {"watch_id": watch_id, "document_id": doc_id, "matched": now,
                 "announce": not baseline} for doc_id in new])
        s.execute(update(WatchRow).where(WatchRow.id == watch_id).values(applied=now))
    return len(new)


# -- telling people -----------------------------------------------------------------------


def notify(store: Store, *, encoder: Encoder | None = None,
           send: Callable[[EmailMessage, Sequence[str]], object] | None = None,
           refresh: bool = True) -> NotifyReport:
    """Apply every watch, then e-mail each "email" subscriber the matches found since
    their last e-mail (one message per watch and person). `send` defaults to
    `omvarld.ops.mail.smtp_send`; a failed send is reported and retried next time."""
    if send is None:
        from omvarld.ops.mail import smtp_send

        send = smtp_send
    if refresh:
        apply(store, encoder=encoder)
    report = NotifyReport()
    with store.session() as s:
        plan = [(w.id, w.name, w.description, sub.id, sub.email, sub.sent_through)
                for w in s.scalars(select(WatchRow).order_by(WatchRow.name))
                for sub in s.scalars(select(WatchSubscriberRow).where(
                    WatchSubscriberRow.watch_id == w.id,
                    WatchSubscriberRow.delivery == "email").order_by(WatchSubscriberRow.email))]
    for watch_id, name, description, sub_id, email, sent_through in plan:
        with store.session() as s:
            newest = s.scalar(select(func.max(WatchMatchRow.id))
                              .where(WatchMatchRow.watch_id == watch_id)) or 0
            pending = list(s.scalars(
                select(WatchMatchRow.document_id).where(
                    WatchMatchRow.watch_id == watch_id, WatchMatchRow.id > sent_through,
                    WatchMatchRow.announce.is_(True)).order_by(WatchMatchRow.id)))
        if pending:
            documents = hits(store, pending)
            try:
                send(_message(name, description, documents, email), [email])
            except OmvarldError as exc:
                log.warning("watch %s: could not e-mail %s: %s", name, email, exc)
                report.failed.append(f"{name} → {email}: {exc}")
                continue
            report.sent += 1
            report.documents += len(documents)
        if newest > sent_through:
            with store.session() as s:
                s.execute(update(WatchSubscriberRow).where(WatchSubscriberRow.id == sub_id)
                          .values(sent_through=newest))
    return report


def watch_sections(store: Store, start: datetime, end: datetime, *,
                   encoder: Encoder | None = None, refresh: bool = True,
                   all_watches: bool = False) -> list[WatchSection]:
    """Per watch with digest subscribers: the documents it matches that were first seen
    in [start, end) (naive UTC, as the store keeps times), newest first — a section of
    the weekly digest of each of its subscribers. Watches are applied first, so a
    digest written right after a crawl has everything. `all_watches`: every watch, also
    those nobody gets in a digest (the archived digest lists them all)."""
    if refresh:
        apply(store, encoder=encoder)
    sections = []
    with store.session() as s:
        watches = list(s.scalars(select(WatchRow).order_by(WatchRow.name)))
        plan = []
        for w in watches:
            subscribers = list(s.scalars(
                select(WatchSubscriberRow.email).where(
                    WatchSubscriberRow.watch_id == w.id,
                    WatchSubscriberRow.delivery == "digest").order_by(WatchSubscriberRow.email)))
            if not subscribers and not all_watches:
                continue
            rows = s.execute(
                select(DocumentRow.id, DocumentRow.published, DocumentRow.first_seen)
                .join(WatchMatchRow, WatchMatchRow.document_id == DocumentRow.id)
                .where(WatchMatchRow.watch_id == w.id, DocumentRow.first_seen >= start,
                       DocumentRow.first_seen < end)).all()
            ordered = sorted(rows, key=lambda r: (r.published or r.first_seen.date(), r.id),
                             reverse=True)
            plan.append((w.name, w.description, subscribers, [r.id for r in ordered]))
    for name, description, subscribers, ids in plan:
        sections.append(WatchSection(name=name, description=description,
                                     subscribers=subscribers, documents=hits(store, ids)))
    return sections


def _message(name: str, description: str, documents: list[Hit], email: str) -> EmailMessage:
    count = len(documents)
    message = EmailMessage()
    message["To"] = email
    message["Subject"] = (f"omvarld: {count} nytt dokument för bevakningen {name}" if count == 1
                          else f"omvarld: {count} nya dokument för bevakningen {name}")
    lines = [f"Bevakningen {name} har nya träffar.", ""]
    if description:
        lines += [description, ""]
    for doc in documents[:MAX_MAIL_DOCUMENTS]:
        when = doc.published.isoformat() if doc.published else ""
        lines += [doc.title, f"  {doc.publisher} · {doc.level} · {doc.doc_type} {when}".rstrip(),
                  f"  {doc.url}"]
        if doc.deadline:
            lines.append(f"  Sista svarsdag: {doc.deadline.isoformat()}")
        lines.append("")
    if count > MAX_MAIL_DOCUMENTS:
        lines.append(f"… och {count - MAX_MAIL_DOCUMENTS} till.")
    lines.append(f"Avsluta: omvarld watch subscribe {name!r} {email} --remove")
    message.set_content("\n".join(lines))
    return message


# -- helpers ------------------------------------------------------------------------------


def _row(s: Session, name: str) -> WatchRow:
    row = s.scalar(select(WatchRow).where(WatchRow.name == name))
    if row is None:
        raise WatchError(f"no watch named {name!r} (see `omvarld watch list`)")
    return row


def _watch(s: Session, row: WatchRow) -> Watch:
    subscribers = [Subscriber(email=e, delivery=d) for e, d in s.execute(
        select(WatchSubscriberRow.email, WatchSubscriberRow.delivery)
        .where(WatchSubscriberRow.watch_id == row.id).order_by(WatchSubscriberRow.email))]
    count = s.scalar(select(func.count(WatchMatchRow.id))
                     .where(WatchMatchRow.watch_id == row.id)) or 0
    return Watch(id=row.id, name=row.name, description=row.description or "",
                 query=SearchQuery.model_validate(row.query), created=row.created,
                 updated=row.updated, applied=row.applied, subscribers=subscribers,
                 matches=int(count))


def _as_json(query: SearchQuery) -> dict:
    """The query as stored: paging and sorting belong to a view, not to a watch."""
    return query.model_dump(mode="json", exclude={"page", "per_page", "sort"})


def _valid_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise WatchError("a watch needs a name")
    if len(name) > MAX_NAME:
        raise WatchError(f"a watch name has at most {MAX_NAME} characters")
    return name


def _valid_query(query: SearchQuery) -> None:
    if not (query.text.strip() or query.semantic.strip() or query.areas or query.stakeholders
            or query.publishers or query.sources):
        raise WatchError("a watch needs words, a semantic query, focus areas, stakeholders, "
                         "publishers or sources: otherwise it matches every document")


def _valid_email(email: str) -> str:
    _, address = parseaddr(email.strip())
    if "@" not in address or address.startswith("@") or address.endswith("@") \
            or " " in address:
        raise WatchError(f"{email!r} is not an e-mail address")
    return address.lower()


def query_from_json(data: dict) -> SearchQuery:
    """A stored or posted query, or a WatchError saying what is wrong."""
    try:
        return SearchQuery.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        raise WatchError(f"query: `{where}`: {first['msg']}") from exc
