"""Email through aiosmtplib: a small pool of reused connections, multipart, RFC 2047 headers."""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.encoders import encode_base64
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from typing import Literal

import aiosmtplib

from bot.services.delivery.port import Outgoing, SendResult

log = logging.getLogger("expertbot.email")
Security = Literal["auto", "starttls", "tls", "none"]


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int = 587
    username: str | None = None
    password: str | None = None
    security: Security = "auto"
    mail_from: str = "expertbot@localhost"
    reply_to: str | None = None
    timeout: float = 30.0
    tls_context: ssl.SSLContext | None = None


# Text parts in quoted-printable: readable in the raw message, safe over any server.
_UTF8 = Charset("utf-8")
_UTF8.header_encoding = QP
_UTF8.body_encoding = QP


def _address(value: str) -> str:
    """Format "Name <addr>" with a non-ASCII name encoded (RFC 2047)."""
    name, addr = parseaddr(value)
    return formataddr((name, addr)) if name else addr


def _one_line(text: str) -> str:
    """A header value on one line: a line break in a name or subject would end the header."""
    return " ".join(text.split())


def build_message(config: SmtpConfig, message: Outgoing, now: datetime) -> Message:
    """Compose the MIME message; non-ASCII headers are encoded (RFC 2047).

    Built with the email package's classic classes, which take headers as given: the
    newer EmailMessage parses and re-folds every header, five times the work of a send.
    """
    body = MIMEMultipart("alternative")
    # MIMEText takes a Charset too (documented; typeshed says str only).
    body.attach(MIMEText(message.text, "plain", _UTF8))  # type: ignore[arg-type]
    body.attach(MIMEText(message.html, "html", _UTF8))  # type: ignore[arg-type]
    mail: Message = body
    if message.attachments:
        mail = MIMEMultipart("mixed")
        mail.attach(body)
        for item in message.attachments:
            maintype, _, subtype = item.media_type.partition("/")
            part = MIMEBase(maintype, subtype)
            for name, value in item.params.items():
                part.set_param(name, value)
            part.set_payload(item.content)
            encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=item.filename)
            mail.attach(part)
    domain = parseaddr(config.mail_from)[1].rpartition("@")[2] or "localhost"
    mail["From"] = _address(config.mail_from)
    mail["To"] = formataddr((_one_line(message.name), message.address))
    subject = _one_line(message.subject)
    charset = None if subject.isascii() else _UTF8
    # A Header object is folded knowing its name (typeshed allows only str here).
    mail["Subject"] = Header(subject, charset, header_name="Subject")  # type: ignore[assignment]
    mail["Date"] = format_datetime(now.astimezone(UTC))
    mail["Message-ID"] = make_msgid(idstring=f"outbox{message.outbox_id}", domain=domain)
    if config.reply_to:
        mail["Reply-To"] = _address(config.reply_to)
    if message.unsubscribe_url:
        targets = [f"<{message.unsubscribe_url}>"]
        if message.unsubscribe_mailto:
            targets.append(f"<{message.unsubscribe_mailto}>")
        mail["List-Unsubscribe"] = ", ".join(targets)
        mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail["Content-Language"] = message.language
    return mail


class EmailSender:
    """Send one message at a time per connection; at most `pool_size` connections."""

    channel = "email"

    def __init__(self, config: SmtpConfig, pool_size: int = 2) -> None:
        self.config = config
        self._idle: asyncio.LifoQueue[aiosmtplib.SMTP] = asyncio.LifoQueue()
        self._slots = asyncio.Semaphore(pool_size)
        self.connections_opened = 0
        # Set when the settings are wrong (login refused, no AUTH offered): no message can go
        # until they are fixed and the service restarted, so nothing more is tried.
        self.misconfigured: str | None = None

    def _give_up(self, problem: str) -> SendResult:
        if self.misconfigured is None:
            self.misconfigured = problem
            log.error(
                "email is off until its settings are fixed and the service restarted: %s", problem
            )
        return SendResult(
            "misconfigured",
            reason=f"not sent: {problem}; after fixing it and restarting, "
            "requeue with: expertbot outbox retry --failed",
        )

    def _client(self) -> aiosmtplib.SMTP:
        c = self.config
        implicit = c.security == "tls" or (c.security == "auto" and c.port == 465)
        start_tls: bool | None = {"starttls": True, "none": False}.get(c.security)
        return aiosmtplib.SMTP(
            hostname=c.host,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=implicit,
            start_tls=False if implicit else start_tls,
            timeout=c.timeout,
            tls_context=c.tls_context,
        )

    async def _connected(self) -> aiosmtplib.SMTP:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                return client
        client = self._client()
        await client.connect()
        self.connections_opened += 1
        return client

    async def send(self, message: Outgoing, now: datetime | None = None) -> SendResult:
        mail = build_message(self.config, message, now or datetime.now(UTC))
        sender = parseaddr(self.config.mail_from)[1]
        async with self._slots:
            for attempt in (1, 2):
                if self.misconfigured is not None:
                    return self._give_up(self.misconfigured)
                try:
                    client = await self._connected()
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                    problem = configuration_problem(self.config, error)
                    if problem is not None:
                        return self._give_up(problem)
                    return SendResult("retry", reason=f"cannot connect to the mail server: {error}")
                try:
                    await client.send_message(mail, sender=sender, recipients=[message.address])
                except aiosmtplib.SMTPServerDisconnected as error:
                    # A reused connection may have timed out on the server side: retry fresh once.
                    if attempt == 1:
                        continue
                    return SendResult("retry", reason=f"mail server hung up: {error}")
                except Exception as error:
                    await _discard(client)
                    problem = configuration_problem(self.config, error)
                    if problem is not None:
                        return self._give_up(problem)
                    return classify(error)
                self._idle.put_nowait(client)
                return SendResult("sent", provider_id=str(mail["Message-ID"]))
        return SendResult("retry", reason="mail server hung up twice")

    async def close(self) -> None:
        while not self._idle.empty():
            await _discard(self._idle.get_nowait())


async def _discard(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit()
    except Exception:
        client.close()


def configuration_problem(config: SmtpConfig, error: BaseException) -> str | None:
    """Say what is wrong with the settings if `error` is one no retry can cure, else None."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError) and error.code >= 500:
        return (
            f"the mail server refused our login ({error.code} {error.message}); "
            "check EXPERTBOT_SMTP_USERNAME and EXPERTBOT_SMTP_PASSWORD"
        )
    text = str(error)
    if isinstance(error, aiosmtplib.SMTPException) and "AUTH extension" in text:
        hint = (
            "set EXPERTBOT_SMTP_SECURITY=starttls (or tls) so that it offers login"
            if config.security == "none" or config.port == 25
            else "check EXPERTBOT_SMTP_HOST and EXPERTBOT_SMTP_PORT, or unset "
            "EXPERTBOT_SMTP_USERNAME if this server needs no login"
        )
        return f"the mail server does not offer a login (AUTH) here; {hint}"
    if isinstance(error, aiosmtplib.SMTPException) and "STARTTLS extension" in text:
        return (
            "the mail server does not offer STARTTLS; set EXPERTBOT_SMTP_SECURITY to tls "
            "(port 465) or check EXPERTBOT_SMTP_PORT"
        )
    return None


def classify(error: Exception) -> SendResult:
    """Map an SMTP failure onto retry (4xx, network), bounced (5xx recipient) or rejected."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refusal = error.recipients[0]
        reason = f"{refusal.code} {refusal.message}"
        if 500 <= refusal.code < 600:
            return SendResult("unreachable", reason=f"address refused: {reason}", state="bounced")
        return SendResult("retry", reason=f"recipient deferred: {reason}")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        reason = f"{error.code} {error.message}"
        if error.code >= 500 and not isinstance(error, aiosmtplib.SMTPAuthenticationError):
            return SendResult("rejected", reason=f"mail server refused the message: {reason}")
        return SendResult("retry", reason=f"mail server said {reason}")
    return SendResult("retry", reason=f"{type(error).__name__}: {error}")
