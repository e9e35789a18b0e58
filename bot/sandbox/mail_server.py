"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives.

Used by the tests, the benchmarks and the offline playground. It can require STARTTLS and
AUTH, and misbehave on purpose: refuse one recipient (550), answer 421, or drop the line.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass
class Received:
    """One message as the server got it."""

    sender: str
    recipients: list[str]
    raw: bytes
    at: float = 0.0  # when it arrived, by the server's clock (seconds since the epoch)

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Faults:
    """Misbehaviour to inject; each counter is used up one message at a time."""

    refuse: dict[str, str] = field(default_factory=dict)  # address -> "550 ..." or "450 ..."
    busy: int = 0  # answer 421 to the next N MAIL commands and hang up
    drop: int = 0  # drop the connection on the next N DATA commands
    delay: float = 0.0  # seconds to think before accepting each message


class _Handler:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.server.faults.busy > 0:
            self.server.faults.busy -= 1
            if smtp.transport is not None:
                asyncio.get_running_loop().call_soon(smtp.transport.close)
            return "421 4.3.2 Service not available, closing channel"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        refusal = self.server.faults.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self.server.faults.delay:
            await asyncio.sleep(self.server.faults.delay)
        if self.server.faults.drop > 0:
            self.server.faults.drop -= 1
            transport = smtp.transport
            if isinstance(transport, asyncio.WriteTransport):
                transport.abort()
            return "451 4.3.0 dropped"
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        sender, recipients = envelope.mail_from or "", list(envelope.rcpt_tos)
        self.server.received(Received(sender, recipients, raw, self.server.now()))
        return "250 2.0.0 Message accepted"


class MailServer:
    """Start with `await server.start()`; read `server.messages`; `await server.stop()`."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_context: ssl.SSLContext | None = None,
        require_starttls: bool = False,
        implicit_tls: bool = False,
        logins: dict[str, str] | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.now = now
        self.implicit_tls = implicit_tls
        self.host = host
        self.port = port
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.logins = logins
        self.faults = Faults()
        self.messages: list[Received] = []
        self.connections = 0
        self._arrived = asyncio.Condition()
        self._server: asyncio.base_events.Server | None = None

    def received(self, message: Received) -> None:
        self.messages.append(message)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._arrived:
            self._arrived.notify_all()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Received]:
        """Wait until at least `count` messages have arrived."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.messages) >= count), timeout
            )
        return self.messages

    async def wait_for_address(
        self, address: str, count: int = 1, timeout: float = 5.0
    ) -> list[EmailMessage]:
        """Wait until at least `count` messages have reached one address."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.mailbox(address)) >= count), timeout
            )
        return self.mailbox(address)

    def mailbox(self, address: str) -> list[EmailMessage]:
        """Every message delivered to one address, oldest first."""
        return [m.message for m in self.messages if address.lower() in map(str.lower, m.recipients)]

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if self.logins is None:
            return AuthResult(success=True)
        if isinstance(data, LoginPassword):
            user, password = data.login.decode(), data.password.decode()
            if self.logins.get(user) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def _protocol(self) -> SMTP:
        self.connections += 1
        return SMTP(
            _Handler(self),
            hostname="mail.sandbox.local",
            tls_context=None if self.implicit_tls else self.tls_context,
            require_starttls=self.require_starttls,
            authenticator=self._authenticate,
            auth_required=self.logins is not None,
            auth_require_tls=self.tls_context is not None,
            enable_SMTPUTF8=True,
        )

    async def start(self) -> MailServer:
        loop = asyncio.get_running_loop()
        wrapped = self.tls_context if self.implicit_tls else None
        self._server = await loop.create_server(self._protocol, self.host, self.port, ssl=wrapped)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> MailServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
