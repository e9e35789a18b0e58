"""Recommendation follow-up over several cadence ticks, on Telegram and by email, end to end."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select

from bot.db.models import Recommendation, RecommendationOwner, RecommendationUpdate
from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.scheduler import Ticker
from bot.services.clock import ManualClock
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.recommendations.followup import next_tick
from tests.conftest import DATA
from tests.test_onboarding import Network
from tests.test_outbox import POLICY

RIGA = ZoneInfo("Europe/Riga")
PAGE = re.compile(r"https?://\S+/t/[\w.\-]+")
TEXT = {
    "lv": "Organizēt mediatoru pieredzes apmaiņu.",
    "et": "Korraldada mediaatorite kogemuste vahetus.",
    "en": "Arrange an exchange of mediators.",
}


class FollowUp(Network):
    async def rec(self, slug: str, emails: list[str], cadence: str, due: date | None) -> int:
        async with self.database.session_scope() as session:
            rec = Recommendation(
                slug=slug,
                area="mediation",
                text=TEXT,
                cadence=cadence,
                due_on=due,
                next_reminder_at=next_tick(cadence, self.clock.now(), RIGA),
            )
            for email in emails:
                contact = await registry.find(session, email)
                assert contact is not None
                rec.owners.append(RecommendationOwner(contact_id=contact.id))
            session.add(rec)
            await session.flush()
            return rec.id

    async def tick(self) -> int:
        assert self.service.ticker is not None
        count = await self.service.ticker.tick()
        self.service_wake()
        return count

    async def status(self, rec_id: int) -> str:
        async with self.database.session_scope() as session:
            rec = await session.get(Recommendation, rec_id)
            assert rec is not None
            return rec.status


@pytest.fixture
async def net(sqlite_database: Database) -> AsyncIterator[FollowUp]:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator, MailServer() as mail:
        network = FollowUp(
            sqlite_database,
            emulator,
            secret_key="recs-secret-key-1-0123456789abcdef",
            smtp_host="127.0.0.1",
            smtp_port=mail.port,
            smtp_security="none",
        )
        network.mail = mail  # type: ignore[attr-defined]
        network.clock.set(datetime(2027, 1, 10, 10, 0, tzinfo=UTC))
        network.settings = network.settings.model_copy(
            update={"public_url": f"http://127.0.0.1:{network.settings.web_port}"}
        )
        network.service.settings = network.settings
        await network.start()
        yield network
        await network.close()


async def test_ticks_bring_digests_answers_on_both_channels_done_and_escalation(
    net: FollowUp,
) -> None:
    kadri = net.emulator.user(810, "Kadri", "Tamm", "kadrit", "et")
    await net.joined(kadri, "kadri.tamm@valga.example")
    shared = await net.rec(
        "valga-2020-mediators",
        ["kadri.tamm@valga.example", "liga.saulite@jelgava.example"],
        "monthly",
        date(2027, 5, 31),
    )
    late = await net.rec(
        "valga-2020-delegate", ["edgars.vitols@valka.example"], "every 30d", date(2027, 1, 31)
    )
    assert await net.tick() == 0  # the first reminder waits for the next tick, not the load
    net.clock.set(datetime(2027, 2, 1, 7, 0, tzinfo=UTC))  # 1 February 09:00 in Riga
    # Kadri and Līga get their digest; Edgars' 30-day cadence is not due yet, but his item
    # is overdue, so Sandra, the coordinator, hears about it.
    assert await net.tick() == 3
    digest = await kadri.wait_for_message(lambda m: bool(m.reply_markup))
    assert "Meeldetuletus soovituste kohta" in (digest.text or "")
    await kadri.press(digest, "1 · Pooleli")
    await kadri.wait_for(lambda: "✓ 1 · Pooleli" in str(digest.reply_markup))
    assert await net.status(shared) == "in_progress"

    mail: MailServer = net.mail  # type: ignore[attr-defined]
    await mail.wait_for(2)
    escalation = mail.mailbox("sandra.jansone@km.example")[0]
    assert "Ieteikumi, kuriem vajadzīga uzmanība" in str(escalation["Subject"])
    (liga_digest,) = mail.mailbox("liga.saulite@jelgava.example")
    body = liga_digest.get_body(("plain",))
    assert body is not None
    page_url = PAGE.findall(body.get_content())[0]
    async with httpx.AsyncClient() as client:
        page = await client.get(page_url)
        confirm = re.search(r'name="confirm" value="(\w+)"', page.text)
        assert confirm is not None and "Tiek īstenots" in page.text
        saved = await client.post(
            page_url,
            data={
                "confirm": confirm.group(1),
                f"status-{shared}": "done",
                f"comment-{shared}": "Pieredzes apmaiņa notika Jelgavā 28. janvārī.",
            },
        )
    assert saved.status_code == 200 and "saglabātas" in saved.text
    assert await net.status(shared) == "done"
    notice = await kadri.wait_for_message(lambda m: "Soovitus on täidetud" in (m.text or ""))
    assert "Līga Saulīte" in (notice.text or "")

    net.clock.set(datetime(2027, 2, 9, 10, 0, tzinfo=UTC))
    assert await net.tick() == 1  # Edgars; nothing about the shared item, which is done
    net.clock.set(datetime(2027, 3, 11, 10, 0, tzinfo=UTC))
    assert await net.tick() == 1  # Edgars again; Sandra was already told about his item
    async with net.database.session_scope() as session:
        history = list(await session.scalars(select(RecommendationUpdate.channel)))
        owner = await session.scalar(
            select(RecommendationOwner).where(RecommendationOwner.recommendation_id == late)
        )
        assert owner is not None and owner.unanswered_reminders == 2
    assert sorted(history) == ["telegram", "web"]


def test_a_cron_cadence_keeps_local_time_across_the_daylight_saving_switch() -> None:
    before = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)  # Friday; clocks go forward on Sunday
    first = next_tick("0 9 * * 1,5", before, RIGA)
    second = next_tick("0 9 * * 1,5", first, RIGA)
    assert first == datetime(2027, 3, 29, 6, 0, tzinfo=UTC)  # Monday 09:00 EEST
    assert second == datetime(2027, 4, 2, 6, 0, tzinfo=UTC)  # Friday 09:00 EEST
    autumn = next_tick("0 9 * * 0", datetime(2027, 10, 30, 12, 0, tzinfo=UTC), RIGA)
    assert autumn == datetime(2027, 10, 31, 7, 0, tzinfo=UTC)  # Sunday 09:00 EET


async def test_a_cron_cadence_ticks_at_the_same_local_hour_before_and_after_the_switch(
    sqlite_database: Database,
) -> None:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
        margus = await registry.find(session, "margus.kask@valga.example")
        assert margus is not None
        rec = Recommendation(
            slug="daily",
            area="social",
            text=TEXT,
            cadence="0 9 * * *",
            next_reminder_at=datetime(2027, 3, 27, 7, 0, tzinfo=UTC),  # Saturday 09:00 EET
        )
        rec.owners.append(RecommendationOwner(contact_id=margus.id))
        session.add(rec)
    clock = ManualClock(datetime(2027, 3, 27, 7, 0, tzinfo=UTC))
    ticker = Ticker(sqlite_database, clock, POLICY)
    assert await ticker.tick() >= 1
    async with sqlite_database.session_scope() as session:
        found = await session.scalar(select(Recommendation))
        assert found is not None
        assert found.next_reminder_at == datetime(2027, 3, 28, 6, 0, tzinfo=UTC)  # 09:00 EEST
        assert found.next_reminder_at.astimezone(RIGA).hour == 9
    assert timedelta(hours=23) == datetime(2027, 3, 28, 6, tzinfo=UTC) - datetime(
        2027, 3, 27, 7, tzinfo=UTC
    )


async def test_two_unanswered_reminders_bring_the_coordinators_one_message(
    sqlite_database: Database,
) -> None:
    from bot.db.models import OutboxMessage

    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
        margus = await registry.find(session, "margus.kask@valga.example")
        assert margus is not None
        rec = Recommendation(
            slug="youth",
            area="culture",
            text=TEXT,
            cadence="monthly",
            next_reminder_at=datetime(2027, 2, 1, 7, 0, tzinfo=UTC),
        )
        rec.owners.append(RecommendationOwner(contact_id=margus.id))
        session.add(rec)
    clock = ManualClock(datetime(2027, 2, 1, 7, 0, tzinfo=UTC))
    ticker = Ticker(sqlite_database, clock, POLICY)

    async def kinds() -> list[str]:
        async with sqlite_database.session_scope() as session:
            return list(
                await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id))
            )

    await ticker.tick()
    assert await kinds() == ["rec_digest"]
    clock.set(datetime(2027, 3, 1, 7, 0, tzinfo=UTC))
    await ticker.tick()
    assert await kinds() == ["rec_digest", "rec_digest", "rec_escalation"]
    clock.set(datetime(2027, 4, 1, 6, 0, tzinfo=UTC))
    await ticker.tick()
    assert (await kinds()).count("rec_escalation") == 1  # told once, not at every tick


def test_when_the_coordinator_marks_done_the_owners_are_told(cli: object) -> None:
    from bot.db.models import OutboxMessage
    from tests.conftest import Cli, in_thread

    assert isinstance(cli, Cli)
    cli("contacts", "import", str(DATA / "contacts.csv"))
    assert cli("recs", "load", str(DATA / "recommendations" / "valga-2020.yaml")).exit_code == 0
    done = cli("recs", "set", "valga-2020-mediators", "done", "--comment", "Notika Jelgavā.")
    assert done.exit_code == 0 and "closed, no more reminders" in done.output

    async def told() -> list[tuple[str, int]]:
        database = Database(cli.url)
        try:
            async with database.session_scope() as session:
                rows = await session.execute(select(OutboxMessage.kind, OutboxMessage.contact_id))
                return [(k, c) for k, c in rows.all()]
        finally:
            await database.dispose()

    assert [k for k, _ in in_thread(told)] == ["rec_done", "rec_done"]


async def test_the_daily_digest_comes_once_after_its_hour_and_never_when_nothing_is_new(
    sqlite_database: Database,
) -> None:
    from datetime import time

    from bot.db.models import Event, Invitation, InvitationAnswer, OutboxMessage

    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
        kadri = await registry.find(session, "kadri.tamm@valga.example")
        assert kadri is not None
        event = Event(
            slug="valga-2027",
            kind="cross_border_meeting",
            status="published",
            title={"lv": "Sanāksme"},
            starts_at=datetime(2027, 2, 4, 8, tzinfo=UTC),
            ends_at=datetime(2027, 2, 4, 13, tzinfo=UTC),
        )
        session.add(event)
        await session.flush()
        invitation = Invitation(event_id=event.id, contact_id=kadri.id, status="accepted")
        session.add(invitation)
        await session.flush()
        session.add(
            InvitationAnswer(
                invitation_id=invitation.id,
                status="accepted",
                channel="telegram",
                recorded_at=datetime(2027, 1, 11, 20, 0, tzinfo=UTC),
            )
        )

    async def digests() -> int:
        async with sqlite_database.session_scope() as session:
            found = await session.scalars(
                select(OutboxMessage.id).where(OutboxMessage.kind == "coordinator_digest")
            )
            return len(list(found))

    clock = ManualClock(datetime(2027, 1, 12, 5, 59, tzinfo=UTC))  # 07:59 in Riga
    ticker = Ticker(sqlite_database, clock, POLICY, digest_time=time(8, 0))
    await ticker.tick()
    assert await digests() == 0
    clock.set(datetime(2027, 1, 12, 6, 0, tzinfo=UTC))
    await ticker.tick()
    await ticker.tick()
    assert await digests() == 1
    clock.set(datetime(2027, 1, 13, 6, 5, tzinfo=UTC))  # the next morning: nothing new
    await ticker.tick()
    assert await digests() == 1


async def test_a_button_pressed_by_someone_no_longer_owning_the_item_says_so(
    net: FollowUp,
) -> None:
    kadri = net.emulator.user(810, "Kadri", "Tamm", "kadrit", "et")
    await net.joined(kadri, "kadri.tamm@valga.example")
    rec_id = await net.rec(
        "valga-2020-mediators", ["kadri.tamm@valga.example"], "monthly", date(2027, 5, 31)
    )
    await net.tick()
    net.clock.set(datetime(2027, 2, 1, 7, 0, tzinfo=UTC))
    await net.tick()
    digest = await kadri.wait_for_message(lambda m: bool(m.reply_markup))
    async with net.database.session_scope() as session:  # the coordinator hands it to Līga
        rec = await session.get(Recommendation, rec_id)
        assert rec is not None
        await session.refresh(rec, ["owners"])
        liga = await registry.find(session, "liga.saulite@jelgava.example")
        assert liga is not None
        rec.owners[:] = [RecommendationOwner(contact_id=liga.id)]
    answer = await kadri.wait_for_answer(await kadri.press(digest, "1 · Tehtud"))
    assert answer["show_alert"] and answer["text"] == "See soovitus on antud teisele osalejale."
    assert await net.status(rec_id) == "not_started"
