"""The ``email`` action: one message over SMTP (aiosmtplib) per job.

Fields: ``to``, ``subject`` and ``body`` — templates over the event's body fields. The sender
and server come from settings (``SMTP_*``). Without ``SMTP_HOST`` a log-only sender records the
message in the log instead of sending it, and says so at start-up. The Message-ID derives from
the job's idempotency key, so a message sent twice (at-least-once) carries the same id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, parseaddr
from typing import TYPE_CHECKING, ClassVar

from app.actions.base import ActionType, JobRun, PermanentFailure
from domain.workflows import ActionConfig, FieldError
from domain.workflows.templates import TemplateError, render, render_line

if TYPE_CHECKING:
    from app.settings import Settings

log = logging.getLogger("hookledger.actions.email")


class EmailConfig(ActionConfig, frozen=True):
    templates: ClassVar[tuple[str, ...]] = ("to", "subject", "body")
    to: str
    subject: str
    body: str

    def check(self) -> None:
        for name in ("to", "subject", "body"):
            if not getattr(self, name).strip():
                raise FieldError(name, "must not be empty")


def build_message(config: EmailConfig, run: JobRun, sender: str) -> EmailMessage:
    try:
        to = render_line(config.to, run.payload)
        subject = render_line(config.subject, run.payload)
        body = render(config.body, run.payload)
    except TemplateError as exc:
        raise PermanentFailure(f"template: {exc}") from None
    recipients = [addr for _, addr in getaddresses([to]) if addr]
    if not recipients or any("@" not in a or " " in a for a in recipients):
        raise PermanentFailure(f"recipient {to!r} is not an email address")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2] or "hookledger"
    message["Message-ID"] = f"<{run.idempotency_key}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


class SmtpSender:
    def __init__(self, settings: Settings) -> None:
        # Settings.from_env refuses SMTP_HOST without SMTP_FROM.
        assert settings.smtp_host is not None
        assert settings.smtp_from is not None
        self.settings = settings
        self.host = settings.smtp_host
        self.sender = settings.smtp_from

    async def send(self, config: EmailConfig, run: JobRun) -> str:
        import aiosmtplib

        message = build_message(config, run, self.sender)
        s = self.settings
        try:
            _, response = await aiosmtplib.send(
                message,
                hostname=self.host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.values[0] if s.smtp_password else None,
                start_tls=s.smtp_starttls,
                timeout=s.outbox_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            if all(r.code >= 500 for r in exc.recipients):
                raise PermanentFailure(f"SMTP refused the recipient: {exc}") from None
            raise
        return f"SMTP {response}"[:200]

    async def close(self) -> None:
        return None


class LogOnlySender:
    """Stands in when SMTP_HOST is unset: logs each message, sends nothing."""

    def __init__(self, settings: Settings) -> None:
        self.sender = settings.smtp_from or "hookledger@localhost"
        log.warning(
            "SMTP_HOST is unset: email actions are LOG-ONLY — messages are written to this log"
            " and marked delivered, never sent. Set SMTP_HOST and SMTP_FROM to send them."
        )

    async def send(self, config: EmailConfig, run: JobRun) -> str:
        message = build_message(config, run, self.sender)
        log.info(
            "log-only email (not sent): job=%d workflow=%s to=%s subject=%r body=%r",
            run.job_id,
            run.workflow,
            message["To"],
            message["Subject"],
            message.get_content(),
        )
        return "log-only: not sent (SMTP_HOST unset)"

    async def close(self) -> None:
        return None


def make_sender(settings: Settings) -> SmtpSender | LogOnlySender:
    return SmtpSender(settings) if settings.smtp_host else LogOnlySender(settings)


ACTION = ActionType("email", EmailConfig, make_sender)
