"""Per-source health, read from the crawl runs the store records.

A scheduler wants to hear about a source only when a person is needed: when it has failed
several runs in a row, or when it still answers but returns nothing where it used to
return documents — the mark of a page whose structure changed, which must be reported as
*broken*, never mistaken for a quiet week. `omvarld sources`, the run reports and the
alert e-mails all read the same `SourceHealth`, so they never disagree.

A run interrupted halfway (the machine rebooted, the worker was killed) leaves its crawl
run "running" for ever; `close_abandoned_runs` marks such runs failed so that health and
the next run see them for what they were.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import func, select, update

from omvarld.core.model import NO_LISTING
from omvarld.store import Store, utcnow
from omvarld.store.tables import CrawlRunRow, DocumentRow

Status = Literal["ok", "failed", "broken", "running", "never"]
HISTORY = 20  # runs read per source: enough for a streak and a typical yield
TYPICAL_OF = 5  # earlier successful runs whose median yield is "what it used to return"


@dataclass(frozen=True)
class SourceHealth:
    """What a source's recent crawl runs say about it."""

    source: str
    status: Status
    last_run: datetime | None = None
    last_finished: datetime | None = None
    last_success: datetime | None = None
    consecutive_failures: int = 0
    # documents seen by the latest finished run (new + updated + unchanged)
    items_last_run: int = 0
    # the median seen by up to five successful runs before it (None: no history)
    typical_items: float | None = None
    new_last_run: int = 0
    new_recent: int = 0  # new documents over the last `recent_days`
    documents: int = 0  # documents stored from this source
    errors: list[str] = field(default_factory=list)  # of the latest finished run
    failing_since: datetime | None = None  # start of the first run of the failure streak

    @property
    def problem(self) -> str | None:
        """A one-line description of what is wrong, or None when nothing is."""
        if self.status == "broken":
            return (f"returned no documents where it used to return about "
                    f"{self.typical_items:g}: its pages may have changed structure")
        if self.consecutive_failures:
            runs = "run" if self.consecutive_failures == 1 else "runs in a row"
            first = self.errors[0] if self.errors else "no detail"
            return f"failed {self.consecutive_failures} {runs}: {first}"
        return None


def _seen(row: CrawlRunRow) -> int:
    return int(row.new or 0) + int(row.updated or 0) + int(row.unchanged or 0)


def _no_listing(row: CrawlRunRow) -> bool:
    """A crawl that failed because none of its listings could be read (an answer, but
    not one the spider can use: the source changed, not the network)."""
    return _seen(row) == 0 and any(NO_LISTING in e for e in row.errors or [])


def health_from_runs(
    source: str,
    runs: list[CrawlRunRow],
    *,
    documents: int = 0,
    min_items: float = 1,
    recent_days: int = 7,
    now: datetime | None = None,
) -> SourceHealth:
    """Health from a source's runs, newest first. `min_items`: the typical yield above
    which a run returning nothing is called broken rather than quiet."""
    now = now or utcnow()
    if not runs:
        return SourceHealth(source=source, status="never", documents=documents)
    finished = [r for r in runs if r.status != "running"]
    streak: list[CrawlRunRow] = []
    for row in finished:
        if row.status != "failed":
            break
        streak.append(row)
    successes = [r for r in finished if r.status in ("ok", "partial")]
    latest = finished[0] if finished else None
    typical = None
    if latest is not None and latest.status in ("ok", "partial"):
        earlier = [_seen(r) for r in successes[1 : 1 + TYPICAL_OF]]
        typical = statistics.median(earlier) if earlier else None
    elif successes:
        earlier = [_seen(r) for r in successes[:TYPICAL_OF]]
        typical = statistics.median(earlier)
    used_to_yield = typical is not None and typical >= min_items
    status: Status
    if latest is None:
        status = "running"
    elif latest.status == "failed" and not (_no_listing(latest) and used_to_yield):
        status = "failed"
    elif _seen(latest) == 0 and used_to_yield:
        status = "broken"
    else:
        status = "ok"
    cutoff = now - timedelta(days=recent_days)
    return SourceHealth(
        source=source,
        status=status,
        last_run=runs[0].started,
        last_finished=latest.finished if latest else None,
        last_success=successes[0].finished if successes else None,
        consecutive_failures=len(streak),
        items_last_run=_seen(latest) if latest else 0,
        typical_items=typical,
        new_last_run=int(latest.new or 0) if latest else 0,
        new_recent=sum(int(r.new or 0) for r in successes if r.started >= cutoff),
        documents=documents,
        errors=list(latest.errors or [])[:5] if latest else [],
        failing_since=streak[-1].started if streak else None,
    )


def source_health(
    store: Store,
    sources: Iterable[str],
    *,
    min_items: float = 1,
    recent_days: int = 7,
    now: datetime | None = None,
) -> dict[str, SourceHealth]:
    """The health of each of `sources` (in that order), from the store's crawl runs."""
    out: dict[str, SourceHealth] = {}
    with store.session() as s:
        counts = dict(s.execute(
            select(DocumentRow.source, func.count(DocumentRow.id)).group_by(DocumentRow.source)
        ).all())
        for source in sources:
            runs = list(s.scalars(
                select(CrawlRunRow).where(CrawlRunRow.source == source)
                .order_by(CrawlRunRow.id.desc()).limit(HISTORY)
            ))
            out[source] = health_from_runs(
                source, runs, documents=int(counts.get(source, 0)), min_items=min_items,
                recent_days=recent_days, now=now,
            )
    return out


def close_abandoned_runs(store: Store, older_than: timedelta, now: datetime | None = None,
                         source: str | None = None) -> int:
    """Mark failed every crawl run still "running" after `older_than` (its process was
    killed before it could say so); how many were closed. With `source`, that source's
    only: whoever holds its crawl lock knows every earlier run of it is dead."""
    now = now or utcnow()
    with store.session() as s:
        result = s.execute(
            update(CrawlRunRow)
            .where(CrawlRunRow.status == "running", CrawlRunRow.started < now - older_than,
                   *([CrawlRunRow.source == source] if source else []))
            .values(status="failed", finished=now, failed=1,
                    errors=["abandoned: the run was interrupted before it finished"])
        )
        return int(result.rowcount or 0)
