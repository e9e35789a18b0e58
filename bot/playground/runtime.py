"""The offline playground: an emulated Telegram and mail server, the real service between them.

`expertbot run` without a Telegram token and an SMTP host starts this. The bot, the scheduler
and the dispatcher are the production ones; only Telegram's servers and the mail server are
stand-ins, running in this process on loopback, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from starlette.routing import BaseRoute

from bot.app import Service, policy
from bot.config import Settings
from bot.db.models import Contact, DatabaseMark, Event, Invitation, OutboxMessage, TelegramLink
from bot.db.session import Database
from bot.playground import erasures
from bot.playground.jumps import upcoming
from bot.sandbox import EmulatedUser, TelegramEmulator, snapshot
from bot.sandbox.mail_server import MailServer
from bot.services import marks
from bot.services.clock import ShiftedClock
from bot.services.contacts.audience import Audience
from bot.services.events import invitations
from bot.services.onboarding import join_tokens

log = logging.getLogger("expertbot.playground")
BOT_USERNAME = "expertbot_sandbox_bot"
BOT_NAME = "Expertbot (sandbox)"
MAX_STEPS = 200  # scheduled moments one jump walks through at most
DRAIN_SECONDS = 20.0  # how long one step waits for the dispatcher
DRAIN_POLL = 0.05
SAVE_EVERY = 2.0  # seconds between saves of what the phones and mailboxes show, when it changed
USER_ID_BASE = 710_000_000  # emulated Telegram user id = this + contact id
LOOPBACK = "127.0.0.1"
SANDBOX_SENDER = "Expertbot (sandbox) <network@expertbot.invalid>"
BANNER = (
    "Sandbox: nothing leaves this machine. Telegram and email are simulated here; "
    "the bot, the scheduler and the pages are the real ones."
)


class PlaygroundError(Exception):
    """An action the playground cannot do; the message says what to do instead."""


def pick_port(wanted: int) -> int:
    """Return `wanted` if it is free on loopback, else a free port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server binds: a port left in TIME-WAIT by a quick restart is free to reuse.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((LOOPBACK, wanted))
        except OSError:
            probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def inner_settings(
    settings: Settings, telegram: TelegramEmulator, mail: MailServer, port: int, secret_key: str
) -> Settings:
    """The service's settings inside the sandbox: everything points at the stand-ins."""
    secret = settings.secret_key or SecretStr(secret_key)
    default_sender = Settings.model_fields["mail_from"].default
    sender = SANDBOX_SENDER if settings.mail_from == default_sender else settings.mail_from
    return settings.model_copy(
        update={
            "mail_from": sender,
            "telegram_token": SecretStr(telegram.token),
            "telegram_api_url": telegram.base_url,
            "telegram_bot_username": telegram.bot_username,
            "telegram_webhook": False,
            "smtp_host": LOOPBACK,
            "smtp_port": mail.port,
            "smtp_security": "none",
            "smtp_username": None,
            "smtp_password": None,
            "secret_key": secret,
            "web_host": LOOPBACK,
            "web_port": port,
            "public_url": f"http://{LOOPBACK}:{port}",
        }
    )


@dataclass
class Playground:
    """Run with `await playground(settings).run(stop)` (`bot.playground.app`); `url` is the page.

    The web pages come in as `routes`; they find this object on `app.state.playground`.
    """

    settings: Settings
    clock: ShiftedClock = field(default_factory=ShiftedClock)
    on_ready: Callable[[Playground], None] | None = None
    routes: Sequence[BaseRoute] = ()  # the web pages it serves (`bot.playground.app` gives them)
    telegram: TelegramEmulator | None = None
    mail: MailServer | None = None
    service: Service | None = None
    users: dict[int, EmulatedUser] = field(default_factory=dict)  # contact id -> user
    url: str = ""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _ticking: asyncio.Lock = field(default_factory=asyncio.Lock)
    _moving: asyncio.Lock = field(default_factory=asyncio.Lock)
    _saving: asyncio.Lock = field(default_factory=asyncio.Lock)
    _saved: str = ""  # the last snapshot written, to skip writing the same again
    _saved_at: datetime | None = None
    _stored: str | None = None  # the saved chats as the database held them when last seen
    _erased: int = 0  # how many people were erased then

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Start everything, connect the people, serve until `stop` is set."""
        stop = stop or asyncio.Event()
        port = self._port()
        async with AsyncExitStack() as stack:
            telegram = TelegramEmulator(
                bot_username=BOT_USERNAME, bot_name=BOT_NAME, now=self.clock.timestamp
            )
            self.telegram = await stack.enter_async_context(telegram)
            self.mail = await stack.enter_async_context(MailServer(now=self.clock.timestamp))
            settings = inner_settings(
                self.settings, telegram, self.mail, port, await self._secret()
            )
            self.url = settings.public_url
            self.service = Service(
                settings, self.clock, routes=list(self.routes), web_state={"playground": self}
            )
            task = asyncio.create_task(self.service.run(stop))
            started = asyncio.create_task(self.service.ready.wait())
            await asyncio.wait({task, started}, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                started.cancel()
                task.result()  # re-raises why the service could not start
                return
            await self._restore_clock()
            await self.connect()
            self.ready.set()
            if self.on_ready is not None:
                self.on_ready(self)
            saver = asyncio.create_task(self._keep_saving())
            try:
                await task
            finally:
                saver.cancel()
                with suppress(asyncio.CancelledError):
                    await saver  # a save it was in the middle of has ended before the last one
            # The service closed its database; save what the phones and mailboxes show.
            await self._save_to(settings.database_url)

    def _port(self) -> int:
        """Pick the loopback port to serve on, saying so if it is not the one configured."""
        if self.settings.web_host != LOOPBACK:
            log.warning(
                "the playground listens on %s only, not %s", LOOPBACK, self.settings.web_host
            )
        port = pick_port(self.settings.web_port)
        if port != self.settings.web_port:
            log.warning("port %s is busy; the playground uses %s", self.settings.web_port, port)
        return port

    async def _save_to(self, url: str) -> None:
        """Save the chats, the mailboxes and the clock through a connection of its own."""
        database = Database(url)
        try:
            await self.save(database)
        finally:
            await database.dispose()

    async def _keep_saving(self) -> None:
        """Save every few seconds what changed, so a killed process loses at most that much."""
        while True:
            await asyncio.sleep(SAVE_EVERY)
            try:
                await self.save()
            except Exception:  # a busy database now is not a reason to stop saving later
                log.warning("could not save the playground's chats; trying again", exc_info=True)

    async def _secret(self) -> str:
        """Links in the saved mailboxes must still work next run: keep the key in the database."""
        database = Database(self.settings.database_url)
        try:
            async with database.session_scope() as session:
                return await marks.sandbox_secret(session, lambda: secrets.token_urlsafe(32))
        finally:
            await database.dispose()

    # --- what the page and the start-up do -----------------------------------------------

    @property
    def database(self) -> Database:
        if self.service is None or self.service.database is None:
            raise PlaygroundError("the playground is still starting; try again in a moment")
        return self.service.database

    @property
    def inner(self) -> Settings:
        assert self.service is not None
        return self.service.settings

    def wake(self) -> None:
        """Tell the dispatcher that new messages are queued."""
        if self.service is not None and self.service.dispatcher is not None:
            self.service.dispatcher.wake.set()

    async def connect(self) -> None:
        """Give every linked contact their chat back; open the bot for those with a username.

        On an empty playground (no invitation yet) the soonest event's audience is invited, so
        the chats and mailboxes have something to answer.
        """
        async with self.database.session_scope() as session:
            linked = (
                await session.execute(
                    select(TelegramLink, Contact).join(
                        Contact, Contact.id == TelegramLink.contact_id
                    )
                )
            ).all()
            waiting = list(
                await session.scalars(
                    select(Contact)
                    .where(
                        Contact.erased_at.is_(None),
                        Contact.telegram_username.is_not(None),
                        Contact.telegram_state == "unlinked",
                        ~Contact.telegram_links.any(),
                    )
                    .order_by(Contact.id)
                )
            )
            invited = await session.scalar(select(func.count()).select_from(Invitation))
            self._stored, self._erased = await self._stored_now(session)
        # No await from here to the restore: a message the bot sends now must find the chat
        # restored, not be the first of an empty one that the restore then skips.
        for link, contact in linked:
            self._user(contact, link.user_id)
        self._restore_chats(erasures.parsed(self._stored))
        for contact in waiting:
            try:
                await self.join(contact.id)
            except PlaygroundError as error:
                log.warning("%s could not open the bot: %s", contact.name, error)
        if not invited:
            first = await self._first_event()
            if first is not None:
                count = await self.invite(first)
                log.info("invited %d people to %s, so there is something to answer", count, first)

    async def _first_event(self) -> str | None:
        async with self.database.session_scope() as session:
            return await session.scalar(
                select(Event.slug)
                .where(Event.status.in_(("draft", "published")), Event.starts_at > self.clock.now())
                .order_by(Event.starts_at)
                .limit(1)
            )

    def _user(self, contact: Contact, user_id: int | None = None) -> EmulatedUser:
        assert self.telegram is not None
        known = self.users.get(contact.id)
        if known is not None:
            return known
        first, _, last = contact.name.partition(" ")
        user = self.telegram.user(
            user_id or USER_ID_BASE + contact.id,
            first or contact.name,
            last or None,
            contact.telegram_username,
            contact.language,
        )
        self.users[contact.id] = user
        return user

    async def contact(self, contact_id: int) -> Contact:
        async with self.database.session_scope() as session:
            found = await session.scalar(
                select(Contact)
                .where(Contact.id == contact_id, Contact.erased_at.is_(None))
                .options(selectinload(Contact.telegram_links))
            )
        if found is None:
            raise PlaygroundError(f"no contact with id {contact_id}")
        return found

    async def contact_by_email(self, address: str) -> int:
        async with self.database.session_scope() as session:
            found = await session.scalar(
                select(Contact.id).where(
                    func.lower(Contact.email) == address.lower(), Contact.erased_at.is_(None)
                )
            )
        if found is None:
            raise PlaygroundError(f"nobody has the address {address}")
        return int(found)

    async def join(self, contact_id: int, token: str | None = None) -> EmulatedUser:
        """The person opens their personal invite link in Telegram, as the bot's email says."""
        contact = await self.contact(contact_id)
        if token is None:
            async with self.database.session_scope() as session:
                issued = await join_tokens.issue(
                    session,
                    contact,
                    now=self.clock.now(),
                    lifetime=timedelta(days=self.inner.invite_days),
                )
            token = issued.token
        user = self._user(contact)
        await user.send(f"/start {token}")
        try:
            await user.wait_for_message(timeout=10)
        except TimeoutError:
            raise PlaygroundError("the bot did not answer /start within 10 s; try again") from None
        await self.save()
        return user

    def user_of(self, contact_id: int) -> EmulatedUser:
        user = self.users.get(contact_id)
        if user is None:
            raise PlaygroundError("this person has not opened the bot yet: use Join on Telegram")
        return user

    async def send(self, contact_id: int, text: str) -> None:
        text = text.strip()
        if not text:
            raise PlaygroundError("type a message first")
        if len(text) > 4096:
            raise PlaygroundError("Telegram messages are at most 4096 characters")
        await self.user_of(contact_id).send(text)
        await self.save()

    async def press(self, contact_id: int, message_id: int, data: str) -> str | None:
        """Press a button; return the bot's toast text once it answers (None if it did not)."""
        user = self.user_of(contact_id)
        try:
            query = await user.press(message_id, data)
        except LookupError:
            raise PlaygroundError("that button is gone: the message changed") from None
        try:
            answer = await user.wait_for_answer(query, timeout=3)
        except TimeoutError:
            return None
        finally:
            await self.save()
        text = answer.get("text")
        return str(text) if text else None

    async def invite(self, key: str) -> int:
        """Invite an event's audience (those not invited yet), as `events invite` does."""
        async with self.database.session_scope() as session:
            event = await session.scalar(select(Event).where(Event.slug == key))
            if event is None:
                raise PlaygroundError(f"no event {key!r}")
            plan = await invitations.plan(
                session, event, Audience.from_mapping(event.audience or {})
            )
            count = await invitations.invite(
                session, event, plan, now=self.clock.now(), policy=policy(self.inner)
            )
        self.wake()
        return count

    async def tick(self) -> int:
        """Run the scheduler's scan now (after the clock moved) and wake the dispatcher."""
        assert self.service is not None and self.service.ticker is not None
        async with self._ticking:  # the page, a second tab and the minute's scan take turns
            queued = await self.service.ticker.tick()
        self.wake()
        return queued

    async def move_clock(self, *, to: datetime | None = None, by: timedelta | None = None) -> int:
        """Move time forward through every scheduled moment on the way, as if it had passed.

        At each moment the scheduler's scan runs and the dispatcher sends what came due before
        time moves on, so a long jump skips no reminder, survey or digest and each is written
        for the moment it belongs to. The result is remembered in the database.
        """
        target = to if to is not None else self.clock.now() + (by or timedelta(0))
        queued = 0
        async with self._moving:
            for _ in range(MAX_STEPS):
                async with self.database.session_scope() as session:
                    step = await upcoming(session, self.clock.now())
                if step is None or step.at >= target:
                    break
                self.clock.jump_to(step.at)
                queued += await self.tick()
                await self._delivered()
            self.clock.jump_to(target)
            queued += await self.tick()
            await self._delivered()
            await self.save()
        return queued

    async def _delivered(self, limit: float = DRAIN_SECONDS) -> None:
        """Wait (up to `limit`) until nothing due now is still waiting to be sent."""
        deadline = asyncio.get_running_loop().time() + limit
        while asyncio.get_running_loop().time() < deadline:
            async with self.database.session_scope() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(
                        OutboxMessage.status.in_(("queued", "sending")),
                        OutboxMessage.next_attempt_at <= self.clock.now(),
                    )
                )
            if not waiting:
                return
            self.wake()
            await asyncio.sleep(DRAIN_POLL)

    def _restore_chats(self, saved: dict[str, Any]) -> None:
        """Put back the chats and mailboxes of the last run, so a restart loses nothing shown."""
        assert self.telegram is not None and self.mail is not None
        if not saved:
            return
        chats = snapshot.restore(saved, self.telegram.state, self.mail)
        for user in self.users.values():
            erasures.keep_ids(user.chat)  # an erasure may have dropped some of its messages
            user.seen_all()
        log.info("restored %d chat(s) and %d email(s)", len(chats), len(self.mail.messages))

    async def save(self, database: Database | None = None) -> None:
        """Keep the chats, the mailboxes and the clock in the database.

        After an erasure the phones and mailboxes first take back what it left of the saved
        chats (`erasures`), so the person does not come back with this save.
        """
        assert self.telegram is not None and self.mail is not None
        target = database or self.database
        async with self._saving:
            async with target.read_scope() as session:
                await self._after_erasure(session)
            saved, shown = self._dump()
            now = self.clock.now()
            recent = self._saved_at is not None and (
                self._saved_at <= now < self._saved_at + timedelta(minutes=1)
            )
            if database is None and shown == self._saved and recent:
                return  # nothing new; the clock is written once a minute at most
            written = self._stored
            async with target.session_scope() as session:
                # Locked, so an erasure running now rewrites the chats after this save, not before.
                if await self._after_erasure(session, lock=True):
                    saved, shown = self._dump()
                if shown != self._saved or database is not None:
                    await marks.save_sandbox_snapshot(session, saved)
                    mark = await session.get(DatabaseMark, marks.SANDBOX_SNAPSHOT)
                    written = mark.value if mark is not None else None
                await marks.save_sandbox_now(session, now)
            self._saved, self._saved_at, self._stored = shown, now, written

    async def forget_erased(self) -> None:
        """Drop at once what an erasure forgot (the console's, or /privacy in a chat)."""
        if not self.ready.is_set():
            return  # the chats are not restored yet; the restore reads them as they are now
        async with self._saving, self.database.read_scope() as session:
            await self._after_erasure(session)

    def _dump(self) -> tuple[dict[str, Any], str]:
        assert self.telegram is not None and self.mail is not None
        chat_ids = {user.id for user in self.users.values()}
        saved = snapshot.dump(self.telegram.state, self.mail, chat_ids)
        return saved, json.dumps(saved, sort_keys=True, default=str)

    async def _erased_count(self, session: AsyncSession) -> int:
        count = await session.scalar(
            select(func.count()).select_from(Contact).where(Contact.erased_at.is_not(None))
        )
        return int(count or 0)

    async def _stored_now(self, session: AsyncSession) -> tuple[str | None, int]:
        """The saved chats as stored, and how many people were erased."""
        stored = await session.scalar(
            select(DatabaseMark.value).where(DatabaseMark.key == marks.SANDBOX_SNAPSHOT)
        )
        return stored, await self._erased_count(session)

    async def _after_erasure(self, session: AsyncSession, *, lock: bool = False) -> bool:
        """If someone was erased, or the saved chats rewritten, since last seen: take them back.

        `lock` (in a writing session) also compares the saved chats with what this wrote.
        """
        assert self.telegram is not None and self.mail is not None
        stored = self._stored
        if lock:
            # The row first: with its lock held, an erasure's change to it has committed
            # (and its count shows below) or waits until this save has committed.
            query = select(DatabaseMark).where(DatabaseMark.key == marks.SANDBOX_SNAPSHOT)
            mark = await session.scalar(query.with_for_update())
            stored = mark.value if mark is not None else None
        erased = await self._erased_count(session)
        if (stored, erased) == (self._stored, self._erased):
            return False
        if not lock:
            stored, erased = await self._stored_now(session)
        gone = await session.scalars(
            select(Contact.id).where(
                Contact.id.in_(list(self.users)), Contact.erased_at.is_not(None)
            )
        )
        state = self.telegram.state
        erasures.take_back(state, self.mail, self.users, gone, erasures.parsed(stored))
        log.info("an erasure changed the saved chats; the phones and mailboxes show it now")
        self._stored, self._erased, self._saved = stored, erased, ""
        return True

    async def _restore_clock(self) -> None:
        """Time never runs back: after a restart the clock resumes where it was moved to."""
        async with self.database.session_scope() as session:
            saved = await marks.sandbox_now(session)
        if saved is not None and self.clock.jump_to(saved):
            log.info("the playground's clock resumes at %s", saved.isoformat(timespec="minutes"))
