"""Alert e-mails through a real SMTP server (aiosmtpd on localhost): once per problem
episode, not once per run; again after the source recovered and failed anew; never in a
dry run; kept and retried when the SMTP server is down."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import Message

import pytest

from omvarld.core.model import CrawlReport
from omvarld.ops.alerts import AlertPolicy, check_and_alert, open_alerts
from omvarld.ops.health import source_health

T0 = datetime(2026, 11, 2, 5, 30)
POLICY = AlertPolicy(operators=["drift@malmo.se", "oncall@malmo.se"], consecutive_failures=3)


class Inbox:
    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[list[str], Message]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    from aiosmtpd.controller import Controller

    from omvarld.core.settings import get_settings

    inbox = Inbox(_free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    monkeypatch.setenv("OMVARLD_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("OMVARLD_SMTP_PORT", str(inbox.port))
    monkeypatch.setenv("OMVARLD_SMTP_SENDER", "omvarld@malmo.se")
    monkeypatch.delenv("OMVARLD_OPERATORS", raising=False)
    get_settings.cache_clear()
    yield inbox
    controller.stop()
    get_settings.cache_clear()


def record(store, source: str, day: int, status: str = "ok", *, seen: int = 10,
           errors: list[str] | None = None) -> None:
    started = T0 + timedelta(days=day)
    run_id = store.start_crawl(source, started=started)
    store.finish_crawl(run_id, CrawlReport(
        source=source, started=started, finished=started + timedelta(minutes=2),
        status=status, unchanged=seen if status == "ok" else 0, errors=errors or []))


def check(store, dry_run: bool = False):
    health = source_health(store, ["riksdagen", "regeringen"])
    return check_and_alert(store, health, POLICY, dry_run=dry_run)


def fail(store, day: int) -> None:
    record(store, "riksdagen", day, "failed",
           errors=["riksdagen: crawl process exited with status -9 without a report"])


def test_three_failures_in_a_row_send_one_e_mail_to_the_operators(store, smtp):
    record(store, "riksdagen", 0)
    record(store, "regeringen", 0)
    fail(store, 1)
    fail(store, 2)
    assert check(store) == [] and smtp.messages == []  # two failures: not yet
    fail(store, 3)
    (alert,) = check(store)
    assert (alert.source, alert.kind, alert.sent) == ("riksdagen", "failing", True)
    ((rcpt, msg),) = smtp.messages
    assert rcpt == ["drift@malmo.se", "oncall@malmo.se"]
    assert msg["Subject"] == "[omvarld] riksdagen failing: 3 crawls in a row"
    assert msg["From"] == "omvarld@malmo.se"
    body = msg.get_payload(decode=True).decode()
    assert "has failed 3 times in a row, since 2026-11-03 05:30 UTC" in body
    assert "Last success:   2026-11-02 05:32 UTC" in body
    assert "exited with status -9 without a report" in body
    assert "omvarld crawl riksdagen -v" in body
    assert "regeringen" in body  # every source's state, for context


def test_the_same_episode_is_not_mailed_again_but_a_new_one_is(store, smtp):
    for day in (1, 2, 3):
        fail(store, day)
    check(store)
    fail(store, 4)
    assert check(store) == []
    assert len(smtp.messages) == 1
    record(store, "riksdagen", 5)  # recovered: the episode closes
    assert check(store) == [] and open_alerts(store) == []
    for day in (6, 7, 8):
        fail(store, day)
    (alert,) = check(store)
    assert alert.sent and len(smtp.messages) == 2


def test_a_broken_source_is_reported_as_broken(store, smtp):
    for day in range(3):
        record(store, "regeringen", day, seen=45)
    record(store, "regeringen", 3, seen=0)
    (alert,) = check(store)
    assert alert.kind == "broken"
    (_, msg), = smtp.messages
    assert msg["Subject"] == "[omvarld] regeringen is broken: no documents (usually about 45)"
    assert "changed its pages or API, not that there is no news" in msg.get_payload(
        decode=True).decode()


def test_a_dry_run_records_the_episode_and_the_next_real_run_sends_it(store, smtp):
    for day in (1, 2, 3):
        fail(store, day)
    (alert,) = check(store, dry_run=True)
    assert not alert.sent and alert.error == "dry run: not sent"
    assert smtp.messages == []
    assert [(a.source, a.sent_at) for a in open_alerts(store)] == [("riksdagen", None)]
    (alert,) = check(store)
    assert alert.sent and len(smtp.messages) == 1
    assert check(store) == []


def test_smtp_down_keeps_the_alert_for_the_next_run(store, smtp, monkeypatch):
    from omvarld.core.settings import get_settings

    for day in (1, 2, 3):
        fail(store, day)
    monkeypatch.setenv("OMVARLD_SMTP_PORT", str(_free_port()))  # nothing listens there
    get_settings.cache_clear()
    (alert,) = check(store)
    assert not alert.sent and "ConnectionRefusedError" in alert.error
    monkeypatch.setenv("OMVARLD_SMTP_PORT", str(smtp.port))  # the server is back
    get_settings.cache_clear()
    (alert,) = check(store)
    assert alert.sent and len(smtp.messages) == 1


def test_operators_from_the_environment_override_the_configuration(monkeypatch):
    monkeypatch.setenv("OMVARLD_OPERATORS", "a@malmo.se, b@malmo.se")
    assert POLICY.recipients() == ["a@malmo.se", "b@malmo.se"]
