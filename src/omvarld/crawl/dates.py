"""Dates as Swedish publishers write them, shared by every spider.

Swedish sources mix ISO timestamps ("2017-03-24 15:07:06", DC.Date metadata) with
written-out dates ("24 mars 2017", even inside `time[datetime]` on old regeringen.se
pages). Remisser state their response deadline only in prose, in several wordings:

- "Remissvaren ska ha kommit in till Justitiedepartementet senast den 10 mars 2026."
- "Sista dag att svara på remissen är den 27 april 2026."
- "Sista dagen att svara är den 31 mars 2026."

Danish publishers (Folketinget, the ministries, Greater Copenhagen) write "22. november 2026"
or "3. marts 2025"; English pages "22 November 2026" or "November 22, 2026". `parse_date`
reads all three; `check_published` is the one policy for dates that cannot be true.

**Dates in the future.** A publication date more than `FUTURE_TOLERANCE` after today is a
typo or a misparse ("2062" for "2026"), not a scheduled document: it is dropped (the
document is stored without a date, so the digest does not rank it as the newest of all)
and the spider reports it. Deadlines are meant to be in the future and are never checked.
An unparseable date is likewise stored as no date, and reported where the page had one.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

import dateparser

_ISO = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
# An ISO date inside a short text: "Publicerad: 2026-10-28".
_ISO_ANYWHERE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")
_MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
# "10 mars 2026", "1 januari 2027" — a day, a Swedish month name and a year.
_WRITTEN_DATE = re.compile(rf"\b(\d{{1,2}})\s+({_MONTHS})\s+(\d{{4}})\b", re.IGNORECASE)
# The phrases that announce a remiss deadline. A plain "senast den …" is not enough: press
# releases say "ska redovisa uppdraget senast den 28 april 2027" about something else.
_DEADLINE_CUE = re.compile(
    r"remissvar\w*\s+ska\s+ha\s+kommit\s+in"
    r"|sista\s+dag(?:en)?\s+(?:att|för\s+att)\s+(?:svara|lämna)"
    r"|svar(?:en)?\s+på\s+remissen\s+ska\s+ha\s+kommit\s+in"
    r"|yttrande(?:t|n)?\s+ska\s+ha\s+kommit\s+in"
    # Boverket: "Svar senast 15 januari 2027."; Trafikverket's granskning: "Synpunkter på
    # granskningshandlingarna ska ha kommit in till Trafikverket senast den 8 januari 2027."
    r"|\bsvar\s+senast\b"
    r"|synpunkter\b[^.]{0,80}?\bska\s+ha\s+kommit\s+in"
    # Danish høringer: "Høringsfristen er den 27. november 2026."
    r"|høringsfrist\w*"
    r"|frist\w*\s+for\s+(?:at\s+(?:afgive|sende)\s+)?høringssvar",
    re.IGNORECASE,
)
_MONTHS_DA = "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december"
_MONTHS_EN = "january|february|march|april|may|june|july|august|september|october|november|december"
# "22. november 2026" (Danish), "22 November 2026" (English or Swedish).
_WRITTEN_DATE_ANY = re.compile(
    rf"\b(\d{{1,2}})\.?\s+({_MONTHS}|{_MONTHS_DA}|{_MONTHS_EN})\s+(\d{{4}})\b", re.IGNORECASE
)
# A publication date may be at most this far ahead of today (time zones, embargo lifts).
FUTURE_TOLERANCE = timedelta(days=2)
# A sentence ends at . ! ? — but not after a Danish ordinal day ("den 27. november 2026").
_SENTENCE_END = re.compile(r"(?<=[.!?])(?<!\s\d\.)(?<!\s\d\d\.)\s+|\n+")
_DATEPARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_DAY_OF_MONTH": "first",
    "REQUIRE_PARTS": ["day", "month", "year"],
}


def _read_date(
    value: str | None,
    written_dates: re.Pattern[str],
    languages: list[str],
    settings: dict[str, Any],
    *,
    iso_anywhere: bool = False,
    limit: int | None = None,
) -> date | None:
    """ISO text read directly (dateparser is slow and would be asked thousands of times per
    crawl), else the written date found by `written_dates`, else the text, by dateparser."""
    if not value or not value.strip():
        return None
    iso = _ISO.match(value) or (_ISO_ANYWHERE.search(value) if iso_anywhere else None)
    if iso:
        try:
            return date.fromisoformat(iso.group(1))
        except ValueError:
            return None
    written = written_dates.search(value)
    text = written.group(0) if written else value.strip()[:limit]
    parsed: datetime | None = dateparser.parse(text, languages=languages, settings=settings)
    return parsed.date() if parsed else None


def parse_swedish_date(value: str | None) -> date | None:
    """A date from an ISO timestamp or Swedish prose ("24 mars 2017"); None if there is none.

    Anything but ISO goes to dateparser restricted to Swedish, requiring day, month and
    year, so "mars 2017" alone never becomes a made-up first of March.
    """
    return _read_date(value, _WRITTEN_DATE, ["sv"], _DATEPARSER_SETTINGS)


def parse_remiss_deadline(text: str | None) -> date | None:
    """The response deadline of a remiss, from the sentence that announces it.

    Only sentences with a deadline phrase count (see the module docstring); the first date
    written out in such a sentence is the deadline. Danish høringer ("Høringsfristen er den
    27. november 2026") are read the same way.
    """
    if not text:
        return None
    for sentence in _SENTENCE_END.split(text):
        if not _DEADLINE_CUE.search(sentence):
            continue
        written = _WRITTEN_DATE_ANY.search(sentence)
        if written:
            found = parse_date(written.group(0))
            if found:
                return found
    return None


def parse_date(
    value: str | None, languages: tuple[str, ...] = ("sv", "da", "en"), order: str = "DMY"
) -> date | None:
    """A date from ISO text, RFC 822 (feeds), or Swedish, Danish or English prose; an ISO
    date inside a short text ("Publicerad: 2026-10-28") before a written one. `order` is
    how a numeric date is written: the Council's `9/25/2026 1:10:00 PM` is month-first
    (`MDY`), a Danish `18-11-2026` day-first (`DMY`, the default).

    Like `parse_swedish_date`, a month and year alone never become a date.
    """
    # No relative dates ("igår", "i går"): a page's "yesterday" means nothing a week later.
    return _read_date(
        value,
        _WRITTEN_DATE_ANY,
        list(languages),
        {**_DATEPARSER_SETTINGS, "DATE_ORDER": order, "PARSERS": ["timestamp", "absolute-time"]},
        iso_anywhere=True,
        limit=200,
    )


def find_written_date(
    text: str | None, languages: tuple[str, ...] = ("sv", "da", "en")
) -> date | None:
    """The first date written out in running text ("Publicerad 22 november 2026")."""
    if not text:
        return None
    written = _WRITTEN_DATE_ANY.search(text)
    return parse_date(written.group(0), languages) if written else None


def check_published(
    value: date | None, today: date | None = None
) -> tuple[date | None, str | None]:
    """The publication date to store and, when it had to be dropped, why (see the module
    docstring: a date in the future is stored as no date and reported)."""
    if value is None:
        return None, None
    today = today or date.today()
    if value > today + FUTURE_TOLERANCE:
        return None, f"publication date {value.isoformat()} is in the future; stored without a date"
    return value, None
