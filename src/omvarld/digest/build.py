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
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from omvarld.config.digest import DigestConfig, Ranking, load_digest_config
from omvarld.core.areas import FocusAreas
from omvarld.core.errors import OmvarldError
from omvarld.core.model import Digest, DigestEntry
from omvarld.digest.positions import Positions, load_positions
from omvarld.nlp.text import cap_sentences, cap_words, is_metadata, split_sentences, summarize
from omvarld.store import Store
from omvarld.store.tables import DocumentRow, LabelRow

log = logging.getLogger(__name__)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TEMPLATES = Path(__file__).resolve().parent / "templates"

CONSULTATION_WINDOW = timedelta(weeks=8)
EVIDENCE_MAX_CHARS = 400
STATEMENT_MAX_CHARS = 400
MAX_TERMS = 6
LOCAL_CHARS = 2000  # of the text read for the local places a document names

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


# -- text ---------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _one_line(value: str | None) -> str:
    return _SPACES.sub(" ", value or "").strip()


def _normalise_for_compare(value: str) -> str:
    return re.sub(r"[\W_]+", " ", value).strip().lower()


def _summary(row: DocumentRow) -> str:
    """The summary the classify stage stored with the labels; worked out the same way
    for a document classified before summaries were stored."""
    for label in row.labels:
        stored = (label.evidence or {}).get("summary")
        if isinstance(stored, str):
            return stored
    return summarize(row.title, row.summary or "", row.text or "")


def _statement(text: str) -> str:
    """A position's statement in full, or cut at a sentence end."""
    return cap_sentences(split_sentences(text) or [_one_line(text)], STATEMENT_MAX_CHARS)


# -- building -------------------------------------------------------------------------------


class PositionFlag(BaseModel):
    """One of Malmö's stated positions a document touches, with what matched."""

    model_config = ConfigDict(extra="forbid")

    id: str
    area: str
    statement: str
    terms: list[str]
    sentence: str | None = None
    source: str | None = None
    kind: str = "malmo"
    responsible: str | None = None


class WeeklyEntry(DigestEntry):
    """A digest entry with what the weekly digest adds: every publisher of the story
    (near-duplicates collapsed into this entry), whether the story is new this week, the
    positions it touches, the priority it was ranked by, the score in words
    (`strength`), whether its deadline has passed, why it matters to Malmö (`why`: the
    places it names, the positions it touches, its deadline) and who acts on it."""

    publishers: list[str] = Field(default_factory=list)
    story_size: int = 1
    novel: bool = True
    positions: list[PositionFlag] = Field(default_factory=list)
    priority: float = 0.0
    areas: list[str] = Field(default_factory=list)
    # Built by `--replay` from a constructed fixture, not a recorded answer (digest.replayed)
    constructed: bool = False
    identifier: str | None = None  # the designation ("SOU 2025:112")
    responsible: str | None = None  # the ministry or committee
    strength: str = ""
    corrected: str | None = None
    deadline_passed: bool = False
    why: list[str] = Field(default_factory=list)
    who_acts: str | None = None  # the office that should act (digest.yaml, positions)


class StakeholderCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    kind: str
    documents: int


class WatchEntry(BaseModel):
    """A watch's match as the digest lists it: compact, since the reader chose the watch
    and needs only to see what is new."""

    model_config = ConfigDict(extra="forbid")

    document_id: int
    title: str
    url: str
    publisher: str
    level: str
    doc_type: str
    published: date | None = None
    deadline: date | None = None


class DigestWatch(BaseModel):
    """One watch's section: its new matches of the week, newest first (at most
    `digest.yaml: per_watch`, the rest counted in `more`). No subscribers: the archive
    may be published, and who gets what is decided when sending."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    entries: list[WatchEntry] = Field(default_factory=list)
    more: int = 0


class WeeklyDigest(Digest):
    """One ISO week's digest: `Digest` plus positions, stakeholders, trends and watches."""

    areas: dict[str, list[WeeklyEntry]]
    consultations: list[WeeklyEntry]
    touching: list[WeeklyEntry] = Field(default_factory=list)
    stakeholders: list[StakeholderCount] = Field(default_factory=list)
    trend_weeks: list[str] = Field(default_factory=list)
    trends: dict[str, list[int]] = Field(default_factory=dict)
    consultation_weeks: int = 8
    positions_listed: int = 8
    watches: list[DigestWatch] = Field(default_factory=list)
    # Set when the digest was built from the replay's fixtures (digest.replayed)
    provenance_note: str = ""
    # Empty for a complete digest; else one line saying what it lacks (`incomplete_line`).
    incomplete: str = ""

    # Per area: the week's documents with the area (what the header and the trend
    # count), and the entries beyond the ranked ones (at most `rest_listed`; `more`
    # counts them all) so that "… och N till" lists them.
    area_documents: dict[str, int] = Field(default_factory=dict)
    rest: dict[str, list[WatchEntry]] = Field(default_factory=dict)
    strength_legend: str = ""
    rest_listed: int = 20



def incomplete_line(classified: int, documents: int, sources: Sequence[str]) -> str:
    """ "Ofullständig: byggd av 41 av 86 dokument …" when the run that built the digest
    left documents unclassified or did not crawl every source in full; else ""."""
    if classified >= documents and not sources:
        return ""
    line = f"Ofullständig: byggd av {classified} av {documents} dokument"
    if classified < documents:
        line += f" ({documents - classified} väntar på klassificering)"
    if sources:
        line += (f"; {len(sources)} {'källa' if len(sources) == 1 else 'källor'} "
                 f"kunde inte läsas helt: {', '.join(sources)}")
    return line + "."


class _Week:
    """What ranking and entries need to know of the week being built: the digest's
    configuration, the day it is built (for deadlines) and which local places a
    document names (read once per document)."""

    def __init__(self, config: DigestConfig, today: date) -> None:
        self.config = config
        self.today = today
        terms = [t for t in config.ranking.local_terms if t.strip()]
        self._local_re = (re.compile(r"(?<!\w)(" + "|".join(
            re.escape(t) for t in sorted(terms, key=len, reverse=True)) + ")")
            if terms else None)
        self._local: dict[int, list[str]] = {}

    def local_terms(self, row: DocumentRow) -> list[str]:
        """The configured local places the title, summary or opening names, in order."""
        if row.id not in self._local:
            found: list[str] = []
            if self._local_re is not None:
                window = "\n".join((row.title, row.summary or "", (row.text or "")[:LOCAL_CHARS]))
                spelled = {t.casefold(): t for t in self.config.ranking.local_terms}
                for match in self._local_re.finditer(window):
                    term = spelled.get(match[1].casefold(), match[1])
                    if term not in found:
                        found.append(term)
            self._local[row.id] = found
        return self._local[row.id]

    def foreign(self, row: DocumentRow) -> bool:
        """Another country's document (not EU) that names none of the local places."""
        language = row.language or "und"
        return (row.level != "eu" and language != "und"
                and language not in self.config.ranking.home_languages
                and not self.local_terms(row))

    def passed(self, row: DocumentRow) -> bool:
        return row.deadline is not None and row.deadline < self.today


def _rank_key(row: DocumentRow, label: LabelRow, priority: float) -> tuple[Any, ...]:
    published = row.published.toordinal() if row.published else 0
    return (
        -round(priority, 6),
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


def _correction(evidence: dict[str, Any]) -> str | None:
    """ "lagt till av Anna Analytiker 2026-12-04" for a label an analyst corrected."""
    fix = evidence.get("correction")
    if not isinstance(fix, dict):
        return None
    verb = "lagt till" if fix.get("action") == "add" else "tagit bort"
    when = str(fix.get("at") or "")[:10]
    return _one_line(f"{verb} av {fix.get('author') or 'en analytiker'} {when}")


def _why(row: DocumentRow, positions: list[PositionFlag], week: _Week) -> list[str]:
    """Why the entry matters to Malmö, in a few words each: the places it names, the
    positions it touches, its deadline."""
    out = []
    places = week.local_terms(row)
    if places:
        out.append("nämner " + _and_sv(places[:3]))
    if positions:
        out.append("rör Malmös position" if len(positions) == 1
                   else f"rör {len(positions)} av Malmös positioner")
    if row.deadline is not None:
        out.append(f"svarstiden gick ut {row.deadline.isoformat()}" if week.passed(row)
                   else f"svar senast {row.deadline.isoformat()}")
    return out


def _and_sv(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " och " + items[-1]


def _entry(
    row: DocumentRow,
    label: LabelRow | None,
    *,
    week: _Week,
    story: _Story | None = None,
    positions: list[PositionFlag] | None = None,
    priority: float = 0.0,
    area_ids: Iterable[str] = (),
) -> WeeklyEntry:
    evidence = (label.evidence if label is not None else None) or {}
    positions = positions or []
    corrected = _correction(evidence)
    score = round(float(label.score), 4) if label is not None else 0.0
    responsible = next((p.responsible for p in positions if p.responsible), None)
    if responsible is None and label is not None:
        responsible = week.config.responsible.get(label.area)
    sentence = _one_line(evidence.get("sentence"))
    if (_normalise_for_compare(sentence) == _normalise_for_compare(row.title)
            or is_metadata(sentence)):
        sentence = ""  # the title again, or "Topics: …", says nothing of the content
    publisher = _one_line(row.publisher)
    publishers = [publisher]
    if story is not None:
        publishers += [p for p in story.publishers if p != publisher]
    wanted = set(area_ids)
    return WeeklyEntry(
        document_id=row.id,
        title=_one_line(row.title),
        url=row.url,
        publisher=publisher,
        level=row.level,
        doc_type=row.doc_type,
        published=row.published,
        language=row.language,
        summary=_summary(row),
        score=score,
        terms=_terms(evidence),
        sentence=cap_words(sentence, EVIDENCE_MAX_CHARS) if sentence else None,
        deadline=row.deadline,
        publishers=[p for p in publishers if p],
        story_size=story.size if story is not None else 1,
        novel=story.novel if story is not None else True,
        positions=positions,
        priority=round(priority, 4),
        areas=sorted({lab.area for lab in row.labels if lab.accepted and lab.area in wanted}),
        identifier=row.identifier,
        responsible=row.responsible,
        strength=(f"{corrected}" if corrected else
                  week.config.score_level(score) if label is not None else ""),
        corrected=corrected,
        deadline_passed=week.passed(row),
        why=_why(row, positions, week),
        who_acts=responsible,
    )


def _strength_legend(config: DigestConfig) -> str:
    """ "Styrkan … : stark koppling från 0,9, …" from digest.yaml's levels."""
    parts = [f"{level.text} från {level.min:g}".replace(".", ",")
             for level in config.score_levels if level.min > 0]
    lowest = config.score_levels[-1].text
    return ("Styrkan är klassificerarens sannolikhet att dokumentet hör till området: "
            + ", ".join(parts) + (f", annars {lowest}." if parts else f" {lowest}."))


def _compact(row: DocumentRow) -> WatchEntry:
    return WatchEntry(document_id=row.id, title=_one_line(row.title), url=row.url,
                      publisher=_one_line(row.publisher), level=row.level,
                      doc_type=row.doc_type, published=row.published, deadline=row.deadline)


def _best_label(row: DocumentRow, area_ids: Iterable[str]) -> LabelRow | None:
    """The strongest accepted label among the configured areas (for consultations)."""
    wanted = set(area_ids)
    accepted = [lab for lab in row.labels if lab.accepted and lab.area in wanted]
    return min(accepted, key=lambda lab: (-lab.score, lab.area), default=None)


class _Story:
    """A document's near-duplicate group as the digest needs it."""

    def __init__(self, members: list[DocumentRow], week_start_utc: datetime) -> None:
        members = sorted(members, key=lambda r: (r.first_seen, r.id))
        self.size = len(members)
        self.publishers = list(dict.fromkeys(_one_line(r.publisher) for r in members))
        # New this week: no member was seen before the week began.
        self.novel = members[0].first_seen >= week_start_utc if members else True


def _stories(store: Store, rows: list[DocumentRow], week_start_utc: datetime) -> dict[int, _Story]:
    """Story of every week document that has one with more than itself."""
    story_ids = {r.story_id for r in rows if r.story_id is not None}
    if not story_ids:
        return {}
    members: dict[int, list[DocumentRow]] = {}
    for member in store.story_members(story_ids):
        members.setdefault(member.story_id, []).append(member)
    stories = {sid: _Story(group, week_start_utc) for sid, group in members.items()}
    return {r.id: stories[r.story_id] for r in rows if r.story_id in stories}


def _story_key(row: DocumentRow) -> int:
    return row.story_id if row.story_id is not None else -row.id


def _position_flags(
    rows: Iterable[DocumentRow], positions: Positions | None, area_ids: list[str]
) -> dict[int, list[PositionFlag]]:
    """Positions touched by each document (one in none of the areas needs more terms)."""
    if positions is None or not positions.positions:
        return {}

    wanted = set(area_ids)
    todo = [
        (row, {lab.area for lab in row.labels if lab.accepted and lab.area in wanted})
        for row in rows
    ]
    if not todo:
        return {}
    matcher = _position_matcher(positions)
    out: dict[int, list[PositionFlag]] = {}
    for row, doc_areas in todo:
        key = (row.content_hash, row.language, frozenset(doc_areas))
        found = _MATCH_CACHE.get(key)
        if found is None:
            found = matcher.match(row.title, row.summary or "", row.text or "", row.language,
                                  doc_areas)
            if len(_MATCH_CACHE) >= _MATCH_CACHE_SIZE:
                _MATCH_CACHE.pop(next(iter(_MATCH_CACHE)))
            _MATCH_CACHE[key] = found
        flags = []
        for match in found:
            position = positions.get(match.position_id)
            flags.append(PositionFlag(
                id=position.id, area=position.area, statement=_statement(position.statement),
                responsible=position.responsible,
                terms=list(match.terms)[:MAX_TERMS],
                sentence=cap_words(match.sentence, EVIDENCE_MAX_CHARS) if match.sentence else None,
                source=position.source, kind=position.kind,
            ))
        if flags:
            out[row.id] = flags
    return out


_MATCHERS: dict[str, Any] = {}
# Matches per (content hash, language, areas) for the current positions: a digest built
# again in one process (the flow builds, then sends; a regeneration) reads no text twice.
_MATCH_CACHE: dict[tuple[str, str, frozenset[str]], list[Any]] = {}
_MATCH_CACHE_SIZE = 50_000


def _position_matcher(positions: Positions) -> Any:
    """One matcher per set of positions and process: building one reads every term."""
    from omvarld.digest.positions import PositionMatcher

    key = hashlib.sha256(positions.model_dump_json().encode("utf-8")).hexdigest()
    if key not in _MATCHERS:
        _MATCHERS.clear()
        _MATCH_CACHE.clear()
        _MATCHERS[key] = PositionMatcher(positions)
    return _MATCHERS[key]


def _priority(row: DocumentRow, label: LabelRow | None, novel: bool, touches: bool,
              week: _Week) -> float:
    ranking: Ranking = week.config.ranking
    foreign = week.foreign(row)
    return (
        (float(label.score) if label is not None else 0.0)
        + ranking.doc_type.get(row.doc_type, 0.0)
        + (0.0 if foreign else ranking.level.get(row.level, 0.0))
        + (ranking.novelty if novel else 0.0)
        + (ranking.position if touches else 0.0)
        + (ranking.local if week.local_terms(row) else 0.0)
        - (ranking.foreign if foreign else 0.0)
        - (ranking.expired if week.passed(row) else 0.0)
    )


def _in_age(published: date | None, week_start: date, max_age_days: int | None) -> bool:
    if max_age_days is None or published is None:
        return True
    return published >= week_start - timedelta(days=max_age_days)


def weekly_counts(
    store: Store,
    week: str,
    area_ids: list[str],
    *,
    weeks: int = 12,
    max_age_days: int | None = 60,
) -> tuple[list[str], dict[str, list[int]]]:
    """Documents per area and week over the `weeks` weeks ending with `week` (oldest
    first), counted the way a digest selects them: first seen in the week, backlog out."""
    start, _ = parse_week(week)
    starts = [start - timedelta(weeks=weeks - 1 - i) for i in range(weeks)]
    bounds = [_week_bounds_utc(s, s + timedelta(days=6)) for s in starts]
    names = []
    for s in starts:
        iso = s.isocalendar()
        names.append(f"{iso.year}-W{iso.week:02d}")
    counts = {a: [0] * weeks for a in area_ids}
    with store.session() as session:
        rows = session.execute(
            select(DocumentRow.first_seen, DocumentRow.published, LabelRow.area)
            .join(LabelRow, LabelRow.document_id == DocumentRow.id)
            .where(
                LabelRow.accepted.is_(True),
                LabelRow.area.in_(area_ids),
                DocumentRow.first_seen >= bounds[0][0],
                DocumentRow.first_seen < bounds[-1][1],
            )
        )
        firsts = [b[0] for b in bounds]
        for first_seen, published, area in rows:
            index = bisect_right(firsts, first_seen) - 1
            if index >= 0 and _in_age(published, starts[index], max_age_days):
                counts[area][index] += 1
    return names, counts


def build_digest(
    store: Store,
    week: str,
    *,
    areas: FocusAreas,
    per_area: int | None = None,
    max_age_days: int | Literal["config"] | None = "config",
    now: datetime | None = None,
    config: DigestConfig | None = None,
    positions: Positions | None = None,
    with_watches: bool = True,
    incomplete_sources: Sequence[str] = (),
) -> WeeklyDigest:
    """Build the digest of `week` from what was first stored during that week.

    Selection is by first-seen time, not publication date: a digest reports what is new
    *to us*, so nothing is reported twice and nothing falls between two weeks. Documents
    published more than `max_age_days` before the week are left out so a first crawl's
    backlog does not flood one digest (`None` keeps everything, for replays).

    Within an area, entries are ranked by priority: the classifier's score plus weights
    for document type, level, novelty (the story is new this week) and touching one of
    Malmö's positions (`digest.yaml: ranking`). Near-duplicates (one story) become one
    entry that lists every publisher. `config` and `positions` default to the files in
    the configuration folder.

    Every watch (bevakning) with new matches this week gets a section (`watches`): the
    watches are applied first, and a match counts when its document is one of the week's
    by the same rule (first seen in the week, backlog out). `with_watches=False` leaves
    them out. `incomplete_sources`: the sources the run could not crawl in full, named
    in the digest's `incomplete` line with the documents still unclassified."""
    config = config or load_digest_config().check_areas(areas)
    if positions is None:
        positions = load_positions().check_areas(areas)
    per_area = config.per_area if per_area is None else per_area
    if max_age_days == "config":
        max_age_days = config.max_age_days
    if per_area < 1:
        raise OmvarldError(f"per_area must be at least 1; got {per_area}")
    start, end = parse_week(week)
    iso = start.isocalendar()
    week_id = f"{iso.year}-W{iso.week:02d}"
    now_utc = _to_utc(now)
    today = now_utc.astimezone(STOCKHOLM).date()

    first, after = _week_bounds_utc(start, end)
    seen = store.documents_first_seen(first, after)
    rows = [r for r in seen if _in_age(r.published, start, max_age_days)]
    if len(rows) < len(seen):
        log.info(
            "digest %s: %d of %d documents left out as published before %s (backlog)",
            week_id, len(seen) - len(rows), len(seen),
            start - timedelta(days=max_age_days or 0),
        )

    stories = _stories(store, rows, first)
    window = timedelta(weeks=config.consultation_weeks)
    open_rows = store.open_consultations(today, today + window)
    flags = _position_flags({r.id: r for r in [*rows, *open_rows]}.values(), positions,
                            areas.ids)

    week = _Week(config, today)

    def to_act_on(row: DocumentRow) -> bool:
        return row.id in flags and not week.passed(row)

    by_area: dict[str, list[WeeklyEntry]] = {}
    more: dict[str, int] = {}
    area_documents: dict[str, int] = {}
    rest: dict[str, list[WatchEntry]] = {}
    best: dict[int, tuple[float, WeeklyEntry]] = {}
    for area_id in areas.ids:
        candidates = []
        for row in rows:
            for label in row.labels:
                if label.area == area_id and label.accepted:
                    story = stories.get(row.id)
                    priority = _priority(row, label, story.novel if story else True,
                                         row.id in flags, week)
                    candidates.append((_rank_key(row, label, priority), row, label, priority))
        candidates.sort(key=lambda item: item[0])
        collapsed, keys = [], set()
        for item in candidates:  # the best-ranked member stands for its story
            key = _story_key(item[1])
            if key not in keys:
                keys.add(key)
                collapsed.append(item)
        entries = [
            _entry(row, label, week=week, story=stories.get(row.id), positions=flags.get(row.id),
                   priority=priority, area_ids=areas.ids)
            for _, row, label, priority in collapsed[:per_area]
        ]
        by_area[area_id] = entries
        more[area_id] = max(0, len(collapsed) - per_area)
        area_documents[area_id] = len(candidates)
        rest[area_id] = [_compact(row) for _, row, _, _ in
                         collapsed[per_area : per_area + config.rest_listed]]
        for (_, row, _label, priority), entry in zip(collapsed, entries, strict=False):
            key = _story_key(row)
            if to_act_on(row) and (key not in best or priority > best[key][0]):
                best[key] = (priority, entry)
    # Documents beyond the shown entries may touch a position too: flag them all. What is
    # past its deadline is no longer to act on and stays in its area only.
    touching_rows = [r for r in rows if to_act_on(r) and _story_key(r) not in best]
    for row in touching_rows:
        label = _best_label(row, areas.ids)  # None: touches a position, in no area
        story = stories.get(row.id)
        priority = _priority(row, label, story.novel if story else True, True, week)
        key = _story_key(row)
        if key not in best or priority > best[key][0]:
            best[key] = (priority, _entry(row, label, week=week, story=story,
                                          positions=flags[row.id], priority=priority,
                                          area_ids=areas.ids))
    touching = [entry for _, entry in sorted(best.values(), key=lambda pe: (-pe[0],
                                                                            pe[1].document_id))]

    consultations = [
        _entry(row, _best_label(row, areas.ids), week=week, positions=flags.get(row.id),
               area_ids=areas.ids)
        for row in open_rows
    ]
    stakeholders = [
        StakeholderCount(name=name, kind=kind, documents=count)
        for name, kind, count in (
            store.top_stakeholders(first, after, config.stakeholders)
            if config.stakeholders else []
        )
    ]
    trend_weeks, trends = weekly_counts(store, week_id, areas.ids, weeks=config.trend_weeks,
                                        max_age_days=max_age_days)
    watches = (_watch_sections(store, first, after, start, max_age_days, config.per_watch)
               if with_watches else [])

    digest = WeeklyDigest(
        week=week_id,
        start=start,
        end=end,
        generated=now_utc.astimezone(STOCKHOLM),
        areas=by_area,
        more=more,
        consultations=consultations,
        documents_in_week=len(rows),
        touching=touching,
        stakeholders=stakeholders,
        trend_weeks=trend_weeks,
        trends=trends,
        consultation_weeks=config.consultation_weeks,
        positions_listed=config.positions_listed,
        watches=watches,
        incomplete=incomplete_line(
            sum(r.classified_hash == r.content_hash for r in rows), len(rows),
            incomplete_sources),
        area_documents=area_documents,
        rest=rest,
        strength_legend=_strength_legend(config),
        rest_listed=config.rest_listed,
    )
    log.info(
        "digest %s: %d documents, %d entries, %d open consultations, %d touching positions",
        week_id, len(rows), sum(len(v) for v in by_area.values()), len(consultations),
        len(touching),
    )
    return digest


def _watch_sections(store: Store, first: datetime, after: datetime, week_start: date,
                    max_age_days: int | None, per_watch: int) -> list[DigestWatch]:
    """The week's section of every watch that matched one of the week's documents,
    ordered by name. A watch that cannot be applied (a semantic query without a model)
    keeps the matches it has; a broken watch table costs the sections, not the digest."""
    from sqlalchemy.exc import SQLAlchemyError

    from omvarld.search.watches import watch_sections

    try:
        found = watch_sections(store, first, after, all_watches=True)
    except (OmvarldError, SQLAlchemyError) as exc:
        log.warning("digest: watches left out: %s", exc)
        return []
    sections = []
    for section in sorted(found, key=lambda w: (w.name.casefold(), w.name)):
        docs = [d for d in section.documents if _in_age(d.published, week_start, max_age_days)]
        if not docs:
            continue
        entries = [
            WatchEntry(document_id=d.id, title=_one_line(d.title), url=d.url,
                       publisher=_one_line(d.publisher), level=d.level, doc_type=d.doc_type,
                       published=d.published, deadline=d.deadline)
            for d in docs[:per_watch]
        ]
        sections.append(DigestWatch(name=section.name, description=_one_line(section.description),
                                    entries=entries, more=max(0, len(docs) - per_watch)))
    return sections


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
