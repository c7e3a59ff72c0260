"""Sending one plain-text email through the configured SMTP server, with the standard library.
The call blocks: callers run it on a worker thread, never on the event loop."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

from lockgate.kit.settings import Settings

SEND_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Mailer:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> Mailer | None:
        """The configured mailer, or None when no SMTP host is set."""
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value(),
            starttls=settings.smtp_starttls,
        )

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"Mailer(host={self.host!r}, port={self.port}, sender={self.sender!r})"

    def send(self, to: str, subject: str, text: str) -> None:
        """Send one message; raises ``smtplib.SMTPException`` or ``OSError`` on failure."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        with smtplib.SMTP(self.host, self.port, timeout=SEND_TIMEOUT_S) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.username:
                smtp.login(self.username, self.password)
            smtp.send_message(message)
