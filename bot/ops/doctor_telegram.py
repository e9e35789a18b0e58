"""The doctor's Telegram checks: the token (getMe), the bot's username, the webhook against the
mode (getWebhookInfo) and the command menu (getMyCommands). Only questions, no changes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.config import Settings
from bot.ops.doctor import TIMEOUT, Finding, is_loopback, scrub
from bot.rendering import labels
from bot.web.app import WEBHOOK_PATH


class TelegramRefused(Exception):
    """The Bot API answered a call with an error."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code} {description}")
        self.code = code


async def check_telegram(settings: Settings) -> list[Finding]:
    """The token, the bot's username, the webhook against the mode, and the command menu."""
    if settings.telegram_token is None:
        return [Finding(True, "Telegram", "not configured (EXPERTBOT_TELEGRAM_TOKEN is not set)")]
    token = settings.telegram_token.get_secret_value()
    root = f"{settings.telegram_api_url}/bot{token}"
    loopback = is_loopback(urlsplit(settings.telegram_api_url).hostname or "")
    async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=not loopback) as client:

        async def call(method: str, **params: Any) -> Any:
            answer = await client.post(f"{root}/{method}", json=params)
            body = answer.json()
            if not body.get("ok"):
                raise TelegramRefused(answer.status_code, str(body.get("description", "")))
            return body["result"]

        try:
            me = await call("getMe")
        except TelegramRefused as error:
            fix = (
                "copy the token again from @BotFather (/mybots, API Token) into "
                "EXPERTBOT_TELEGRAM_TOKEN"
                if error.code in (401, 404)
                else "try again later"
            )
            return [Finding(False, "Telegram token", f"Telegram refused it ({error}); {fix}")]
        except (httpx.HTTPError, ValueError) as error:
            reason = scrub(f"{type(error).__name__}: {error}", [token])
            return [
                Finding(
                    False,
                    "Telegram token",
                    f"cannot reach {settings.telegram_api_url} ({reason}); check "
                    "EXPERTBOT_TELEGRAM_API_URL and that this machine may connect out on 443",
                )
            ]
        findings = [Finding(True, "Telegram token", "valid"), username_finding(settings, me)]
        try:
            findings.append(webhook_finding(settings, await call("getWebhookInfo")))
            findings.append(await commands_finding(call))
        except (TelegramRefused, httpx.HTTPError, ValueError) as error:
            reason = scrub(str(error), [token])
            findings.append(Finding(False, "Telegram", f"a check failed midway: {reason}"))
    return findings


def username_finding(settings: Settings, me: dict[str, Any]) -> Finding:
    actual = str(me.get("username", ""))
    configured = settings.telegram_bot_username
    if configured and configured.lower() != actual.lower():
        return Finding(
            False,
            "Bot username",
            f"EXPERTBOT_TELEGRAM_BOT_USERNAME is @{configured} but the token belongs to "
            f"@{actual}; invite links would open the wrong bot: set it to {actual} or remove it",
        )
    return Finding(True, "Bot username", f"@{actual} ({me.get('first_name', '')})")


def webhook_finding(settings: Settings, info: dict[str, Any]) -> Finding:
    url = str(info.get("url") or "")
    expected = f"{settings.public_url}{WEBHOOK_PATH}"
    if settings.telegram_webhook:
        if url != expected:
            now = f"set to {url}" if url else "not set"
            return Finding(
                False,
                "Webhook",
                f"webhook mode, but Telegram's webhook is {now} instead of {expected}: start "
                "the service (expertbot run sets it), and check EXPERTBOT_PUBLIC_URL and that "
                "no other installation uses this token",
            )
        if info.get("last_error_message"):
            return Finding(
                False,
                "Webhook",
                f"Telegram cannot deliver to {url}: {info['last_error_message']}; check that "
                "the address is reachable from the internet with a valid certificate",
            )
        pending = info.get("pending_update_count", 0)
        return Finding(True, "Webhook", f"webhook mode, delivering to {url} ({pending} pending)")
    if url:
        return Finding(
            False,
            "Webhook",
            f"long polling mode, but a webhook is set to {url}, so polling gets no updates: "
            "set EXPERTBOT_TELEGRAM_WEBHOOK=true if that address is this service, else start "
            "expertbot run (it removes the webhook) and check that no other installation uses "
            "this token",
        )
    return Finding(True, "Webhook", "long polling mode, no webhook set")


async def commands_finding(call: Callable[..., Awaitable[Any]]) -> Finding:
    """The command menu `run` registers: the default list and one per language."""
    wanted = set(labels()["commands"])
    missing = []
    for language in ("", "lv", "et", "en"):
        params = {"language_code": language} if language else {}
        found = {item["command"] for item in await call("getMyCommands", **params)}
        if found != wanted:
            missing.append(language or "default")
    if missing:
        return Finding(
            False,
            "Bot commands",
            f"the command menu is missing or out of date for: {', '.join(missing)}; "
            "expertbot run registers it when it starts",
        )
    return Finding(True, "Bot commands", f"registered in lv, et, en: /{', /'.join(sorted(wanted))}")
