"""The digest rendered: HTML (charts inline), Markdown, PDF and the trend charts."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import datetime, time, timedelta
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from omvarld import __version__
from omvarld.core.areas import FocusAreas
from omvarld.core.model import DOC_TYPE_NAMES_SV, LEVEL_NAMES_SV, Digest
from omvarld.digest.build import (
    CONSULTATION_WINDOW,
    STOCKHOLM,
    TEMPLATES,
    DigestWatch,
    WeeklyDigest,
    _date_range_sv,
    _one_line,
)


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
        stakeholder_kind_sv=lambda kind: STAKEHOLDER_KINDS_SV.get(kind, kind),
        position_kind_sv=lambda kind: POSITION_KINDS_SV.get(kind, kind),
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
    "klassificerarens poäng, dokumenttyp (propositioner, lagförslag och utredningar före "
    "nyheter), nivå, om frågan är ny, om den rör Malmös positioner och om den nämner Malmö, "
    "Skåne eller Öresund; ett annat lands nationella dokument som inte gör det rankas lägre, "
    "liksom en remiss vars svarstid har gått ut. Samma nyhet från flera källor visas en gång "
    "med alla källor. ”Varför” visar de termer ur områdets ordlista och den mening i "
    "dokumentet som gav klassningen; sammanfattningen är dokumentets egna första hela "
    "meningar, på dokumentets språk (rader med metadata som diarienummer och ämnesord hoppas "
    "över). Remisserna är dokument med sista svarsdag inom {weeks} veckor. Malmös positioner "
    "kommer ur positions.yaml (”Det här vill Malmö”)."
)
_COUNTS_METHOD_SV = (
    " Siffrorna: ”nya dokument” är alla dokument som hittades första gången denna vecka; "
    "siffran per område räknar dem som hör till området (samma siffra som i trenden); "
    "under området står de högst rankade nyheterna och resten under ”… och N till”."
)

_WATCHES_METHOD_SV = (
    " Bevakningarna är sparade sökningar: under var och en står veckans nya dokument som "
    "sökningen träffar, oavsett fokusområde, nyast först."
)

STAKEHOLDER_KINDS_SV: dict[str, str] = {
    "authority": "myndighet",
    "ministry": "departement",
    "municipality": "kommun",
    "region": "region",
    "eu": "EU",
    "party": "parti",
    "regional_body": "regional aktör",
    "organisation": "organisation",
    "parliament": "riksdagen",
    "government": "regeringen",
}
POSITION_KINDS_SV: dict[str, str] = {
    "malmo": "Malmö stad",
    "politician": "Malmös politiska ledning",
    "regional_body": "regional samverkan där Malmö ingår",
    "third_party": "enligt annan källa",
}


def _number_sv(value: float) -> str:
    return f"{value:.1f}".replace(".", ",").replace(",0", "")


def trend_line(counts: list[int]) -> str:
    """ "5 denna vecka, 3 förra veckan (+2); i snitt 2,5 per vecka under 12 veckor"."""
    if not counts:
        return ""
    this = counts[-1]
    line = f"{this} denna vecka"
    if len(counts) >= 2:
        previous = counts[-2]
        diff = this - previous
        change = "oförändrat" if diff == 0 else f"{diff:+d}".replace("-", "−")
        line += f", {previous} förra veckan ({change})"
        line += (f"; i snitt {_number_sv(sum(counts[:-1]) / (len(counts) - 1))} per vecka "
                 f"de {len(counts) - 1} veckorna före")
    return line


def _subset(digest: Digest, areas: FocusAreas) -> list[Any]:
    return [a for a in areas.areas if a.id in digest.areas]


def _context(
    digest: Digest,
    areas: FocusAreas,
    *,
    images: dict[str, str] | None = None,
    more_url: str | None = None,
    ics_href: str | None = None,
    ics_attached: bool = False,
) -> dict[str, Any]:
    """Everything the templates show, worked out once so the formats agree."""
    weekly = digest if isinstance(digest, WeeklyDigest) else None
    shown_areas = _subset(digest, areas)
    area_ids = [a.id for a in shown_areas]
    sections = []
    trends = []
    for area in shown_areas:
        entries = digest.areas.get(area.id, [])
        extra = digest.more.get(area.id, 0)
        counts = weekly.trends.get(area.id, []) if weekly else []
        rest = list(weekly.rest.get(area.id, [])) if weekly else []
        section = {
            "id": area.id,
            "name": area.name("sv"),
            "entries": entries,
            "more": extra,
            "more_url": more_url.format(area=area.id, week=digest.week) if more_url else None,
            "total": len(entries) + extra,
            # The week's documents in the area: what the trend counts this week too.
            "documents": (weekly.area_documents.get(area.id, len(entries) + extra)
                          if weekly else len(entries) + extra),
            "rest": rest,
            "unlisted": max(0, extra - len(rest)),
        }
        sections.append(section)
        if counts:
            trends.append({
                "id": area.id,
                "name": area.name("sv"),
                "src": (images or {}).get(area.id),
                "line": trend_line(counts),
                "counts": counts,
            })
    today = digest.generated.astimezone(STOCKHOLM).date()
    consultations = []
    for entry in digest.consultations:
        days_left = (entry.deadline - today).days if entry.deadline else None
        consultations.append(
            {"entry": entry, "days_left": days_left, "days_left_text": _days_left_sv(days_left)}
        )
    weeks = weekly.consultation_weeks if weekly else CONSULTATION_WINDOW.days // 7
    count = len(digest.consultations)
    consultations_line = (
        f"{count} {'öppen remiss' if count == 1 else 'öppna remisser'} att agera på "
        f"– sista svarsdag inom {weeks} veckor."
    )
    # A recipient who follows no area, only watches, still gets what is to act on in full.
    watch_only = weekly is not None and not digest.areas and bool(areas.areas)
    touching = [
        e for e in (weekly.touching if weekly else [])
        if watch_only or any(p.area in area_ids for p in e.positions)
        or set(e.areas) & set(area_ids)
    ]
    listed = weekly.positions_listed if weekly else 8
    touching_line = (
        f"{len(touching)} dokument rör Malmös uttalade positioner"
        + (f"; de {listed} viktigaste här, övriga under listan och markerade under sina "
           "områden." if len(touching) > listed else ".")
    )
    rest_listed = weekly.rest_listed if weekly else 20
    touching_rest = touching[listed : listed + rest_listed]
    touching_unlisted = max(0, len(touching) - listed - rest_listed)
    touching = touching[:listed]
    watches = list(weekly.watches) if weekly else []
    shown = ([e for s in sections for e in s["entries"]] + list(digest.consultations)
             + [e for w in watches for e in w.entries])
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
        "touching": touching,
        "touching_rest": touching_rest,
        "touching_unlisted": touching_unlisted,
        "touching_line": touching_line,
        "today": today,
        "watches": watches,
        "watch_only": watch_only,
        "stakeholders": weekly.stakeholders if weekly else [],
        "trends": trends,
        "trend_weeks": len(weekly.trend_weeks) if weekly else 0,
        "window_weeks": weeks,
        "ics_href": ics_href,
        "ics_attached": ics_attached,
        "method": (_METHOD_SV.format(weeks=weeks)
                   + (f" {weekly.strength_legend}" if weekly and weekly.strength_legend else "")
                   + _COUNTS_METHOD_SV + (_WATCHES_METHOD_SV if watches else "")),
        "publishers": sorted(
            {p for e in shown for p in (getattr(e, "publishers", None) or [e.publisher]) if p}
        ),
        "generated": digest.generated.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M"),
        "version": __version__,
    }


def render_html(
    digest: Digest,
    areas: FocusAreas,
    *,
    images: dict[str, str] | None = None,
    more_url: str | None = None,
    ics_href: str | None = None,
    ics_attached: bool = False,
) -> str:
    """The digest as one HTML document for a mail client and the web alike: inline CSS,
    no scripts, every scraped string escaped by the template engine. `images` maps an
    area id to its trend chart's `src` (a `data:` URI for a standalone page, a `cid:`
    for an e-mail)."""
    template = _environment(html=True).get_template("digest.html.j2")
    return template.render(**_context(digest, areas, images=images, more_url=more_url,
                                      ics_href=ics_href, ics_attached=ics_attached))


def render_markdown(digest: Digest, areas: FocusAreas, *, more_url: str | None = None) -> str:
    """The same digest as Markdown, for chat, wikis and the plain-text part of the e-mail."""
    template = _environment(html=False).get_template("digest.md.j2")
    return template.render(**_context(digest, areas, more_url=more_url))


def only_areas(digest: WeeklyDigest, area_ids: Iterable[str],
               watches: list[DigestWatch] | None = None) -> WeeklyDigest:
    """The digest narrowed to some areas, for recipients who follow only those, and —
    when `watches` is given — with those watch sections instead of the week's all."""
    wanted = list(area_ids)
    update: dict[str, Any] = {
        "areas": {a: v for a, v in digest.areas.items() if a in wanted},
        "more": {a: v for a, v in digest.more.items() if a in wanted},
        "trends": {a: v for a, v in digest.trends.items() if a in wanted},
    }
    if watches is not None:
        update["watches"] = watches
    return digest.model_copy(update=update)


def trend_images(digest: WeeklyDigest) -> dict[str, bytes]:
    """One PNG per area with a trend."""
    from omvarld.digest.charts import trend_png

    return {area: trend_png(counts, digest.trend_weeks) for area, counts in digest.trends.items()}


# On paper the page is the white sheet: the grey surround the e-mail shows around its
# 720-pixel column would fill the rest of the last page. The titles listed under "… och N
# till" stay in the page and the e-mail (a PDF of them is pages of links; and it would
# cost the PDF a third more time): the PDF says where they are.
_PRINT_CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { background: #ffffff !important; }
body > div { max-width: none !important; margin: 0 !important; padding: 0 !important; }
.omv-rest { display: none !important; }
.omv-print-only { display: block !important; }
"""


def render_pdf(html: str) -> bytes:
    """The standalone page as PDF (WeasyPrint: no browser needed; images are data URIs)."""
    from weasyprint import CSS, HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=html).write_pdf(stylesheets=[CSS(string=_PRINT_CSS)])


# -- writing --------------------------------------------------------------------------------


def week_stamp(digest: Digest) -> datetime:
    """The end of the digest's week (Monday 00:00 in Malmö): a fixed time to date files by,
    so a regenerated digest has the same bytes."""
    return datetime.combine(digest.end + timedelta(days=1), time(0), tzinfo=STOCKHOLM)
