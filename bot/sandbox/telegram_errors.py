"""The Bot API's error answers, raised anywhere in the emulator and rendered by the server."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Bot API error answer: HTTP status, Telegram's description, optional parameters."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        """Return the JSON body Telegram sends with this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    """Return a 400 error with Telegram's "Bad Request: " prefix."""
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    """Return a 403 error with Telegram's "Forbidden: " prefix."""
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    """Return a 429 error that tells the client how many seconds to wait."""
    seconds = max(1, int(retry_after))
    return ApiError(429, f"Too Many Requests: retry after {seconds}", retry_after=seconds)


def conflict(reason: str) -> ApiError:
    """Return a 409 error with Telegram's "Conflict: " prefix."""
    return ApiError(409, f"Conflict: {reason}")


def not_implemented(what: str) -> ApiError:
    """Return a 501 error for a valid Bot API feature the emulator does not model."""
    return ApiError(501, f"Not Implemented: {what} is not implemented in the emulator")
