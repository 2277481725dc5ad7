"""`omvarld.ops.mail.smtp_send` against a real SMTP server (aiosmtpd on localhost): who gets
the message, what a refusal or a missing STARTTLS or password says, and that the password
comes from the environment."""

from __future__ import annotations

import email
import socket
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from omvarld.core.settings import Settings
from omvarld.ops.mail import MailError, smtp_send


class Server:
    """Keeps what it receives; refuses recipients at `refused.test`; checks logins."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], email.message.EmailMessage]] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@refused.test"):
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), email.message_from_bytes(
            envelope.content, policy=policy.default)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        login = (auth_data.login.decode(), auth_data.password.decode())
        self.logins.append(login)
        return AuthResult(success=login == ("omvarld", "hemligt"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def server():
    handler = Server()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port(),
                            authenticator=handler.authenticate, auth_require_tls=False)
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def message(**headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "Test"
    for name, value in headers.items():
        msg[name] = value
    msg.set_content("Hej")
    return msg


def settings(port: int, **extra) -> Settings:
    return Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_sender="omvarld@malmo.test",
                    **extra)


def test_recipients_default_to_to_cc_and_bcc_and_bcc_is_not_sent(server):
    handler, port = server
    accepted = smtp_send(message(To="a@malmo.test", Cc="b@malmo.test", Bcc="c@malmo.test"),
                         settings=settings(port))

    assert accepted == ["a@malmo.test", "b@malmo.test", "c@malmo.test"]
    ((rcpts, received),) = handler.received
    assert rcpts == accepted
    assert received["Bcc"] is None and received["From"] == "omvarld@malmo.test"


def test_a_refused_recipient_is_left_out_and_all_refused_is_an_error(server):
    _, port = server
    accepted = smtp_send(message(), ["a@malmo.test", "x@refused.test"], settings=settings(port))
    assert accepted == ["a@malmo.test"]

    with pytest.raises(MailError, match=r"every recipient was refused: \['y@refused.test'\]"):
        smtp_send(message(), ["y@refused.test"], settings=settings(port))


def test_no_recipients_is_an_error_before_connecting():
    with pytest.raises(MailError, match="no recipients"):
        smtp_send(message(), settings=settings(_free_port()))


def test_starttls_demanded_but_not_offered_names_the_server(server):
    _, port = server
    with pytest.raises(MailError, match=rf"127\.0\.0\.1:{port}: the server does not offer "
                                        "STARTTLS"):
        smtp_send(message(), ["a@malmo.test"], settings=settings(port, smtp_starttls=True))


def test_the_password_comes_from_the_environment(server, monkeypatch):
    handler, port = server
    monkeypatch.setenv("OMVARLD_SMTP_PASSWORD", "hemligt")
    configured = Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_user="omvarld")

    assert smtp_send(message(), ["a@malmo.test"], settings=configured) == ["a@malmo.test"]
    assert handler.logins == [("omvarld", "hemligt")]
    assert "hemligt" not in repr(configured)  # a SecretStr: never printed


def test_a_user_without_password_is_a_clear_error(server, monkeypatch):
    _, port = server
    monkeypatch.delenv("OMVARLD_SMTP_PASSWORD", raising=False)
    with pytest.raises(MailError, match="OMVARLD_SMTP_USER is set but OMVARLD_SMTP_PASSWORD"):
        smtp_send(message(), ["a@malmo.test"],
                  settings=Settings(smtp_host="127.0.0.1", smtp_port=port, smtp_user="omvarld"))
    # (A wrong password is not tried here: aiosmtpd answers a failed AUTH only after a
    # delay longer than a test should wait.)


def test_an_unreachable_server_names_host_and_port():
    port = _free_port()
    with pytest.raises(MailError, match=rf"127\.0\.0\.1:{port}: ConnectionRefusedError"):
        smtp_send(message(), ["a@malmo.test"], settings=settings(port))
