# ruff: noqa: F811  (the `net` fixture is imported from tests.test_hardening_unsubscribe)
"""Erasure leaves no personal data: every table and column is searched after a /privacy delete."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.db.base import Base
from bot.db.models import (
    AgendaItem,
    AuditEntry,
    ChatState,
    Contact,
    Event,
    Invitation,
    InvitationAnswer,
    OutboxMessage,
    Question,
    RateChatSlot,
    Recommendation,
    RecommendationOwner,
    RecommendationUpdate,
    Survey,
    SurveyRecipient,
    SurveyResponse,
)
from bot.db.session import Database
from bot.sandbox.telegram_users import EmulatedUser
from bot.services import marks
from bot.services.console import audit
from bot.services.contacts import registry
from bot.services.contacts.audience import Audience
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.delivery.signed_links import Links
from bot.services.events import answer_digest, invitations
from bot.services.events.invitation_messages import RSVP_PURPOSE, rsvp_links
from bot.services.onboarding.chats import Identity, request_access
from bot.services.recommendations import followup, reminders
from bot.services.recommendations.reminders import TASKS_PURPOSE
from bot.services.reporting import funding_report
from bot.services.surveys import answering, sending
from bot.services.surveys.sending import FORM_PURPOSE
from bot.web.pages import confirm_code
from tests.conftest import DATA
from tests.test_hardening_unsubscribe import KEY, Mailed, net  # noqa: F401  (the fixture)
from tests.test_onboarding import valga_event
from tests.test_outbox import POLICY

ILZE = "ilze.kalnina@jelgava.example"
JANIS = "janis.ozols@ventspils.example"
SANDRA = "sandra.jansone@km.example"  # a coordinator
USER_ID = 7012345678
# Everything that names Ilze: what the test looks for in every column after the erasure.
NEEDLES = ("Ilze Kalniņa", ILZE, "+371 20000001", "ilzek", str(USER_ID))
RIGA = ZoneInfo("Europe/Riga")


async def _contact(net: Mailed, email: str) -> Contact:
    async with net.database.session_scope() as session:
        found = await registry.find(session, email)
        assert found is not None
        return found


async def _a_full_life(net: Mailed, ilze: EmulatedUser) -> None:
    """Ilze asks to join, joins, answers an invitation, a survey and a recommendation."""
    now = net.clock.now()
    async with net.database.session_scope() as session:
        who = Identity(USER_ID, USER_ID, "Ilze", "Kalniņa", "ilzek", "lv")
        await request_access(session, who, now=now)
    await net.joined(ilze, ILZE)
    me, janis, sandra = [await _contact(net, e) for e in (ILZE, JANIS, SANDRA)]
    async with net.database.session_scope() as session:
        event = await valga_event(session)
        event.audience = {"emails": [ILZE, JANIS], "roles": ["regional_expert"]}
        plan = await invitations.plan(session, event, Audience.build(emails=(ILZE, JANIS)))
        await invitations.invite(session, event, plan, now=now, policy=POLICY)
        mine = await session.scalar(select(Invitation).where(Invitation.contact_id == me.id))
        assert mine is not None
        await invitations.record_answer(
            session, mine.id, "yes", channel="telegram", now=now, policy=POLICY
        )
        later = net.clock.advance(timedelta(hours=2))
        await answer_digest.queue_due(session, now=later, policy=POLICY)
        survey = Survey(slug="valga-feedback", title={"lv": "Atsauksmes", "en": "Feedback"})
        survey.questions = [
            Question(key="useful", position=0, type="rating", scale=5, text={"lv": "Noderīgi?"}),
            Question(key="notes", position=1, type="text", text={"lv": "Piezīmes"}),
        ]
        session.add(survey)
        await session.flush()
        await sending.send(session, survey, [me, janis], event=event, now=now, policy=POLICY)
        for person, notes in (
            (me, f"Ilze Kalniņa šeit: zvaniet +371 20000001 vai {ILZE}"),
            (janis, "Paldies Ilze Kalniņa (@ilzek) par vadīšanu"),
        ):
            recipient = await session.scalar(
                select(SurveyRecipient).where(SurveyRecipient.contact_id == person.id)
            )
            assert recipient is not None
            state, _ = await answering.submit_form(
                session, recipient, {"useful": "5", "notes": notes}, now=now, secret=KEY
            )
            assert state == "saved"
        rec = Recommendation(
            slug="valga-rec",
            area="education",
            text={"lv": "Sagatavot pārskatu"},
            cadence="monthly",
            source_date=date(2027, 1, 1),
        )
        rec.owners = [
            RecommendationOwner(contact_id=me.id),
            RecommendationOwner(contact_id=janis.id),
        ]
        session.add(rec)
        await session.flush()
        outcome = await followup.record_update(
            session,
            rec.id,
            "done",
            now=now,
            channel="telegram",
            contact_id=me.id,
            comment="Ilze Kalniņa pabeidza, jautājumi uz ilze.kalnina@jelgava.example",
        )
        await reminders.tell_done(session, rec, outcome.others, by=me.name, now=now, policy=POLICY)
        await audit.record(
            session,
            actor_id=sandra.id,
            action="edit",
            subject=f"event:{event.id}",
            now=now,
            before={"audience": [ILZE]},
            after={"note": "Ilze Kalniņa added"},
        )
        mail = EmailMessage()
        mail["To"], mail["Subject"] = ILZE, "Sveiki"
        mail.set_content("Labdien, Ilze Kalniņa!")
        await marks.save_sandbox_snapshot(
            session,
            {
                "version": 1,
                "chats": {
                    str(USER_ID): [{"text": "Labdien, Ilze Kalniņa!", "from_bot": True}],
                    "555": [{"text": "Jauns pieprasījums: Ilze Kalniņa @ilzek", "from_bot": True}],
                    "556": [{"text": "Labrīt", "from_bot": True}],
                },
                "mail": [
                    {
                        "sender": "bot@example.lv",
                        "recipients": [ILZE],
                        "raw": base64.b64encode(bytes(mail)).decode(),
                        "at": 0.0,
                    }
                ],
            },
        )
    net.service_wake()
    await net.received(SANDRA)  # the answer digest, naming Ilze
    await net.received(JANIS, 2)  # the invitation, "done by Ilze"
    await asyncio.wait_for(_all_recorded(net), 10)


async def _all_recorded(net: Mailed) -> None:
    """Wait until the dispatcher has written down what it sent (after the SMTP answer)."""
    while True:
        async with net.database.session_scope() as session:
            busy = await session.scalar(
                select(func.count()).where(OutboxMessage.status.in_(("queued", "sending")))
            )
        if not busy:
            return
        await asyncio.sleep(0.02)  # bounded by the wait_for above


async def _figures(net: Mailed) -> funding_report.ReportFigures:
    async with net.database.session_scope() as session:
        return await funding_report.figures(
            session,
            start=date(2020, 1, 1),
            end=date(2030, 12, 31),
            zone=RIGA,
            now=datetime(2031, 1, 1, tzinfo=UTC),
        )


async def _everything(net: Mailed) -> list[tuple[str, str, str]]:
    """Every value of every column of every table, as text (saved mail decoded)."""
    found = []
    async with net.database.session_scope() as session:
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).mappings():
                for column, value in row.items():
                    shown = _shown(value)
                    if isinstance(value, str) and value.startswith('{"version"'):
                        shown += _decoded_mail(json.loads(value))
                    found.append((table.name, column, shown))
    return found


def _shown(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _decoded_mail(snapshot: dict[str, Any]) -> str:
    return "".join(base64.b64decode(m["raw"]).decode("utf-8", "replace") for m in snapshot["mail"])


def _mentions(cells: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return [
        (table, column, needle)
        for table, column, text in cells
        for needle in NEEDLES
        if needle.lower() in text.lower()
    ]


async def test_after_a_privacy_delete_no_table_or_column_names_the_person(net: Mailed) -> None:
    ilze = net.emulator.user(USER_ID, "Ilze", "Kalniņa", "ilzek", "lv")
    await _a_full_life(net, ilze)
    async with net.database.session_scope() as session:
        # What instances share about her chat: a half-typed step and her next message's slot.
        session.add(ChatState(chat_id=USER_ID, data={"step": "comment"}))
        session.add(RateChatSlot(chat_id=USER_ID, free_at=1.0))
    before = await _figures(net)
    cells = await _everything(net)
    named = {(table, column) for table, column, _ in _mentions(cells)}
    # The scene really did put her everywhere the erasure has to reach.
    for where in [
        ("contacts", "name"),
        ("telegram_links", "user_id"),
        ("access_requests", "display_name"),
        ("outbox", "rendered_text"),
        ("outbox", "params"),
        ("recommendation_updates", "comment"),
        ("answers", "value"),
        ("events", "audience"),
        ("audit_log", "before"),
        ("database_marks", "value"),
        ("telegram_chat_state", "chat_id"),
        ("rate_chat_slots", "chat_id"),
    ]:
        assert where in named, where

    await ilze.send("/privacy")
    shown = await ilze.wait_for_message(lambda m: bool(m.reply_markup))
    await ilze.press(shown, "privacy:delete")
    await ilze.wait_for(lambda: "privacy:confirm" in str(shown.reply_markup))
    await ilze.press(shown, "privacy:confirm")
    await ilze.wait_for(lambda: not shown.reply_markup)

    assert _mentions(await _everything(net)) == []
    assert await _figures(net) == before
    async with net.database.session_scope() as session:
        event = await session.scalar(select(Event))
        assert event is not None
        audience = Audience.from_mapping(event.audience)
        # Her address is gone from the list, and the list still names no one else by it.
        assert not audience.is_everyone and len(audience.emails) == 2
        recipients = list(await session.scalars(select(SurveyRecipient)))
        assert sum(r.finished_at is not None for r in recipients) == 2


async def test_mentions_in_texts_and_json_are_found_on_sqlite_and_postgresql(
    database: Database,
) -> None:
    async with database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    now = datetime(2027, 1, 10, 9, tzinfo=UTC)
    async with database.session_scope() as session:
        event = await valga_event(session)
        event.description = {"lv": "Vada Ilze Kalniņa (ilze.kalnina@jelgava.example)"}
        event.audience = {"emails": [ILZE.upper()]}
        session.add(
            AgendaItem(
                event_id=event.id,
                position=0,
                day=date(2027, 2, 4),
                title={"lv": "Ievads"},
                presenter="ILZE KALNIŅA",
            )
        )
        await audit.record(
            session, actor_id=None, action="edit", subject=ILZE, now=now, note="@ilzek"
        )
    async with database.session_scope() as session:
        contact = await registry.find(session, ILZE)
        assert contact is not None
        await registry.erase(session, contact, now)
    async with database.session_scope() as session:
        event = await session.scalar(select(Event).options(selectinload(Event.agenda)))
        entry = await session.scalar(select(AuditEntry))
        assert event is not None and entry is not None
        assert event.description == {"lv": "Vada [erased] ([erased])"}
        assert event.audience == {"emails": [f"erased-{contact.id}@erased.invalid"]}
        assert event.agenda[0].presenter == "[erased]"
        assert (entry.subject, entry.note) == ("[erased]", "[erased]")


async def test_every_signed_link_of_an_erased_or_unknown_contact_is_refused_get_and_post(
    net: Mailed,
) -> None:
    links = Links(KEY, net.settings.public_url)
    me = await _contact(net, ILZE)
    async with net.database.session_scope() as session:
        event = await valga_event(session)
        plan = await invitations.plan(session, event, Audience.build(emails=(ILZE,)))
        await invitations.invite(session, event, plan, now=net.clock.now(), policy=POLICY)
        invitation = await session.scalar(select(Invitation))
        survey = Survey(slug="s", title={"lv": "Atsauksmes"})
        survey.questions = [Question(key="q", position=0, type="text", text={"lv": "?"})]
        session.add(survey)
        await session.flush()
        await sending.send(session, survey, [me], event=None, now=net.clock.now(), policy=POLICY)
        recipient = await session.scalar(select(SurveyRecipient))
        rec = Recommendation(slug="r", area="social", text={"lv": "Darīt"}, cadence="monthly")
        rec.owners = [RecommendationOwner(contact_id=me.id)]
        session.add(rec)
        await session.flush()
        assert invitation is not None and recipient is not None
        mine = [
            rsvp_links(links, invitation, event)["accept"],
            links.url("s", FORM_PURPOSE, {"r": recipient.id}),
            links.url("t", TASKS_PURPOSE, {"c": me.id}),
            links.unsubscribe_url(me.id),
        ]
        unknown = [
            links.url("r", RSVP_PURPOSE, {"i": 99999, "a": "yes", "x": 4102444800}),
            links.url("s", FORM_PURPOSE, {"r": 99999}),
            links.url("t", TASKS_PURPOSE, {"c": 99999}),
            links.unsubscribe_url(99999),
        ]
    await net.erase(ILZE)
    async with httpx.AsyncClient() as client:
        for url in mine + unknown:
            token = url.rsplit("/", 1)[1]
            form = {
                "confirm": confirm_code(links, token),
                "choice": "stop",
                "q": "jā",
                f"status-{rec.id}": "done",
                "List-Unsubscribe": "One-Click",
            }
            shown, posted = await client.get(url), await client.post(url, data=form)
            assert shown.status_code in (404, 410), (url, shown.status_code)
            assert posted.status_code in (404, 409, 410), (url, posted.status_code)
    async with net.database.session_scope() as session:
        assert await session.scalar(select(func.count()).select_from(SurveyResponse)) == 0
        assert await session.scalar(select(func.count()).select_from(RecommendationUpdate)) == 0
        answers = list(await session.scalars(select(InvitationAnswer.status)))
        assert answers == ["invited"]
