"""Signed, expiring links for emails: one-click answers, forms and unsubscribing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

UNSUBSCRIBE_PURPOSE = "unsubscribe"
# The link is in every email: an old one must still stop the messages.
UNSUBSCRIBE_DAYS = 400


class LinkError(Exception):
    """A link was tampered with, is for another purpose, or has expired."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Links:
    """Make and check signed tokens; each purpose has its own salt and lifetime."""

    secret: str
    public_url: str

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt=f"expertbot:{purpose}")

    def token(self, purpose: str, payload: Any) -> str:
        return str(self._serializer(purpose).dumps(payload))

    def url(self, path: str, purpose: str, payload: Any) -> str:
        return f"{self.public_url}/{path.strip('/')}/{self.token(purpose, payload)}"

    def read(self, purpose: str, token: str, max_age_seconds: int) -> Any:
        """Return the payload, or raise LinkError("expired" | "invalid")."""
        try:
            return self._serializer(purpose).loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise LinkError("expired") from None
        except BadSignature:
            raise LinkError("invalid") from None

    def read_any_age(self, purpose: str, token: str) -> Any:
        """The payload of a genuine link however old, or None: an expired link's page can still
        speak its person's language. Never use it to act on the link."""
        try:
            return self._serializer(purpose).loads(token)
        except BadSignature:
            return None

    def read_id(self, purpose: str, token: str, max_age_seconds: int, key: str) -> int:
        """Return the positive whole number under `key` of a {key: id} payload.

        A validly signed token of another shape (an older format, a value of the wrong
        type) is as invalid as a forged one: LinkError("invalid"), never a crash.
        """
        payload = self.read(purpose, token, max_age_seconds)
        value = payload.get(key) if isinstance(payload, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise LinkError("invalid")
        return value

    def unsubscribe_url(self, contact_id: int) -> str:
        return self.url("u", UNSUBSCRIBE_PURPOSE, {"c": contact_id})

    def read_unsubscribe(self, token: str) -> int:
        """The contact id behind an unsubscribe link, or LinkError."""
        return self.read_id(UNSUBSCRIBE_PURPOSE, token, UNSUBSCRIBE_DAYS * 86400, "c")
