"""HTTP plumbing of the emulator: reading Bot API parameters, dropping a connection on purpose."""

from __future__ import annotations

import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.sandbox.telegram_errors import bad_request
from bot.sandbox.telegram_spec import Upload

DROP_KEY = "expertbot.sandbox.drop"


async def read_params(request: Request) -> dict[str, Any]:
    """Return the call's parameters from the query string and a form, multipart or JSON body."""
    params: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await request.body()
        try:
            data = json.loads(body) if body.strip() else {}
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("can't parse JSON object")
        params.update(data)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.form()
        try:
            for key, value in form.multi_items():
                params[key] = await _upload(value) if isinstance(value, UploadFile) else value
        finally:
            await form.close()
    return params


async def _upload(value: UploadFile) -> Upload:
    content_type = value.content_type or "application/octet-stream"
    return Upload(value.filename or "file", content_type, await value.read())


def loggable(raw: dict[str, Any]) -> dict[str, Any]:
    """Return parameters fit for the call log: uploads summarised, not copied."""
    return {
        key: {"file_name": v.filename, "mime_type": v.content_type, "size": len(v.data)}
        if isinstance(v, Upload)
        else v
        for key, v in raw.items()
    }


class Droppable:
    """Let a handler close its connection without answering (a dropped connection fault)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[DROP_KEY] = lambda: _abort(send)
        await self.app(scope, receive, send)


def _abort(send: Send) -> bool:
    """Abort the socket under uvicorn's `send`; False if this server does not expose it."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        return False
    transport.abort()
    return True
