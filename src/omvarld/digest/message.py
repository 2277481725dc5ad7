"""The digest as an e-mail: HTML with the charts inline, a plain-text part, the PDF and
the calendar attached, with fixed MIME boundaries so a re-run gives the same bytes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import format_datetime

from omvarld.config.digest import DigestConfig
from omvarld.core.areas import FocusAreas
from omvarld.core.settings import get_settings
from omvarld.digest.build import WeeklyDigest, digest_content_hash
from omvarld.digest.ics import digest_ics
from omvarld.digest.render import render_html, render_markdown, trend_images, week_stamp

log = logging.getLogger(__name__)


def _cid(area_id: str, week: str) -> str:
    return f"trend-{area_id}-{week.lower()}@omvarld"


def build_message(
    digest: WeeklyDigest,
    areas: FocusAreas,
    config: DigestConfig,
    *,
    recipients: Sequence[str],
    pngs: dict[str, bytes] | None = None,
    pdf: bytes | None = None,
    sender: str | None = None,
) -> EmailMessage:
    """The digest (already narrowed to the recipients' areas) as one e-mail."""
    pngs = trend_images(digest) if pngs is None else pngs
    pngs = {a: b for a, b in pngs.items() if a in digest.areas}
    iso = digest.start.isocalendar()
    subject = config.subject.format(week=digest.week, week_number=iso.week, week_year=iso.year)
    shown = [a for a in areas.areas if a.id in digest.areas]
    if 0 < len(shown) < len(areas.areas):
        subject += " – " + ", ".join(a.name("sv") for a in shown)
    elif not shown and areas.areas:
        subject += " – bevakningar"
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender or get_settings().smtp_sender
    if recipients:
        message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(week_stamp(digest))
    key = hashlib.sha256(
        f"{digest_content_hash(digest)}|{','.join(recipients)}".encode()
    ).hexdigest()
    message["Message-ID"] = f"<digest-{digest.week.lower()}-{key[:16]}@omvarld>"
    message["X-Omvarld-Week"] = digest.week
    has_ics = bool(digest.consultations)
    message.set_content(render_markdown(digest, areas, more_url=config.more_url))
    html = render_html(
        digest,
        areas,
        images={a: f"cid:{_cid(a, digest.week)}" for a in pngs},
        more_url=config.more_url,
        ics_attached=has_ics,
    )
    message.add_alternative(html, subtype="html")
    html_part = message.get_payload()[1]
    for area_id, png in pngs.items():
        html_part.add_related(png, "image", "png", cid=f"<{_cid(area_id, digest.week)}>",
                              filename=f"trend-{area_id}.png", disposition="inline")
    if has_ics:
        message.add_attachment(digest_ics(digest), maintype="text", subtype="calendar",
                               filename=f"remisser-{digest.week}.ics",
                               params={"method": "PUBLISH"})
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf",
                               filename=f"omvarldsbevakning-{digest.week}.pdf")
    _fixed_boundaries(message, key)
    return message


def _fixed_boundaries(message: EmailMessage, key: str) -> None:
    """MIME boundaries derived from the content, not random: the archived `.eml` of a
    regenerated digest is then byte for byte the same."""
    for index, part in enumerate(message.walk()):
        if part.is_multipart():
            part.set_boundary(f"=_omvarld_{key[:20]}_{index}")


