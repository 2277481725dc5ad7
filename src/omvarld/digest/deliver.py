"""Delivering the weekly digest by e-mail, once per week and recipient.

The message is what common mail clients render without scripts: `multipart/alternative`
with a plain-text part (the Markdown digest) and an HTML part whose trend charts are
attached beside it (`multipart/related`, referenced by Content-ID), plus the deadlines as
an `.ics` calendar attachment. Each group of recipients that follows the same focus areas
(`digest.yaml: recipients`) gets one message with those areas.

Every delivered (week, recipient) is recorded (`digest_sends`), so the scheduler may call
`send_digest` as often as it likes: a recipient who already has the week's digest is not
sent it again unless `force`; a recipient added to the configuration later gets it on the
next call. Sending goes through `omvarld.ops.mail.smtp_send`, the one way omvarld sends mail
(host, port, STARTTLS, user from settings; the password only from the environment).

Watches (bevakningar, `omvarld.search.watches`): the archived digest lists every watch with new
matches in the week; each message carries only the watches its recipients subscribe to
with delivery "digest" (a watch of theirs without new matches says so), so recipients are
grouped by (areas, watches). A subscriber who is in no group of `digest.yaml` still gets
the week's digest: what is to act on and their watches, no focus areas. They are recorded
in `digest_sends` like everyone else, so nobody gets a week twice. Subscriptions are read
when sending, so the archive holds no subscriber's address."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from omvarld.config.digest import load_digest_config
from omvarld.config.load import load_focus_areas
from omvarld.core.errors import OmvarldError
from omvarld.core.settings import Settings, get_settings
from omvarld.digest.build import DigestWatch, WeeklyDigest, digest_content_hash, parse_week
from omvarld.digest.message import build_message
from omvarld.digest.positions import load_positions
from omvarld.digest.render import only_areas, trend_images
from omvarld.digest.write import load_archived_digest, write_digest
from omvarld.ops.mail import MailError, smtp_send
from omvarld.store import Store, utcnow
from omvarld.store.tables import DigestRow, DigestSendRow, WatchRow, WatchSubscriberRow

log = logging.getLogger(__name__)

Group = tuple[tuple[str, ...], tuple[str, ...]]  # (area ids, watch names)


@dataclass
class SendResult:
    """What one `send_digest` call did: to whom the week's digest went, or why not."""

    week: str
    recipients: list[str] = field(default_factory=list)
    sent: bool = False
    skipped_reason: str | None = None
    already: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    paths: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        if self.sent:
            text = f"{self.week}: sent to {len(self.recipients)} recipients"
            if self.refused:
                text += f" ({len(self.refused)} refused: {', '.join(self.refused)})"
            return text
        return f"{self.week}: not sent — {self.skipped_reason}"


def digest_subscriptions(store: Store) -> dict[str, list[tuple[str, str]]]:
    """Who follows which watches in their digest: address (lower case) → [(watch name,
    description)], by name."""
    with store.session() as session:
        rows = session.execute(
            select(WatchSubscriberRow.email, WatchRow.name, WatchRow.description)
            .join(WatchRow, WatchRow.id == WatchSubscriberRow.watch_id)
            .where(WatchSubscriberRow.delivery == "digest")
        ).all()
    follows: dict[str, list[tuple[str, str]]] = {}
    for address, name, description in rows:
        follows.setdefault(address.lower(), []).append((name, description or ""))
    return {a: sorted(set(w), key=lambda nd: (nd[0].casefold(), nd[0]))
            for a, w in sorted(follows.items())}


def recipient_groups(area_groups: list[tuple[tuple[str, ...], list[str]]],
                     subscriptions: dict[str, list[tuple[str, str]]]
                     ) -> list[tuple[Group, list[str]]]:
    """Every recipient once, grouped by what their message shows: the areas they follow
    in `digest.yaml` (none for a watch subscriber in no group) and their watches. Those
    who share both share one message; configuration order, then watch-only subscribers."""
    grouped: dict[Group, list[str]] = {}
    order: list[Group] = []
    listed: set[str] = set()
    for area_ids, addresses in area_groups:
        for address in addresses:
            listed.add(address.lower())
            names = tuple(n for n, _ in subscriptions.get(address.lower(), []))
            key = (area_ids, names)
            if key not in grouped:
                order.append(key)
            grouped.setdefault(key, []).append(address)
    for address, watches in subscriptions.items():
        if address in listed:
            continue
        key = ((), tuple(n for n, _ in watches))
        if key not in grouped:
            order.append(key)
        grouped.setdefault(key, []).append(address)
    return [(key, grouped[key]) for key in order]


def _their_watches(digest: WeeklyDigest, names: tuple[str, ...],
                   subscriptions: dict[str, list[tuple[str, str]]]) -> list[DigestWatch]:
    """The sections of `names` from the digest; a watch without new matches this week
    appears with none, so its subscribers see that it was looked at."""
    described = {n: d for watches in subscriptions.values() for n, d in watches}
    sections = {w.name: w for w in digest.watches}
    return [sections.get(n) or DigestWatch(name=n, description=described.get(n, ""))
            for n in names]


def sent_to(store: Store, week: str) -> dict[str, datetime]:
    """Recipients (lower case) the week's digest was delivered to, and when."""
    with store.session() as session:
        rows = session.execute(
            select(DigestSendRow.recipient, DigestSendRow.sent_at)
            .where(DigestSendRow.week == week)
        )
        return {r.recipient.lower(): r.sent_at for r in rows}


def _record_sends(store: Store, week: str, recipients: Sequence[str], content_hash: str,
                  message_id: str, forced: bool) -> None:
    now = utcnow()
    with store.session() as session:
        existing = {
            row.recipient.lower(): row
            for row in session.scalars(select(DigestSendRow).where(DigestSendRow.week == week))
        }
        for recipient in recipients:
            row = existing.get(recipient.lower())
            if row is None:
                session.add(DigestSendRow(week=week, recipient=recipient.lower(),
                                          content_hash=content_hash, message_id=message_id,
                                          sent_at=now, forced=forced))
            else:
                row.content_hash, row.message_id, row.sent_at, row.forced = (
                    content_hash, message_id, now, forced)
        digest_row = session.scalar(select(DigestRow).where(DigestRow.week == week))
        if digest_row is not None:
            digest_row.sent_at = now


def _archived(store: Store, out: Path, week: str
              ) -> tuple[WeeklyDigest | None, dict[str, str]]:
    """The archived digest of `week` if the store's record of it matches, else None."""
    record = store.digest_record(week)
    try:
        digest = load_archived_digest(out, week)
    except ValueError as exc:  # a damaged archive is rebuilt, not sent
        log.warning("digest %s: archive in %s unreadable (%s); building it again", week, out,
                    exc)
        return None, {}
    if digest is None or record is None or record.content_hash != digest_content_hash(digest):
        return None, {}
    return digest, dict(record.paths or {})


def send_digest(
    store: Store,
    week: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    config_dir: Path | None = None,
    out_dir: Path | str | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
    max_age_days: int | str | None = "config",
    per_area: int | None = None,
    rebuild: bool = False,
) -> SendResult:
    """Send the week's digest to every configured recipient who has not had it yet
    (everyone, if `force`).

    The digest is the one archived by `write_digest` in `out_dir` when the store records
    it with the same content (so what a flow just built, with its own options, is what
    goes out, and a forced resend sends what was sent); otherwise, or with `rebuild`, it
    is built and archived now.

    `dry_run` builds and writes everything but sends and records nothing. A failure of
    one message is raised as a MailError after the other messages went out, and what went
    out is recorded, so a retry sends only what is missing."""
    start, _ = parse_week(week)
    iso = start.isocalendar()
    week = f"{iso.year}-W{iso.week:02d}"
    settings = settings or get_settings()
    areas = load_focus_areas(config_dir)
    config = load_digest_config(config_dir).check_areas(areas)
    out = Path(out_dir) if out_dir is not None else Path(settings.digest_dir)
    subscriptions = digest_subscriptions(store)
    groups = recipient_groups(config.recipients.groups(areas.ids), subscriptions)
    everyone = [address for _, addresses in groups for address in addresses]
    if not everyone:
        return SendResult(week=week, skipped_reason="no recipients configured "
                          "(digest.yaml: recipients.everything or recipients.areas) "
                          "and no watch subscribed to in a digest")
    delivered = sent_to(store, week)
    already = [a for a in everyone if a.lower() in delivered]
    if not force and len(already) == len(everyone):
        when = max(delivered[a.lower()] for a in already)
        return SendResult(
            week=week, already=already,
            skipped_reason=(f"already sent to all {len(already)} recipients "
                            f"(last {when:%Y-%m-%d %H:%M} UTC); use force to send again"),
        )

    digest, paths = (None, {}) if rebuild else _archived(store, out, week)
    if digest is None:
        kwargs: dict = {"config": config,
                        "positions": load_positions(config_dir).check_areas(areas),
                        "per_area": per_area}
        if max_age_days != "config":
            kwargs["max_age_days"] = max_age_days
        paths = write_digest(store, week, out, areas=areas, now=now, **kwargs)
        digest = load_archived_digest(out, week)
        if digest is None:  # pragma: no cover - write_digest just wrote it
            raise OmvarldError(f"digest {week}: the archive {out}/{week}.json is missing")
    else:
        log.info("digest %s: sending the archived digest %s", week, paths.get("json"))
    content_hash = digest_content_hash(digest)
    pngs = trend_images(digest)
    pdf = Path(paths["pdf"]).read_bytes() if config.attach_pdf and "pdf" in paths else None
    result = SendResult(week=week, already=[] if force else already,
                        paths={k: str(v) for k, v in paths.items()})
    failures: list[str] = []
    for (area_ids, watch_names), addresses in groups:
        pending = addresses if force else [a for a in addresses if a.lower() not in delivered]
        if not pending:
            continue
        theirs = only_areas(digest, area_ids,
                            _their_watches(digest, watch_names, subscriptions))
        message = build_message(theirs, areas, config,
                                recipients=pending, pngs=pngs, pdf=pdf,
                                sender=settings.smtp_sender)
        if dry_run:
            result.recipients += pending
            continue
        try:
            accepted = smtp_send(message, pending, settings=settings)
        except MailError as exc:
            log.error("digest %s to %s: %s", week, ", ".join(pending), exc)
            failures.append(str(exc))
            continue
        _record_sends(store, week, accepted, content_hash, message["Message-ID"], force)
        result.recipients += accepted
        result.refused += [a for a in pending if a not in accepted]
        log.info("digest %s sent to %s", week, ", ".join(accepted))
    if dry_run:
        result.skipped_reason = f"dry run: {len(result.recipients)} recipients, nothing sent"
        return result
    result.sent = bool(result.recipients)
    if failures:
        sent = f" (sent to {len(result.recipients)} others, recorded)" if result.sent else ""
        raise MailError(f"digest {week}: {'; '.join(failures)}{sent}")
    return result
