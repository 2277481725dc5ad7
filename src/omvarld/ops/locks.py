"""Named locks in the store, so that two overlapping runs never crawl the same source or
classify at the same time (a daily run still busy when the Monday digest run starts, or
a run started by hand during a scheduled one).

A lock is a row (`ops_locks`: name, holder, expiry). Taking it is an INSERT, which the
database's primary key makes atomic on SQLite and PostgreSQL alike; a lock whose holder
was killed is taken over once it has expired, by a conditional UPDATE that only one
contender can win. The same holder (a flow run resumed after a crash keeps its id) takes
its own lock again at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from omvarld.store import Store, utcnow
from omvarld.store.tables import OpsLockRow

log = logging.getLogger(__name__)


def acquire(store: Store, name: str, holder: str, ttl: timedelta) -> bool:
    """Take lock `name` for `holder` until now + `ttl`; False if someone else holds it."""
    now = utcnow()
    try:
        with store.session() as s:
            s.add(OpsLockRow(name=name, holder=holder, acquired=now, expires=now + ttl))
        return True
    except IntegrityError:
        pass
    with store.session() as s:
        row = s.scalar(select(OpsLockRow).where(OpsLockRow.name == name))
        if row is None:  # released in between: try once more from the start
            return acquire(store, name, holder, ttl)
        if row.holder != holder and row.expires > now:
            return False
        if row.holder != holder:
            log.warning("lock %s of %s expired at %s: taken over", name, row.holder,
                        row.expires)
        taken = s.execute(
            update(OpsLockRow)
            .where(OpsLockRow.name == name, OpsLockRow.holder == row.holder,
                   OpsLockRow.expires == row.expires)
            .values(holder=holder, acquired=now, expires=now + ttl)
        )
        return bool(taken.rowcount)


def refresh(store: Store, name: str, holder: str, ttl: timedelta) -> None:
    """Push the expiry of a lock we hold (long work calls this as it goes)."""
    with store.session() as s:
        s.execute(update(OpsLockRow).where(OpsLockRow.name == name,
                                           OpsLockRow.holder == holder)
                  .values(expires=utcnow() + ttl))


def release(store: Store, name: str, holder: str) -> None:
    with store.session() as s:
        s.execute(delete(OpsLockRow).where(OpsLockRow.name == name,
                                           OpsLockRow.holder == holder))


def holder_of(store: Store, name: str) -> str | None:
    with store.session() as s:
        return s.scalar(select(OpsLockRow.holder).where(OpsLockRow.name == name))


@contextmanager
def locked(store: Store, name: str, holder: str, ttl: timedelta) -> Iterator[bool]:
    """`with locked(...) as mine:` — `mine` says whether we hold it; released on exit."""
    mine = acquire(store, name, holder, ttl)
    try:
        yield mine
    finally:
        if mine:
            release(store, name, holder)
