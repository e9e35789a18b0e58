"""Composition root: build the database, channels, dispatcher and links from the settings."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from starlette.routing import BaseRoute
from telegram import Update

from bot.channels.email import EmailSender, SmtpConfig
from bot.channels.ratelimit import RateLimiter
from bot.channels.telegram import TelegramSender, make_bot
from bot.config import Settings, SettingsError, require_signing_key
from bot.db.rate_budget import shared_budget
from bot.db.session import SQLITE_BUSY_TIMEOUT_MS, Database
from bot.ops.housekeeping import run_daily
from bot.rendering import Renderer
from bot.sandbox.loopback import LoopbackServer
from bot.scheduler import Housekeeper, Ticker
from bot.scheduler import start as start_scheduler
from bot.services.clock import Clock, SystemClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.delivery.outbox import DeliveryPolicy
from bot.services.delivery.port import Sender
from bot.services.delivery.signed_links import Links
from bot.services.delivery.stats import STATS

# Each module below registers its send-time builder with the composer when imported.
from bot.services.events import answer_digest, invitation_messages, reminders  # noqa: F401
from bot.services.onboarding import join_links  # noqa: F401
from bot.services.recommendations import reminders as rec_reminders  # noqa: F401
from bot.services.reporting import coordinator_digest  # noqa: F401
from bot.services.surveys import sending as survey_sending  # noqa: F401
from bot.telegram.context import Deps
from bot.telegram.setup import (
    ALLOWED_UPDATES,
    build_application,
    register_commands,
    reply_bot,
)
from bot.telegram.startup import Sleep, keep_trying
from bot.telegram.texts import Texts
from bot.web.app import WEBHOOK_PATH, NotReady, UpdateSink, build_web, webhook_secret
from bot.web.health import Health, TelegramStatus
from bot.web.metrics import Metrics
from bot.web.pages import WebDeps

log = logging.getLogger("expertbot")


def policy(settings: Settings) -> DeliveryPolicy:
    return DeliveryPolicy(settings.zone, settings.quiet)


def links(settings: Settings) -> Links | None:
    if settings.secret_key is None:
        return None
    return Links(settings.secret_key.get_secret_value(), settings.public_url)


def secrets(settings: Settings) -> list[str]:
    """Every secret value, for the log filter."""
    values = [
        settings.telegram_token,
        settings.smtp_password,
        settings.secret_key,
        settings.metrics_token,
    ]
    found = [v.get_secret_value() for v in values if v is not None]
    try:  # a database URL may carry a password: an error that quotes the URL must not show it
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None
    return found + ([str(password)] if password else [])


def senders(settings: Settings, database: Database | None = None) -> dict[str, Sender]:
    """One sender per configured channel; on PostgreSQL Telegram's budget is shared there."""
    built: dict[str, Sender] = {}
    if settings.telegram_token is not None:
        bot = make_bot(settings.telegram_token.get_secret_value(), settings.telegram_api_url)
        budget = shared_budget(database) if database is not None else None
        built["telegram"] = TelegramSender(bot, RateLimiter(settings.telegram_rate, budget=budget))
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
    """The long-running process: the Telegram bot, the web server and the dispatcher."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    dispatcher: Dispatcher | None = None
    ticker: Ticker | None = None
    housekeeper: Housekeeper | None = None  # retention and daily backups
    routes: list[BaseRoute] = field(default_factory=list)  # more web pages (the playground)
    web_state: dict[str, Any] = field(default_factory=dict)  # what those pages read from app.state
    bot_username: str | None = None  # known once the bot has asked Telegram who it is
    database: Database | None = None
    telegram: TelegramStatus = field(default_factory=TelegramStatus)  # its start-up, for /healthz
    telegram_pause: Sleep = asyncio.sleep  # between start-up attempts (tests pass their own)
    busy_pause: Sleep = asyncio.sleep  # before an update meets a busy database again
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    health: Health | None = None
    web_deps: WebDeps | None = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop`; raise SettingsError, before starting anything, if unsafe.

        Telegram's start-up (getMe, commands, webhook) is tried again in the background
        until it works: the web pages, the scheduler and email do not wait for it.
        """
        require_signing_key(self.settings)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop.set)
        STATS.reset()  # /metrics and /healthz count from this start
        database = self.database = Database(
            self.settings.database_url, busy_timeout_ms=self.busy_timeout_ms
        )
        channels = senders(self.settings, database)
        dispatcher = Dispatcher(
            database,
            channels,
            Composer(Renderer(), links(self.settings), mail_from=self.settings.mail_from),
            self.clock,
            policy(self.settings),
        )
        self.dispatcher = dispatcher
        telegram = channels.get("telegram")
        self.health = Health(
            database,
            tuple(channels),
            self.telegram if isinstance(telegram, TelegramSender) else None,
        )
        log.info("dispatching on: %s", ", ".join(channels) or "no channel")
        async with AsyncExitStack() as stack:
            stack.push_async_callback(database.dispose)
            for sender in channels.values():
                stack.push_async_callback(_quietly, sender.close)
            sink, first_try = None, None
            if isinstance(telegram, TelegramSender):
                sink, first_try = await stack.enter_async_context(
                    self._bot(telegram, database, stop)
                )
            await stack.enter_async_context(self._web(sink, database))
            self.ticker = Ticker(
                database,
                self.clock,
                policy(self.settings),
                dispatcher.wake.set,
                self.settings.digest_time,
            )
            self.housekeeper = Housekeeper(
                partial(run_daily, database, self.settings),
                self.clock,
                self.settings.zone,
                database=database,
            )
            scheduler = start_scheduler(self.ticker, housekeeper=self.housekeeper)
            self.health.scheduler_running = lambda: bool(scheduler.running)
            stack.callback(scheduler.shutdown, wait=False)
            if first_try is not None:  # up, or retrying and said so: either way, ready
                await _either(first_try, stop)
            self.ready.set()
            # What start-up built lives as long as the process: keep it out of every later
            # garbage collection (about 8 % of the CPU a broadcast costs; bench/broadcast.py).
            gc.collect()
            gc.freeze()
            try:
                await dispatcher.run(stop)
            finally:
                gc.unfreeze()  # a process that runs the service again (tests) collects it
        log.info("stopped; every message is sent or still queued")

    @asynccontextmanager
    async def _bot(
        self, sender: TelegramSender, database: Database, stop: asyncio.Event
    ) -> AsyncIterator[tuple[UpdateSink | None, asyncio.Event]]:
        """Run the PTB Application (long polling, or a webhook fed by the web server), once
        Telegram answers; yield the webhook's sink and an event set after the first try."""
        token = self.settings.telegram_token
        assert token is not None
        deps = Deps(
            database,
            Texts(timezone=self.settings.timezone),
            self.clock,
            self.settings.default_language,
            policy(self.settings),
            (self.settings.secret_key or token).get_secret_value(),
            self.dispatcher.wake.set if self.dispatcher else None,
            tuple(self.dispatcher.senders) if self.dispatcher else ("telegram",),
            public_url=self.settings.public_url,
            retention_days=self.settings.retention_days,
        )
        bot = reply_bot(token.get_secret_value(), self.settings.telegram_api_url, sender.limiter)
        application = build_application(bot, deps, pause=self.busy_pause)
        webhook = self._webhook_secret() if self.settings.telegram_webhook else None
        first_try = asyncio.Event()

        async def start() -> None:
            try:
                await application.initialize()  # getMe; a no-op once it has worked
                self._named(self.settings.telegram_bot_username or application.bot.username)
                await register_commands(bot, deps)
                if webhook is not None:
                    await bot.set_webhook(
                        f"{self.settings.public_url}{WEBHOOK_PATH}",
                        secret_token=webhook,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                else:
                    await bot.delete_webhook()
                if not application.running:
                    await application.start()
                if webhook is not None:
                    log.info("receiving Telegram updates by webhook")
                else:
                    assert application.updater is not None
                    await application.updater.start_polling(
                        allowed_updates=ALLOWED_UPDATES, poll_interval=0.0, timeout=10
                    )
                    log.info("receiving Telegram updates by long polling")
            finally:
                first_try.set()

        async def sink(data: dict[str, Any]) -> None:
            if not application.running:
                raise NotReady("Telegram's start-up has not finished")
            update = Update.de_json(data, application.bot)
            if update is not None:
                await application.update_queue.put(update)

        secret = token.get_secret_value()
        trying = asyncio.create_task(
            keep_trying(
                start,
                self.telegram,
                stop,
                mask=lambda text: text.replace(secret, "********"),
                sleep=self.telegram_pause,
            )
        )
        try:
            yield (sink if webhook is not None else None), first_try
        finally:
            trying.cancel()
            with suppress(asyncio.CancelledError):
                await trying
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
            await bot.shutdown()  # its connections, when getMe never worked

    def _named(self, username: str | None) -> None:
        """Telegram told the bot its name: join links can be made from now on."""
        self.bot_username = username
        if self.web_deps is not None and username:
            self.web_deps.bot_username = username

    def _webhook_secret(self) -> str:
        if self.settings.secret_key is None:
            raise SettingsError(
                "EXPERTBOT_SECRET_KEY: required for webhook mode; set it to a long random value."
            )
        return webhook_secret(self.settings.secret_key.get_secret_value())

    @asynccontextmanager
    async def _web(self, sink: UpdateSink | None, database: Database) -> AsyncIterator[None]:
        token = self._webhook_secret() if sink is not None else None
        signer = links(self.settings)
        pages = (
            WebDeps(
                database,
                signer,
                self.clock,
                self.settings.timezone,
                policy(self.settings),
                public_url=self.settings.public_url,
                bot_username=self.bot_username or self.settings.telegram_bot_username,
                invite_days=self.settings.invite_days,
                trusted_proxies=self.settings.trusted_proxies,
            )
            if signer
            else None
        )
        self.web_deps = pages
        web = build_web(
            webhook=sink,
            webhook_token=token,
            pages=pages,
            extra=self.routes,
            state=self.web_state,
            health=self.health,
            metrics=Metrics(
                database,
                self.clock,
                key.get_secret_value() if (key := self.settings.metrics_token) else None,
                self.settings.trusted_proxies,
            ),
        )
        server = LoopbackServer(web, host=self.settings.web_host, port=self.settings.web_port)
        await server.start()
        log.info("web pages on http://%s:%s", self.settings.web_host, server.port)
        try:
            yield
        finally:
            await server.stop()


async def _either(*events: asyncio.Event) -> None:
    """Wait until one of `events` is set."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()


async def _quietly(close: Callable[[], Awaitable[None]]) -> None:
    with suppress(Exception):
        await close()
