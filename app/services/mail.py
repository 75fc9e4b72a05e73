"""Outgoing e-mail over SMTP: the settings from config, one message per call."""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

log = logging.getLogger(__name__)

TLS_MODES = ("none", "starttls", "ssl")


class MailError(Exception):
    """The message could not be handed to the SMTP server (it may be retried)."""


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send (the MAIL_* keys of app/config.py)."""

    host: str
    port: int = 25
    tls: str = "none"
    username: str = ""
    password: str = ""
    sender: str = "charge-portal@localhost"
    timeout: float = 30.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        """Read MAIL_* from a Flask config (MAIL_TLS true/false mean starttls/none)."""
        return cls(
            host=str(config.get("MAIL_HOST") or ""),
            port=int(config.get("MAIL_PORT") or 25),
            tls=tls_mode(config.get("MAIL_TLS")),
            username=str(config.get("MAIL_USERNAME") or ""),
            password=str(config.get("MAIL_PASSWORD") or ""),
            sender=str(config.get("MAIL_SENDER") or "charge-portal@localhost"),
            timeout=float(config.get("MAIL_TIMEOUT") or 30.0),
        )


def tls_mode(value: Any) -> str:
    """Return MAIL_TLS as one of TLS_MODES, or raise ValueError."""
    if value is True:
        return "starttls"
    if value in (False, None, ""):
        return "none"
    mode = str(value).strip().lower()
    if mode not in TLS_MODES:
        raise ValueError(f"MAIL_TLS must be one of {', '.join(TLS_MODES)}")
    return mode


def compose(
    settings: MailSettings, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """Build a message: plain text, with an HTML alternative when given."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    domain = settings.sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send_message(settings: MailSettings, message: EmailMessage) -> None:
    """Hand one message to the SMTP server, or raise MailError saying why."""
    if not settings.enabled:
        raise MailError("no SMTP server configured (MAIL_HOST)")
    try:
        smtp: smtplib.SMTP
        if settings.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        with smtp:
            if settings.tls == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
