"""Wire the handlers into a PTB Application, in one place."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Bot, BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    ExtBot,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.channels.ratelimit import RateLimiter
from bot.telegram import coordinator_handlers as desk
from bot.telegram import desk_commands
from bot.telegram import onboarding_handlers as joining
from bot.telegram import rec_handlers as tasks
from bot.telegram import rsvp_handlers as rsvp
from bot.telegram import self_handlers as mine
from bot.telegram import survey_handlers as answering
from bot.telegram.chat_state import SharedChatData
from bot.telegram.context import Deps
from bot.telegram.replies import SharedLimiter
from bot.web.health import database_busy

log = logging.getLogger("expertbot.telegram")
# Pauses before handling an update again when the database was busy (each try has already
# waited the busy timeout); after the last one the update is given up, and the log says so.
BUSY_PAUSES = (0.5, 1.0, 2.0, 4.0, 8.0)
Sleep = Callable[[float], Awaitable[None]]


class ReplyBot(ExtBot[None]):
    """Answers each button press once: a handler tried again answers it again, and Telegram
    refuses a second answer."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._answered: OrderedDict[str, None] = OrderedDict()
        super().__init__(*args, **kwargs)

    async def answer_callback_query(
        self, callback_query_id: str, *args: Any, **kwargs: Any
    ) -> bool:
        if callback_query_id in self._answered:
            return True
        answered = await super().answer_callback_query(callback_query_id, *args, **kwargs)
        self._answered[callback_query_id] = None
        while len(self._answered) > 1000:
            self._answered.popitem(last=False)
        return answered


def reply_bot(token: str, api_url: str, limiter: RateLimiter) -> ExtBot[None]:
    """The bot handlers answer with: its own connections, the dispatcher's rate budget."""
    return ReplyBot(
        token,
        base_url=f"{api_url}/bot",
        base_file_url=f"{api_url}/file/bot",
        request=HTTPXRequest(connection_pool_size=16, read_timeout=20, write_timeout=20),
        get_updates_request=HTTPXRequest(read_timeout=60),
        rate_limiter=SharedLimiter(limiter),
    )


def build_application(bot: ExtBot[None], deps: Deps, pause: Sleep = asyncio.sleep) -> Application:
    """A PTB Application around our bot; updates come by polling or by webhook."""
    # Wizard steps in the database: behind a load balancer any instance may hear the next one.
    application = Application.builder().bot(bot).persistence(SharedChatData(deps.database)).build()
    application.bot_data["deps"] = deps
    add_handlers(application)
    for handlers in application.handlers.values():
        for handler in handlers:
            handler.callback = retry_when_busy(handler.callback, pause)
    return application


def retry_when_busy(callback: Any, pause: Sleep = asyncio.sleep) -> Any:
    """The handler, tried again after a pause when the database was busy: never dropped."""

    @functools.wraps(callback)
    async def retrying(update: object, context: ContextTypes.DEFAULT_TYPE) -> Any:
        for attempt, wait in enumerate((*BUSY_PAUSES, None), start=1):
            try:
                return await callback(update, context)
            except Exception as error:
                if wait is None or not database_busy(error):
                    raise
                number = update.update_id if isinstance(update, Update) else "?"
                log.warning(
                    "the database was busy for update %s (try %d); trying again in %s s",
                    number,
                    attempt,
                    f"{wait:g}",
                )
                await pause(wait)
        return None

    return retrying


def add_handlers(app: Application) -> None:
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, mine.in_group))
    app.add_handler(CommandHandler("start", joining.start, filters=private))
    app.add_handler(CommandHandler("broadcast", desk.broadcast, filters=private))
    for name, command in (
        ("invite", desk_commands.invite),
        ("rsvps", desk_commands.rsvps),
        ("results", desk_commands.survey_results),
        ("recs", desk_commands.recs),
        ("stats", desk_commands.stats),
        ("export", desk_commands.export),
        ("console", desk_commands.console),
    ):
        app.add_handler(CommandHandler(name, command, filters=private))
    app.add_handler(CallbackQueryHandler(desk.pressed, pattern=r"^bc:"))
    for name, handler in (
        ("help", mine.help_),
        ("language", mine.language),
        ("events", mine.events),
        ("tasks", mine.tasks),
        ("privacy", mine.privacy),
        ("stop", mine.stop),
    ):
        app.add_handler(CommandHandler(name, handler, filters=private))
    app.add_handler(CallbackQueryHandler(joining.consent_pressed, pattern=r"^consent:(yes|no)$"))
    app.add_handler(CallbackQueryHandler(joining.access_requested, pattern=r"^access:request$"))
    app.add_handler(
        CallbackQueryHandler(
            joining.access_decided,
            pattern=r"^access:(approve|decline|new):\d+$|^access:link:\d+:\d+$",
        )
    )
    app.add_handler(CallbackQueryHandler(mine.language_pressed, pattern=r"^lang:(lv|et|en)$"))
    app.add_handler(CallbackQueryHandler(rsvp.rsvp_pressed, pattern=r"^rsvp:\d+:(yes|no|maybe)$"))
    app.add_handler(
        CallbackQueryHandler(
            mine.privacy_pressed, pattern=r"^privacy:(export|delete|confirm|cancel)$"
        )
    )
    app.add_handler(CallbackQueryHandler(answering.start_pressed, pattern=r"^survey:\d+:start$"))
    app.add_handler(
        CallbackQueryHandler(
            tasks.status_pressed, pattern=r"^rec:\d+:(done|in_progress|not_started|comment)$"
        )
    )
    app.add_handler(
        CallbackQueryHandler(answering.step_pressed, pattern=r"^sv:\d+:\d+:(a|t|d|s|b)(:[\w-]+)?$")
    )
    app.add_handler(CallbackQueryHandler(mine.stale_pressed))  # anything else: still answered
    app.add_handler(ChatMemberHandler(mine.membership_changed, ChatMemberHandler.MY_CHAT_MEMBER))
    # Typed text answers an open survey question first (group -1); otherwise the help below.
    app.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, desk.text_typed), group=-3
    )
    app.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, tasks.comment_typed), group=-2
    )
    app.add_handler(
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, answering.text_typed), group=-1
    )
    app.add_handler(MessageHandler(private & ~filters.UpdateType.EDITED_MESSAGE, mine.fallback))
    app.add_error_handler(log_error)


async def log_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    if context.error is not None and database_busy(context.error):
        number = update.update_id if isinstance(update, Update) else "?"
        log.error("update %s given up: the database stayed busy through every try", number)
    else:
        log.error("handling an update failed", exc_info=context.error)
    await mine.answer_after_failure(update, context)


async def register_commands(bot: Bot, deps: Deps) -> None:
    """setMyCommands for each language, and English as the default."""
    for language in ("lv", "et", "en"):
        commands = [BotCommand(n, d) for n, d in deps.texts.commands(language)]
        await bot.set_my_commands(commands, language_code=language)
    english = [BotCommand(n, d) for n, d in deps.texts.commands("en")]
    await bot.set_my_commands(english)


ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
