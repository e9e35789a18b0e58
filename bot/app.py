"""Composition root: build the database, channels, dispatcher and links from the settings."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import suppress
from dataclasses import dataclass, field

from bot.channels.email import EmailSender, SmtpConfig
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.config import Settings
from bot.db.session import Database
from bot.rendering import Renderer
from bot.services.clock import Clock, SystemClock
from bot.services.compose import Composer
from bot.services.delivery import Sender
from bot.services.dispatcher import Dispatcher
from bot.services.links import Links
from bot.services.outbox import DeliveryPolicy

log = logging.getLogger("expertbot")


def policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(settings.zone, settings.quiet)


def links(settings: Settings) -> Links | None:
    if settings.secret_key is None:
        return None
    return Links(settings.secret_key.get_secret_value(), settings.public_url)


def secrets(settings: Settings) -> list[str]:
    """Every secret value, for the log filter."""
    values = [settings.telegram_token, settings.smtp_password, settings.secret_key]
    return [v.get_secret_value() for v in values if v is not None]


def senders(settings: Settings) -> dict[str, Sender]:
    """One sender per configured channel."""
    built: dict[str, Sender] = {}
    if settings.telegram_token is not None:
        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
        built["telegram"] = TelegramSender(bot, RateLimiter(settings.telegram_rate))
    if settings.smtp_host:
        config = SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            security=settings.smtp_security,
            mail_from=settings.mail_from,
        )
        built["email"] = EmailSender(config)
    return built


@dataclass
class Service:
    """The long-running process: today the dispatcher; the bot and scheduler join it later."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        database = Database(self.settings.database_url)
        channels = senders(self.settings)
        dispatcher = Dispatcher(
            database,
            channels,
            Composer(Renderer(), links(self.settings), mail_from=self.settings.mail_from),
            self.clock,
            policy(self.settings),
        )
        log.info("dispatching on: %s", ", ".join(channels) or "no channel")
        try:
            await dispatcher.run(stop)
        finally:
            for sender in channels.values():
                with suppress(Exception):
                    await sender.close()
            await database.dispose()
        log.info("stopped; every message is sent or still queued")
