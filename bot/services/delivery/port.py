"""What a channel is given to send and what it answers: the seam between services and channels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol


@dataclass(frozen=True)
class Button:
    """An inline button: callback data (at most 64 bytes) or a URL."""

    label: str
    data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Attachment:
    filename: str
    media_type: str
    content: bytes
    # e.g. {"method": "REQUEST"} for an iCalendar invitation
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outgoing:
    """One rendered message for one contact on one channel."""

    outbox_id: int
    channel: str
    kind: str
    contact_id: int
    address: str  # chat id for Telegram, address for email
    name: str
    language: str
    subject: str
    text: str
    html: str
    telegram: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    attachments: tuple[Attachment, ...] = ()
    unsubscribe_url: str | None = None
    unsubscribe_mailto: str | None = None
    secrets: tuple[str, ...] = ()
    # Telegram: the id of an earlier message whose buttons this replaces (nothing new is sent).
    edit_message_id: str | None = None

    @property
    def body(self) -> str:
        """The text as this channel shows it, as stored on the outbox row: secrets masked."""
        text = self.telegram if self.channel == "telegram" else self.text
        for secret in self.secrets:
            text = text.replace(secret, "********")
        return text


Outcome = Literal["sent", "retry", "rate_limited", "unreachable", "rejected", "misconfigured"]


@dataclass(frozen=True)
class SendResult:
    """sent; retry (transient); rate_limited (wait, not an attempt);
    unreachable (this channel is gone for this person); rejected (our bug: fail loudly);
    misconfigured (the channel's settings are wrong, e.g. the mail server refuses our login:
    no message can go until they are fixed; the sender has said so once in the log)."""

    outcome: Outcome
    provider_id: str | None = None
    retry_after: float | None = None
    reason: str = ""
    # For unreachable: the channel state to record ("blocked", "inactive", "bounced").
    state: str | None = None


class Sender(Protocol):
    channel: str

    async def send(self, message: Outgoing) -> SendResult: ...

    async def close(self) -> None: ...
