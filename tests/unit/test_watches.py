"""Watches on a real SQLite store, e-mail through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import socket
from datetime import date, timedelta

import pytest

from omvarld.core.model import Document
from omvarld.search.query import SearchQuery
from omvarld.search.watches import (
    WatchError,
    apply,
    create,
    edit,
    get,
    list_watches,
    matches,
    notify,
    preview,
    remove,
    subscribe,
    unsubscribe,
    watch_sections,
)
from omvarld.store import utcnow


def _doc(key: str, title: str, text: str = "", **extra) -> Document:
    return Document(url=f"https://example.org/{key}", source="regeringen",
                    publisher="Regeringskansliet", level="national", title=title,
                    text=text or title, language="sv", **extra)


@pytest.fixture
def smtp():
    """A real SMTP server on a free local port, keeping what it receives."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    from omvarld.core.settings import Settings

    received: list[email.message.EmailMessage] = []

    class Keep(Message):
        def handle_message(self, message):
            received.append(email.message_from_bytes(message.as_bytes(),
                                                     policy=email.policy.default))

    with socket.socket() as probe:  # a free port (the controller cannot take port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    settings = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_sender="omvarld@test.local")

    def send(message, recipients):
        from omvarld.ops.mail import smtp_send

        return smtp_send(message, recipients, settings=settings)

    yield send, received
    controller.stop()


@pytest.fixture
def housing(store):
    store.save_document(_doc("a", "Fler hyresrätter i Malmö", "Kommunen bygger hyresrätter."))
    store.save_document(_doc("b", "Järnväg till Köpenhamn"))
    return store


def test_preview_shows_matches_without_saving(housing):
    result = preview(housing, SearchQuery(text="hyresrätt"))
    assert [h.title for h in result.hits] == ["Fler hyresrätter i Malmö"]
    assert list_watches(housing) == []


def test_create_records_stored_matches_once_and_apply_adds_only_new_ones(housing):
    watch = create(housing, "Hyresrätter", SearchQuery(text="hyresrätt"),
                   description="Hyresrätter i Skåne")
    assert (watch.name, watch.matches, watch.description) == (
        "Hyresrätter", 1, "Hyresrätter i Skåne")
    assert apply(housing) == {"Hyresrätter": 0}  # re-applying duplicates nothing
    housing.save_document(_doc("c", "Hyresrätter ombildas", "Ombildning av hyresrätter."))
    assert apply(housing) == {"Hyresrätter": 1}
    assert apply(housing) == {"Hyresrätter": 0}
    assert [h.title for h in matches(housing, "Hyresrätter")] == [
        "Hyresrätter ombildas", "Fler hyresrätter i Malmö"]
    assert [h.title for h in matches(housing, "Hyresrätter", announced_only=True)] == [
        "Hyresrätter ombildas"]


def test_editing_re_applies_to_everything_stored(housing):
    create(housing, "Bevakning", SearchQuery(text="hyresrätt"))
    watch = edit(housing, "Bevakning", query=SearchQuery(text="järnväg"), new_name="Tåg")
    assert watch.name == "Tåg"
    assert [h.title for h in matches(housing, "Tåg")] == ["Järnväg till Köpenhamn"]
    with pytest.raises(WatchError, match="no watch named 'Bevakning'"):
        get(housing, "Bevakning")


def test_bad_input_is_a_clear_error(housing):
    create(housing, "X", SearchQuery(text="hyresrätt"))
    with pytest.raises(WatchError, match="already exists"):
        create(housing, "X", SearchQuery(text="järnväg"))
    with pytest.raises(WatchError, match="needs words"):
        create(housing, "Y", SearchQuery(levels=["eu"]))
    with pytest.raises(WatchError, match="not an e-mail address"):
        subscribe(housing, "X", "not an address")
    with pytest.raises(WatchError, match="delivery"):
        subscribe(housing, "X", "a@malmo.se", "pigeon")


def test_subscribers_and_removal(housing):
    create(housing, "X", SearchQuery(text="hyresrätt"))
    subscribe(housing, "X", "Anna@Malmo.se")
    watch = subscribe(housing, "X", "bo@malmo.se", "email")
    assert [(s.email, s.delivery) for s in watch.subscribers] == [
        ("anna@malmo.se", "digest"), ("bo@malmo.se", "email")]
    assert subscribe(housing, "X", "anna@malmo.se", "email").subscribers[0].delivery == "email"
    assert unsubscribe(housing, "X", "anna@malmo.se") is True
    assert unsubscribe(housing, "X", "anna@malmo.se") is False
    remove(housing, "X")
    assert list_watches(housing) == []


def test_notify_mails_new_matches_once_per_subscriber(housing, smtp):
    send, received = smtp
    create(housing, "Hyresrätter", SearchQuery(text="hyresrätt"))
    subscribe(housing, "Hyresrätter", "bo@malmo.se", "email")
    subscribe(housing, "Hyresrätter", "digest@malmo.se", "digest")
    assert notify(housing, send=send).sent == 0  # what was stored at saving is not news
    housing.save_document(_doc("c", "Hyresrätter ombildas", "Ombildning av hyresrätter.",
                               deadline=date(2027, 1, 15)))
    report = notify(housing, send=send)
    assert (report.sent, report.documents, report.failed) == (1, 1, [])
    (message,) = received
    assert message["To"] == "bo@malmo.se"
    assert message["Subject"] == "omvarld: 1 nytt dokument för bevakningen Hyresrätter"
    body = message.get_payload(decode=True).decode("utf-8")
    assert "Hyresrätter ombildas" in body and "https://example.org/c" in body
    assert "Sista svarsdag: 2027-01-15" in body
    assert notify(housing, send=send).sent == 0  # never twice
    assert len(received) == 1


def test_a_failed_send_is_retried_next_time(housing, smtp):
    from omvarld.ops.mail import MailError

    send, received = smtp
    create(housing, "H", SearchQuery(text="hyresrätt"))
    subscribe(housing, "H", "bo@malmo.se", "email")
    housing.save_document(_doc("c", "Hyresrätter ombildas"))

    def refuse(message, recipients):
        raise MailError("127.0.0.1:1: ConnectionRefusedError")

    report = notify(housing, send=refuse)
    assert report.sent == 0 and report.failed == [
        "H → bo@malmo.se: 127.0.0.1:1: ConnectionRefusedError"]
    assert notify(housing, send=send).sent == 1
    assert "Hyresrätter ombildas" in received[0].get_payload(decode=True).decode("utf-8")


def test_watch_sections_give_each_watch_its_documents_of_the_window(housing):
    create(housing, "Hyresrätter", SearchQuery(text="hyresrätt"))
    create(housing, "Tåg", SearchQuery(text="järnväg"))  # no subscribers: no section
    subscribe(housing, "Hyresrätter", "anna@malmo.se")
    subscribe(housing, "Hyresrätter", "bo@malmo.se", "email")  # e-mail only: not listed
    now = utcnow()
    (section,) = watch_sections(housing, now - timedelta(days=7), now + timedelta(seconds=1))
    assert section.name == "Hyresrätter"
    assert section.subscribers == ["anna@malmo.se"]
    assert [d.title for d in section.documents] == ["Fler hyresrätter i Malmö"]
    (earlier,) = watch_sections(housing, now - timedelta(days=14), now - timedelta(days=7))
    assert earlier.documents == []
