"""Alert e-mails to the operators: one per problem episode, never one per run.

A source that has failed `consecutive_failures` runs in a row, or that returns nothing
where it used to return documents (`omvarld.ops.health`: "broken"), opens an episode. The
episode is recorded in the store (`ops_alerts`) and e-mailed once; later runs that still
see the problem say nothing more. When the source is healthy again the episode is closed,
so the next problem opens a new one and is e-mailed again. A message that could not be
delivered (SMTP down) stays unsent and is tried again on the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy import select

from omvarld.core.schema import Strict
from omvarld.ops.health import SourceHealth
from omvarld.store import Store, utcnow
from omvarld.store.tables import OpsAlertRow

log = logging.getLogger(__name__)


class OperatorSettings(BaseSettings):
    """`OMVARLD_OPERATORS=a@malmo.se,b@malmo.se`: who gets alerts on this machine,
    overriding `alerts.operators` of config/schedule.yaml."""

    model_config = SettingsConfigDict(env_prefix="OMVARLD_", env_file=".env",
                                      env_file_encoding="utf-8", extra="ignore")

    operators: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("operators", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class AlertPolicy(Strict):
    """`alerts:` in config/schedule.yaml."""

    operators: list[str] = Field(
        default_factory=list,
        description="Who gets alert e-mails (OMVARLD_OPERATORS overrides, comma-separated).",
    )
    consecutive_failures: int = Field(default=3, ge=1)
    broken_min_items: float = Field(
        default=1, ge=0,
        description="A run returning nothing is 'broken' when earlier runs typically "
        "returned at least this many documents.",
    )

    def recipients(self) -> list[str]:
        return list(OperatorSettings().operators or self.operators)


@dataclass(frozen=True)
class Alert:
    """An episode that this check opened, or that was still waiting to be sent."""

    source: str
    kind: str  # "failing" | "broken"
    subject: str
    body: str
    recipients: list[str]
    sent: bool
    error: str | None = None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def problem_kind(health: SourceHealth, policy: AlertPolicy) -> str | None:
    if health.status == "broken":
        return "broken"
    if health.consecutive_failures >= policy.consecutive_failures:
        return "failing"
    return None


def compose(health: SourceHealth, kind: str, everyone: Sequence[SourceHealth]) -> EmailMessage:
    """The alert e-mail: what is wrong, since when, the errors, what to do, and every
    source's state for context."""
    message = EmailMessage()
    if kind == "broken":
        message["Subject"] = (f"[omvarld] {health.source} is broken: no documents "
                              f"(usually about {health.typical_items:g})")
        what = (
            f"The last crawl of {health.source} finished without error but found no "
            f"documents, where earlier runs found about {health.typical_items:g}. This "
            "usually means the publisher changed its pages or API, not that there is no "
            "news: the spider needs a look."
        )
    else:
        message["Subject"] = (f"[omvarld] {health.source} failing: "
                              f"{health.consecutive_failures} crawls in a row")
        what = (
            f"The crawl of {health.source} has failed {health.consecutive_failures} times "
            f"in a row, since {_when(health.failing_since)}."
        )
    lines = [
        what, "",
        f"Last run:       {_when(health.last_run)}",
        f"Last success:   {_when(health.last_success)}",
        f"Documents held: {health.documents}",
    ]
    if health.errors:
        lines += ["", "Errors of the last run:", *(f"  - {e[:300]}" for e in health.errors)]
    lines += [
        "", "What to do:",
        f"  omvarld crawl {health.source} -v      # run it by hand and read the log",
        "  omvarld sources                      # every source's health",
        "  check the source's base_url and params in config/sources.yaml",
        "", "All sources:",
    ]
    for h in everyone:
        lines.append(f"  {h.source:<24} {h.status:<8} last success {_when(h.last_success)}, "
                     f"{h.consecutive_failures} failed in a row")
    lines += ["", "You get this message once per problem; it is not repeated while the "
              "problem lasts, and a new message comes only after the source recovered "
              "and failed again."]
    message.set_content("\n".join(lines))
    return message


def check_and_alert(
    store: Store,
    health: dict[str, SourceHealth],
    policy: AlertPolicy,
    *,
    dry_run: bool = False,
) -> list[Alert]:
    """Open, send and close alert episodes for the sources in `health`.

    Returns the alerts opened (or still unsent) by this check; with `dry_run`, episodes
    are recorded but nothing is sent (a later real run sends them)."""
    recipients = policy.recipients()
    out: list[Alert] = []
    now = utcnow()
    for source, h in health.items():
        kind = problem_kind(h, policy)
        with store.session() as s:
            open_rows = list(s.scalars(select(OpsAlertRow).where(
                OpsAlertRow.source == source, OpsAlertRow.resolved.is_(None))))
            for row in open_rows:
                if row.kind != kind:
                    row.resolved = now
                    log.info("alert %s/%s closed: the problem is gone", source, row.kind)
            current = next((r for r in open_rows if r.kind == kind), None)
            if kind is None or (current is not None and current.sent_at is not None):
                continue
            message = compose(h, kind, list(health.values()))
            if current is None:
                current = OpsAlertRow(source=source, kind=kind, opened=now,
                                      subject=str(message["Subject"]),
                                      detail=message.get_content(), recipients=recipients)
                s.add(current)
                s.flush()
            alert_id = current.id
        out.append(_deliver(store, alert_id, source, kind, message, recipients, dry_run))
    return out


def _deliver(store: Store, alert_id: int, source: str, kind: str, message: EmailMessage,
             recipients: list[str], dry_run: bool) -> Alert:
    """Send an episode's e-mail; mark it sent when it went."""
    from omvarld.ops.mail import MailError, smtp_send

    sent, error = False, None
    if dry_run:
        error = "dry run: not sent"
    elif not recipients:
        error = "no operators configured (alerts.operators or OMVARLD_OPERATORS)"
    else:
        message["To"] = ", ".join(recipients)
        try:
            smtp_send(message, recipients)
            sent = True
        except MailError as exc:
            error = str(exc)
    if sent:
        with store.session() as s:
            row = s.get(OpsAlertRow, alert_id)
            if row is not None:
                row.sent_at, row.recipients = utcnow(), recipients
    else:
        log.warning("alert for %s (%s) not sent: %s", source, kind, error)
    return Alert(source=source, kind=kind, subject=str(message["Subject"]),
                 body=message.get_content(), recipients=recipients, sent=sent, error=error)


def check_partial_run(store: Store, flow: str, problems: Sequence[str], policy: AlertPolicy,
                      *, dry_run: bool = False) -> list[Alert]:
    """A run that did not do everything (sources skipped or failed, documents left
    unclassified) opens an episode of its own (`run:weekly`, "partial"), e-mailed once
    like a failing source's; a complete run closes it."""
    source, kind, now = f"run:{flow}", "partial", utcnow()
    recipients = policy.recipients()
    with store.session() as s:
        current = s.scalar(select(OpsAlertRow).where(
            OpsAlertRow.source == source, OpsAlertRow.kind == kind,
            OpsAlertRow.resolved.is_(None)))
        if not problems:
            if current is not None:
                current.resolved = now
                log.info("alert %s/%s closed: the run was complete", source, kind)
            return []
        if current is not None and current.sent_at is not None:
            return []
        message = EmailMessage()
        message["Subject"] = f"[omvarld] {flow} run incomplete: {len(problems)} problems"
        message.set_content("\n".join([
            f"The {flow} run of {_when(now)} did not do everything; its digest says so.", "",
            *(f"  - {p[:300]}" for p in problems), "",
            "What to do:",
            "  omvarld sources                      # every source's health",
            f"  omvarld {flow}                        # run it again: it resumes",
            "", "You get this message once; it is not repeated while runs stay incomplete.",
        ]))
        if current is None:
            current = OpsAlertRow(source=source, kind=kind, opened=now,
                                  subject=str(message["Subject"]),
                                  detail=message.get_content(), recipients=recipients)
            s.add(current)
            s.flush()
        alert_id = current.id
    return [_deliver(store, alert_id, source, kind, message, recipients, dry_run)]


def open_alerts(store: Store) -> list[OpsAlertRow]:
    """Episodes not yet closed, oldest first."""
    with store.session() as s:
        return list(s.scalars(select(OpsAlertRow).where(OpsAlertRow.resolved.is_(None))
                              .order_by(OpsAlertRow.id)))
