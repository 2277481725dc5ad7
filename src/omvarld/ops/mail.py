"""Sending e-mail over SMTP, the one way every part of omvarld sends mail.

Host, port, STARTTLS, user and sender come from the settings (`OMVARLD_SMTP_*`); the
password only ever from the environment (`OMVARLD_SMTP_PASSWORD`), never from a file in
the repository. A failure to connect, to start TLS or to log in is an `MailError` naming
the server and the step, so a scheduler sees "smtp.example.org:587: STARTTLS refused"
rather than a traceback.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage

from omvarld.core.errors import OmvarldError
from omvarld.core.settings import Settings, get_settings


class MailError(OmvarldError):
    """The message could not be handed to the SMTP server."""


def smtp_send(
    message: EmailMessage,
    recipients: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    timeout: float = 30.0,
) -> list[str]:
    """Hand `message` to the configured SMTP server; the recipients it accepted.

    `recipients` defaults to the message's To, Cc and Bcc. The Bcc header is never sent.
    A recipient refused by the server is left out of the answer; all refused is an error.
    """
    settings = settings or get_settings()
    if not message.get("From"):
        message["From"] = settings.smtp_sender
    to = list(recipients) if recipients is not None else _header_recipients(message)
    if not to:
        raise MailError("no recipients: nothing to send")
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
            if settings.smtp_starttls:
                try:
                    smtp.starttls(context=ssl.create_default_context())
                except smtplib.SMTPNotSupportedError as exc:
                    raise MailError(f"{where}: the server does not offer STARTTLS") from exc
            if settings.smtp_user:
                if settings.smtp_password is None:
                    raise MailError(
                        f"{where}: OMVARLD_SMTP_USER is set but OMVARLD_SMTP_PASSWORD is not"
                    )
                smtp.login(settings.smtp_user, settings.smtp_password.get_secret_value())
            del message["Bcc"]
            refused = smtp.send_message(message, to_addrs=to)
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"{where}: every recipient was refused: {sorted(exc.recipients)}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"{where}: login as {settings.smtp_user!r} refused") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"{where}: {type(exc).__name__}: {exc}") from exc
    return [r for r in to if r not in refused]


def _header_recipients(message: EmailMessage) -> list[str]:
    from email.utils import getaddresses

    values = [v for name in ("To", "Cc", "Bcc") for v in message.get_all(name, [])]
    return [addr for _, addr in getaddresses(values) if addr]
