"""Named locks in the store, so that two overlapping runs never crawl the same source or
classify at the same time (a daily run still busy when the Monday digest run starts, or
a run started by hand during a scheduled one).

A lock is a row (`ops_locks`: name, holder, expiry, and the host and process id of its
owner). Taking it is an INSERT, which the database's primary key makes atomic on SQLite
and PostgreSQL alike. A lock belongs to a live process: one whose process is gone (killed,
crashed; or a pid since reused by a process started after the lock was taken) is taken
over at once when its owner ran on this host, and once it has expired when it ran on
another (long work pushes the expiry forward as it goes: a heartbeat). Taking over is a
conditional UPDATE that only one contender can win. The same holder (a flow run resumed
after a crash keeps its id) takes its own lock again at once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from omvarld.store import Store, utcnow
from omvarld.store.tables import OpsLockRow

log = logging.getLogger(__name__)

CRAWL_LOCK_MARGIN = timedelta(minutes=10)  # beyond the crawl's own time limit


def crawl_lock(source_id: str) -> str:
    """The lock every crawl of a source takes: flows and `omvarld crawl` alike."""
    return f"crawl:{source_id}"


def crawl_lock_ttl(timeout: float) -> timedelta:
    return timedelta(seconds=timeout) + CRAWL_LOCK_MARGIN


def process_holder() -> str:
    """A holder name for a run outside a flow (a command typed by hand)."""
    return f"process:{this_host()}:{os.getpid()}"


def acquire(store: Store, name: str, holder: str, ttl: timedelta) -> bool:
    """Take lock `name` for `holder` until now + `ttl`; False if a live owner holds it."""
    now = utcnow()
    me = {"host": this_host(), "pid": os.getpid()}
    try:
        with store.session() as s:
            s.add(OpsLockRow(name=name, holder=holder, acquired=now, expires=now + ttl, **me))
        return True
    except IntegrityError:
        pass
    with store.session() as s:
        row = s.scalar(select(OpsLockRow).where(OpsLockRow.name == name))
        if row is None:  # released in between: try once more from the start
            return acquire(store, name, holder, ttl)
        if row.holder != holder:
            gone = owner_gone(row)
            if not gone and row.expires > now:
                return False
            log.warning("lock %s of %s (%s) taken over: %s", name, row.holder,
                        f"pid {row.pid} on {row.host}",
                        "its process is gone" if gone else f"expired at {row.expires}")
        taken = s.execute(
            update(OpsLockRow)
            .where(OpsLockRow.name == name, OpsLockRow.holder == row.holder,
                   OpsLockRow.expires == row.expires)
            .values(holder=holder, acquired=now, expires=now + ttl, **me)
        )
        return bool(taken.rowcount)


@lru_cache(maxsize=1)
def this_host() -> str:
    return socket.gethostname()


def owner_gone(row: OpsLockRow) -> bool:
    """Whether the process that took the lock is known to be dead: it ran on this host
    and no process has its pid, or the one that has it started after the lock was taken.
    A lock of another host (or of an older version, without a pid) is never known dead."""
    if row.pid is None or row.host != this_host():
        return False
    started = process_started(row.pid)
    if started is None:
        return True
    return started > row.acquired + timedelta(seconds=1)


def process_started(pid: int) -> datetime | None:
    """When process `pid` started (naive UTC), None when there is none. Linux's /proc;
    elsewhere only whether it exists (its start time then reads as the epoch)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # exists, another user's
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return datetime(1970, 1, 1)
    return datetime.fromtimestamp(boot + ticks / os.sysconf("SC_CLK_TCK"), UTC
                                  ).replace(tzinfo=None)


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
