"""The web app's own read queries over the store: corrections of a document, the digest
archive, documents per area per week, documents per area.

Kept here rather than in the Store class because only the web app asks them; portable
SQL only (the same queries run on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select

from omvarld.store import Store
from omvarld.store.tables import DigestRow, DocumentRow, FeedbackRow, LabelRow, WebSessionRow

# The dates the weekly counts accept: a window of up to 260 weeks around any of them stays
# far from date.min and date.max (year 1 and 9999), where the arithmetic overflows.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


@dataclass(frozen=True)
class Correction:
    area: str
    action: str
    comment: str
    author: str
    created: datetime


@dataclass(frozen=True)
class WeekCounts:
    week: str                 # ISO week, e.g. "2026-W47"
    monday: date
    documents: int            # every document of the week, labelled or not
    areas: dict[str, int]     # area id -> documents with that area accepted


def corrections_of(store: Store, doc_id: int) -> list[Correction]:
    """A document's corrections, newest first."""
    with store.session() as s:
        rows = s.scalars(select(FeedbackRow).where(FeedbackRow.document_id == doc_id)
                         .order_by(FeedbackRow.id.desc()))
        return [Correction(r.area, r.action, r.comment or "", r.author, r.created) for r in rows]


def digests(store: Store) -> list[DigestRow]:
    """Every recorded digest, newest week first."""
    with store.session() as s:
        return list(s.scalars(select(DigestRow).order_by(DigestRow.week.desc())))


def area_counts(store: Store) -> dict[str, int]:
    """Documents with each area accepted."""
    with store.session() as s:
        rows = s.execute(select(LabelRow.area, func.count(LabelRow.document_id))
                         .where(LabelRow.accepted.is_(True)).group_by(LabelRow.area))
        return {area: int(n) for area, n in rows}


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def weekly_counts(store: Store, weeks: int, *, until: date | None = None,
                  basis: str = "published") -> list[WeekCounts]:
    """Documents per focus area per ISO week for the `weeks` weeks ending with the week
    of `until` (default today), oldest first. `basis` "published" dates a document by
    its publication date (first seen when it has none); "first_seen" by when omvarld
    found it, the digest's notion of a week."""
    until = min(max(until or date.today(), FIRST_DAY), LAST_DAY)
    last_monday = until - timedelta(days=until.weekday())
    first_monday = last_monday - timedelta(weeks=weeks - 1)
    lo, hi = first_monday, last_monday + timedelta(days=6)
    lo_dt, hi_dt = datetime.combine(lo, time.min), datetime.combine(hi, time.max)
    with store.session() as s:
        if basis == "first_seen":
            where = (DocumentRow.first_seen >= lo_dt) & (DocumentRow.first_seen <= hi_dt)
        else:
            where = (((DocumentRow.published >= lo) & (DocumentRow.published <= hi))
                     | (DocumentRow.published.is_(None) & (DocumentRow.first_seen >= lo_dt)
                        & (DocumentRow.first_seen <= hi_dt)))
        dated = {
            doc_id: (seen.date() if basis == "first_seen" or pub is None else pub)
            for doc_id, pub, seen in s.execute(
                select(DocumentRow.id, DocumentRow.published, DocumentRow.first_seen)
                .where(where))
        }
        labelled = s.execute(
            select(LabelRow.document_id, LabelRow.area)
            .join(DocumentRow, DocumentRow.id == LabelRow.document_id)
            .where(where, LabelRow.accepted.is_(True)))
        per_area: dict[str, Counter[str]] = {}
        for doc_id, area in labelled:
            if doc_id in dated:
                per_area.setdefault(iso_week(dated[doc_id]), Counter())[area] += 1
    totals = Counter(iso_week(d) for d in dated.values())
    out = []
    for i in range(weeks):
        monday = first_monday + timedelta(weeks=i)
        week = iso_week(monday)
        out.append(WeekCounts(week, monday, totals.get(week, 0),
                              dict(per_area.get(week, Counter()))))
    return out


def newest_date(store: Store) -> date | None:
    """The newest publication date stored (first-seen date when none is published): where
    the dashboard points when its window is empty."""
    with store.session() as s:
        published = s.scalar(select(func.max(DocumentRow.published)))
        seen = s.scalar(select(func.max(DocumentRow.first_seen)))
    return published or (seen.date() if seen else None)



def start_session(store: Store, key: str, method: str, name: str | None, hours: float,
                  now: datetime | None = None) -> datetime:
    """Record a login (`key`: the SHA-256 of the cookie's secret) lasting `hours`; expired
    sessions are swept at the same time. Returns when it expires."""
    now = now or datetime.now()
    expires = now + timedelta(hours=hours)
    with store.session() as s:
        s.execute(delete(WebSessionRow).where(WebSessionRow.expires <= now))
        s.add(WebSessionRow(id=key, method=method, name=name, created=now, expires=expires))
    return expires


def live_session(store: Store, key: str, now: datetime | None = None
                 ) -> WebSessionRow | None:
    """The session `key` names, unless it expired or was revoked."""
    now = now or datetime.now()
    with store.session() as s:
        row = s.get(WebSessionRow, key)
        return row if row is not None and row.expires > now else None


def end_session(store: Store, key: str) -> bool:
    """Revoke a session (logging out); False when there was none."""
    with store.session() as s:
        gone = s.execute(delete(WebSessionRow).where(WebSessionRow.id == key)).rowcount
    return bool(gone)
