"""Bot API methods about the bot itself: identity, updates, webhook, commands, menu, files."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.telegram_errors import bad_request
from bot.sandbox.telegram_methods import Handler, find_chat
from bot.sandbox.telegram_state import EmulatorState
from bot.sandbox.telegram_updates import UpdateQueue, Webhook, check_poll, reject_while_webhook

COMMAND = re.compile(r"[a-z0-9_]{1,32}")
LANGUAGE_CODE = re.compile(r"[a-z]{2}")
MAX_COMMANDS = 100
ACCEPTED_GIFT_TYPES = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


def scope_key(scope: dict[str, Any] | None) -> str:
    """Return a stable key for a BotCommandScope (the default scope when none is given)."""
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


class BotMethods:
    """getMe, getUpdates, setMyCommands and the other methods that are not about messages."""

    def __init__(self, state: EmulatorState, queue: UpdateQueue, webhook: Webhook) -> None:
        self.state = state
        self.queue = queue
        self.webhook = webhook

    def handlers(self) -> dict[str, Handler]:
        """Return the implemented methods by Bot API name."""
        return {
            "getMe": self.get_me,
            "logOut": self.log_out,
            "close": self.log_out,
            "getUpdates": self.get_updates,
            "setWebhook": self.webhook.set,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "getChat": self.get_chat,
            "getFile": self.get_file,
        }

    async def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the bot's own User object."""
        return self.state.bot

    async def log_out(self, params: dict[str, Any]) -> bool:
        """Accept logOut/close; there is no cloud server to leave."""
        return True

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long-poll for updates."""
        reject_while_webhook(self.webhook)
        self.queue.set_allowed(params.get("allowed_updates"))
        offset, limit, timeout = check_poll(params)
        return await self.queue.poll(offset, limit, timeout)

    async def delete_webhook(self, params: dict[str, Any]) -> bool:
        """Stop webhook delivery."""
        return await self.webhook.delete(params.get("drop_pending_updates", False))

    async def get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """Describe the webhook."""
        return self.webhook.info()

    async def set_my_commands(self, params: dict[str, Any]) -> bool:
        """Store the command list for a scope and language."""
        commands = params["commands"]
        if len(commands) > MAX_COMMANDS:
            raise bad_request("too many commands specified")
        for command in commands:
            if not COMMAND.fullmatch(command["command"]):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(command["description"]) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params)
        if commands:
            self.state.commands[key] = [dict(c) for c in commands]
        else:
            self.state.commands.pop(key, None)
        self.state.changed()
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Return the commands of exactly this scope and language."""
        return self.state.commands.get(self._commands_key(params), [])

    async def delete_my_commands(self, params: dict[str, Any]) -> bool:
        """Forget the commands of this scope and language."""
        self.state.commands.pop(self._commands_key(params), None)
        self.state.changed()
        return True

    def _commands_key(self, params: dict[str, Any]) -> tuple[str, str]:
        language = params.get("language_code", "")
        if language and not LANGUAGE_CODE.fullmatch(language):
            raise bad_request("invalid language code specified")
        scope = params.get("scope")
        if scope and "chat_id" in scope:
            find_chat(self.state, scope["chat_id"])
        return scope_key(scope), language

    async def set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        """Set the menu button of one private chat, or the default one."""
        button = params.get("menu_button")
        if "chat_id" in params:
            find_chat(self.state, params["chat_id"]).menu_button = button
        else:
            self.state.default_menu_button = button or {"type": "commands"}
        self.state.changed()
        return True

    async def get_chat_menu_button(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the menu button of a chat, or the default one."""
        if "chat_id" in params:
            button = find_chat(self.state, params["chat_id"]).menu_button
            if button is not None:
                return button
        return self.state.default_menu_button

    async def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        """Return the ChatFullInfo of a known chat."""
        chat = find_chat(self.state, params["chat_id"])
        return {
            **chat.to_api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": ACCEPTED_GIFT_TYPES,
        }

    async def get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        """Describe a stored file and where to download it."""
        stored = self.state.files.get(params["file_id"])
        if stored is None:
            raise bad_request("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }
