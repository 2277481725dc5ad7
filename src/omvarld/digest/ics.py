"""The deadlines of the open consultations as an iCalendar file (`.ics`).

A deadline a strategist does not put in a calendar is a deadline missed: one all-day
event per consultation on its last day for answers, with a reminder a week before and
the link. UIDs derive from the document's address, so importing next week's file updates
the events instead of adding copies, and DTSTAMP derives from the week, so a regenerated
digest gives the same bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from icalendar import Alarm, Calendar, Event

from omvarld import __version__
from omvarld.core.model import Digest, DigestEntry

REMINDER = timedelta(days=7)


def consultations_ics(entries: Iterable[DigestEntry], *, week: str, stamp: datetime) -> bytes:
    """One VEVENT per entry with a deadline; `stamp` (the week's end) dates the file."""
    calendar = Calendar()
    calendar.add("prodid", f"-//Malmö stad//omvarld {__version__}//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Remisser att svara på ({week})")
    stamp_utc = stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)
    for entry in entries:
        if entry.deadline is None:
            continue
        event = Event()
        uid = hashlib.sha256(entry.url.encode("utf-8")).hexdigest()[:24]
        event.add("uid", f"{uid}@omvarld")
        event.add("dtstamp", stamp_utc)
        event.add("dtstart", entry.deadline)
        event.add("dtend", entry.deadline + timedelta(days=1))
        event.add("summary", f"Sista svarsdag: {entry.title}")
        event.add("description", f"{entry.publisher}\n{entry.url}")
        if entry.url.startswith(("http://", "https://")):
            event.add("url", entry.url)
        event.add("transp", "TRANSPARENT")
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"Remissvar om en vecka: {entry.title}")
        alarm.add("trigger", datetime.combine(entry.deadline, time(8, 0), tzinfo=UTC) - REMINDER)
        event.add_component(alarm)
        calendar.add_component(event)
    return calendar.to_ical()


def digest_ics(digest: Digest) -> bytes:
    """The open consultations' deadlines as an `.ics` calendar."""
    from omvarld.digest.render import week_stamp

    return consultations_ics(digest.consultations, week=digest.week, stamp=week_stamp(digest))
