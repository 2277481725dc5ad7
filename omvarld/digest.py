"""The weekly digest: what a strategist reads on Monday morning.

`build_digest` turns one ISO week of the store into a `Digest` (what is new per focus area,
ranked, with a short extractive summary and the classifier's evidence, plus the open
consultations to act on); `render_html` / `render_markdown` turn it into text through the
Jinja2 templates in `omvarld/templates/`; `write_digest` does both, writes the files
atomically and records the digest in the store.

A digest is a pure function of the store and the week: `now` only stamps `generated` and
decides which consultations are still open, so re-running a week never changes its content
(and `generated` is left out of the content hash)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from omvarld import __version__
from omvarld.config import FocusAreas
from omvarld.errors import OmvarldError
from omvarld.model import DOC_TYPE_NAMES_SV, LEVEL_NAMES_SV, Digest, DigestEntry
from omvarld.store import Store
from omvarld.store.tables import DocumentRow, LabelRow

log = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TEMPLATES = Path(__file__).resolve().parent / "templates"

CONSULTATION_WINDOW = timedelta(weeks=8)
SUMMARY_MAX_CHARS = 400
EVIDENCE_MAX_CHARS = 400
MAX_TERMS = 6
_SUMMARY_SCAN_CHARS = 6000

# Ranking tiers (lower first). Documents that change law or ask for an answer outrank
# reports, which outrank news: a strategist has little time and must see the former.
DOC_TYPE_RANK: dict[str, int] = {
    **dict.fromkeys(
        ("proposition", "legislative_proposal", "sou", "ds", "remiss", "consultation", "directive"),
        0,
    ),
    **dict.fromkeys(("committee_report", "decision", "law"), 1),
    **dict.fromkeys(("report", "motion"), 2),
    **dict.fromkeys(("press_release", "news", "other"), 3),
}
LEVEL_RANK: dict[str, int] = {"eu": 0, "national": 0, "regional": 1, "local": 2}
_UNKNOWN_RANK = 9

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
# fmt: off
_MONTHS_SV = (
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
)
# fmt: on


# -- weeks ----------------------------------------------------------------------------------


def parse_week(week: str) -> tuple[date, date]:
    """`"2026-W47"` → (Monday, Sunday) of that ISO week.

    Strict on purpose: the week string names files and digest records, so two spellings
    of one week must not produce two digests."""
    match = _WEEK.match(week.strip()) if isinstance(week, str) else None
    if match is None:
        raise OmvarldError(
            f"week must look like 2026-W47 (ISO year, 'W', two-digit week); got {week!r}"
        )
    year, number = int(match[1]), int(match[2])
    try:
        monday = date.fromisocalendar(year, number, 1)
    except ValueError as exc:
        weeks_in_year = date(year, 12, 28).isocalendar().week
        raise OmvarldError(
            f"week {week!r} does not exist: {year} has weeks 01 to {weeks_in_year:02d} "
            "(week must look like 2026-W47)"
        ) from exc
    return monday, monday + timedelta(days=6)


def current_week(now: datetime | None = None) -> str:
    """The ISO week it is now in Malmö (a naive `now` is taken as UTC, like the store)."""
    local = _to_utc(now).astimezone(STOCKHOLM)
    iso = local.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _to_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        return now.replace(tzinfo=UTC)
    return now.astimezone(UTC)


def _week_bounds_utc(start: date, end: date) -> tuple[datetime, datetime]:
    """Malmö's Monday 00:00 .. next Monday 00:00 as the naive UTC the store's columns hold."""

    def at_midnight(day: date) -> datetime:
        local = datetime.combine(day, time(0), tzinfo=STOCKHOLM)
        return local.astimezone(UTC).replace(tzinfo=None)

    return at_midnight(start), at_midnight(end + timedelta(days=1))


# -- summaries ------------------------------------------------------------------------------

# Abbreviations after which a full stop does not end a sentence (sv, en, da), lower case,
# without the final dot. Kept small: a rare miss only makes one summary a little long.
# fmt: off
_ABBREVIATIONS = frozenset({
    "t.ex", "bl.a", "m.m", "m.fl", "dvs", "d.v.s", "s.k", "osv", "o.s.v", "jfr", "jf", "ca",
    "resp", "fr.o.m", "t.o.m", "kap", "prop", "dir", "nr", "art", "etc", "e.g", "i.e", "mr",
    "mrs", "ms", "dr", "no", "vol", "fig", "inkl", "exkl", "f.d", "f.eks", "mv", "m.v", "tel",
    "ff", "pp", "vs", "prof", "jan", "feb", "aug", "sept", "okt", "nov", "dec",
})
# fmt: on
_BOUNDARY = re.compile(r"""([.!?…]+["'”»)\]]*)\s+(?=["'“«(\[]?[A-ZÅÄÖÆØÜÉ0-9])""")
_TERMINAL = re.compile(r"""[.!?…:;]["'”»)\]]*$""")
_SPACES = re.compile(r"\s+")


def _one_line(value: str | None) -> str:
    return _SPACES.sub(" ", value or "").strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, robust to what scraped and PDF text looks like.

    Headings (short lines without final punctuation) are dropped and hard-wrapped lines
    are joined, so a summary starts with prose and not with "Sammanfattning"."""
    paragraphs: list[str] = []
    current: list[str] = []
    for raw in (text or "").splitlines():
        line = _one_line(raw)
        is_heading = bool(line) and not _TERMINAL.search(line) and len(line.split()) <= 8
        if not line or is_heading:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
    if current:
        paragraphs.append(" ".join(current))
    if not paragraphs and text.strip():
        paragraphs = [_one_line(text)]

    sentences: list[str] = []
    for paragraph in paragraphs:
        start = 0
        for match in _BOUNDARY.finditer(paragraph):
            candidate = paragraph[start : match.end(1)]
            words = candidate.split()
            last_word = words[-1].rstrip(".!?…\"'”»)]").lower() if words else ""
            if match[1].startswith(".") and (
                last_word in _ABBREVIATIONS or (len(last_word) == 1 and last_word.isalpha())
            ):
                continue  # "t.ex. Malmö", "A. Andersson": not the end of a sentence
            sentences.append(candidate.strip())
            start = match.end()
        tail = paragraph[start:].strip()
        if tail:
            sentences.append(tail)
    return sentences


def _cap(text: str, limit: int) -> str:
    """Cut at a word boundary and say so with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:–-") + "…"


def _normalise_for_compare(value: str) -> str:
    return re.sub(r"[\W_]+", " ", value).strip().lower()


def extractive_summary(
    title: str, summary: str, text: str, *, sentences: int = 2, limit: int = SUMMARY_MAX_CHARS
) -> str:
    """The first two sentences of the document's own summary, else of its text.

    Extractive, in the document's own language: a strategist can trust that every word
    was written by the publisher. Text that merely repeats the title is skipped."""
    source = summary if summary.strip() else text
    title_key = _normalise_for_compare(title)
    # Only the opening matters; a whole report's text need not be split.
    lines = [
        line
        for line in source[:_SUMMARY_SCAN_CHARS].splitlines()
        if _normalise_for_compare(line) != title_key
    ]
    found = split_sentences("\n".join(lines))
    while found and _normalise_for_compare(found[0]) == title_key:
        found.pop(0)
    return _cap(" ".join(found[:sentences]), limit)


# -- building -------------------------------------------------------------------------------


def _rank_key(row: DocumentRow, label: LabelRow) -> tuple[Any, ...]:
    published = row.published.toordinal() if row.published else 0
    return (
        -float(label.score),
        DOC_TYPE_RANK.get(row.doc_type, _UNKNOWN_RANK),
        LEVEL_RANK.get(row.level, _UNKNOWN_RANK),
        -published,  # newest first; undated last
        row.id,
    )


def _terms(evidence: dict[str, Any] | None) -> list[str]:
    """The matched vocabulary terms, each once (case-insensitive), in the classifier's order."""
    terms: list[str] = []
    lowered: set[str] = set()
    for raw in (evidence or {}).get("terms") or []:
        term = _one_line(str(raw))
        if term and term.lower() not in lowered:
            terms.append(term)
            lowered.add(term.lower())
    return terms[:MAX_TERMS]


def _entry(row: DocumentRow, label: LabelRow | None) -> DigestEntry:
    evidence = (label.evidence if label is not None else None) or {}
    sentence = _one_line(evidence.get("sentence"))
    return DigestEntry(
        document_id=row.id,
        title=_one_line(row.title),
        url=row.url,
        publisher=_one_line(row.publisher),
        level=row.level,
        doc_type=row.doc_type,
        published=row.published,
        language=row.language,
        summary=extractive_summary(row.title, row.summary or "", row.text or ""),
        score=round(float(label.score), 4) if label is not None else 0.0,
        terms=_terms(evidence),
        sentence=_cap(sentence, EVIDENCE_MAX_CHARS) if sentence else None,
        deadline=row.deadline,
    )


def _best_label(row: DocumentRow, area_ids: Iterable[str]) -> LabelRow | None:
    """The strongest accepted label among the configured areas (for consultations)."""
    wanted = set(area_ids)
    accepted = [lab for lab in row.labels if lab.accepted and lab.area in wanted]
    return min(accepted, key=lambda lab: (-lab.score, lab.area), default=None)


def build_digest(
    store: Store,
    week: str,
    *,
    areas: FocusAreas,
    per_area: int = 10,
    max_age_days: int | None = 60,
    now: datetime | None = None,
) -> Digest:
    """Build the digest of `week` from what was first stored during that week.

    Selection is by first-seen time, not publication date: a digest reports what is new
    *to us*, so nothing is reported twice and nothing falls between two weeks. Documents
    published more than `max_age_days` before the week are left out so a first crawl's
    backlog does not flood one digest (`None` keeps everything, for replays)."""
    if per_area < 1:
        raise OmvarldError(f"per_area must be at least 1; got {per_area}")
    start, end = parse_week(week)
    iso = start.isocalendar()
    week_id = f"{iso.year}-W{iso.week:02d}"
    now_utc = _to_utc(now)
    today = now_utc.astimezone(STOCKHOLM).date()

    first, after = _week_bounds_utc(start, end)
    seen = store.documents_first_seen(first, after)
    if max_age_days is None:
        rows = seen
    else:
        oldest = start - timedelta(days=max_age_days)
        rows = [r for r in seen if r.published is None or r.published >= oldest]
    if len(rows) < len(seen):
        log.info(
            "digest %s: %d of %d documents left out as published before %s (backlog)",
            week_id,
            len(seen) - len(rows),
            len(seen),
            start - timedelta(days=max_age_days or 0),
        )

    by_area: dict[str, list[DigestEntry]] = {}
    more: dict[str, int] = {}
    for area_id in areas.ids:
        candidates = [
            (row, label)
            for row in rows
            for label in row.labels
            if label.area == area_id and label.accepted
        ]
        candidates.sort(key=lambda pair: _rank_key(*pair))
        by_area[area_id] = [_entry(row, label) for row, label in candidates[:per_area]]
        more[area_id] = max(0, len(candidates) - per_area)

    open_rows = store.open_consultations(today, today + CONSULTATION_WINDOW)
    consultations = [_entry(row, _best_label(row, areas.ids)) for row in open_rows]

    digest = Digest(
        week=week_id,
        start=start,
        end=end,
        generated=now_utc.astimezone(STOCKHOLM),
        areas=by_area,
        more=more,
        consultations=consultations,
        documents_in_week=len(rows),
    )
    log.info(
        "digest %s: %d documents, %d entries, %d open consultations",
        week_id,
        len(rows),
        sum(len(v) for v in by_area.values()),
        len(consultations),
    )
    return digest


def digest_content_hash(digest: Digest) -> str:
    """Hash of what the digest says; the time it was generated does not count."""
    payload = digest.model_dump_json(exclude={"generated"})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# -- rendering ------------------------------------------------------------------------------


def _date_range_sv(start: date, end: date) -> str:
    """ "16–22 november 2026", "30 november – 6 december 2026", across years in full."""
    if start.year != end.year:
        return (
            f"{start.day} {_MONTHS_SV[start.month - 1]} {start.year} – "
            f"{end.day} {_MONTHS_SV[end.month - 1]} {end.year}"
        )
    if start.month != end.month:
        return (
            f"{start.day} {_MONTHS_SV[start.month - 1]} – "
            f"{end.day} {_MONTHS_SV[end.month - 1]} {end.year}"
        )
    return f"{start.day}–{end.day} {_MONTHS_SV[end.month - 1]} {end.year}"


def _href(url: str) -> str:
    """Only web links become links: a stored `javascript:` URL must never be clickable."""
    return url if url.startswith(("http://", "https://")) else "#"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def _md(value: Any) -> str:
    """Escape scraped text for Markdown: brackets would break links, `<` would open HTML
    when the Markdown is rendered, `*`/`_` would start emphasis."""
    text = _MD_SPECIAL.sub(r"\\\1", _one_line(str(value)))
    return re.sub(r"^([#>+-])", r"\\\1", text)


def _md_url(url: str) -> str:
    """A URL that cannot end a Markdown link early."""
    href = _href(url)
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        href = href.replace(char, code)
    return href


def _score(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def _environment(*, html: bool) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        level_sv=lambda level: LEVEL_NAMES_SV.get(level, level),
        doc_type_sv=lambda doc_type: DOC_TYPE_NAMES_SV.get(doc_type, doc_type),
        href=_href,
        md=_md,
        md_url=_md_url,
        score=_score,
    )
    return env


def _days_left_sv(days: int | None) -> str:
    if days is None:
        return ""
    if days == 0:
        return "i dag"
    return "om 1 dag" if days == 1 else f"om {days} dagar"


_METHOD_SV = (
    "Så togs sammanställningen fram: dokument som samlades in för första gången denna vecka "
    "(utom äldre dokument som en första insamling hittar) klassificerades automatiskt mot "
    "Malmö stads fokusområden. Under varje område står dokumenten rangordnade efter "
    "klassificerarens poäng, därefter dokumenttyp, nivå och datum. ”Varför” visar de termer ur "
    "områdets ordlista och den mening i dokumentet som gav klassningen; sammanfattningen är "
    "dokumentets egna första meningar, på dokumentets språk. Remisserna är dokument med sista "
    "svarsdag inom {weeks} veckor."
)


def _context(digest: Digest, areas: FocusAreas) -> dict[str, Any]:
    """Everything the templates show, worked out once so the two formats agree."""
    sections = []
    for area in areas.areas:
        entries = digest.areas.get(area.id, [])
        extra = digest.more.get(area.id, 0)
        sections.append(
            {
                "id": area.id,
                "name": area.name("sv"),
                "entries": entries,
                "more": extra,
                "total": len(entries) + extra,
            }
        )
    today = digest.generated.astimezone(STOCKHOLM).date()
    consultations = []
    for entry in digest.consultations:
        days_left = (entry.deadline - today).days if entry.deadline else None
        consultations.append(
            {"entry": entry, "days_left": days_left, "days_left_text": _days_left_sv(days_left)}
        )
    weeks = CONSULTATION_WINDOW.days // 7
    count = len(digest.consultations)
    consultations_line = (
        f"{count} {'öppen remiss' if count == 1 else 'öppna remisser'} att agera på "
        f"– sista svarsdag inom {weeks} veckor."
    )
    shown = [e for s in sections for e in s["entries"]] + list(digest.consultations)
    iso = digest.start.isocalendar()
    return {
        "digest": digest,
        "week_number": iso.week,
        "week_year": iso.year,
        "date_range": _date_range_sv(digest.start, digest.end),
        "sections": sections,
        "matched": sum(s["total"] for s in sections),
        "consultations": consultations,
        "consultations_line": consultations_line,
        "window_weeks": weeks,
        "method": _METHOD_SV.format(weeks=weeks),
        "publishers": sorted({e.publisher for e in shown if e.publisher}),
        "generated": digest.generated.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M"),
        "version": __version__,
    }


def render_html(digest: Digest, areas: FocusAreas) -> str:
    """The digest as a self-contained HTML page for a mail client: inline CSS, no scripts,
    every scraped string escaped by the template engine."""
    template = _environment(html=True).get_template("digest.html.j2")
    return template.render(**_context(digest, areas))


def render_markdown(digest: Digest, areas: FocusAreas) -> str:
    """The same digest as Markdown, for chat, wikis and plain-text mail."""
    template = _environment(html=False).get_template("digest.md.j2")
    return template.render(**_context(digest, areas))


# -- writing --------------------------------------------------------------------------------


def _write_atomically(path: Path, content: str) -> None:
    """Temp file + rename: a reader (or the mailer) never sees half a digest."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_digest(
    store: Store,
    week: str,
    out_dir: Path | str,
    *,
    areas: FocusAreas,
    per_area: int = 10,
    max_age_days: int | None = 60,
    now: datetime | None = None,
) -> dict[str, Path]:
    """Build, render and write `out_dir/<week>.html` and `.md`, and record the digest.

    Idempotent: a re-run overwrites the same two files and updates the one record."""
    digest = build_digest(
        store, week, areas=areas, per_area=per_area, max_age_days=max_age_days, now=now
    )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"html": out / f"{digest.week}.html", "markdown": out / f"{digest.week}.md"}
    _write_atomically(paths["html"], render_html(digest, areas))
    _write_atomically(paths["markdown"], render_markdown(digest, areas))
    entries = sum(len(v) for v in digest.areas.values())
    store.record_digest(
        digest.week,
        digest_content_hash(digest),
        {kind: str(path) for kind, path in paths.items()},
        entries,
    )
    log.info("digest %s written to %s", digest.week, out)
    return paths
