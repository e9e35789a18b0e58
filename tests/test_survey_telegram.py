"""A survey in the Telegram chat, one question at a time, through the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.db.models import Answer, Question, Survey, SurveyRecipient, SurveyResponse
from bot.db.session import Database
from bot.sandbox import EmulatedUser, TelegramEmulator
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.surveys import sending as survey_sending
from tests.conftest import DATA
from tests.test_onboarding import Network, ilze
from tests.test_outbox import POLICY

OPTIONS = [
    {"id": "education", "text": {"lv": "Izglītība", "et": "Haridus", "en": "Education"}},
    {"id": "mediation", "text": {"lv": "Romu mediācija", "et": "Mediatsioon", "en": "Mediation"}},
]


async def make_survey(database: Database, anonymous: bool = False) -> int:
    async with database.session_scope() as session:
        survey = Survey(
            slug="visit-feedback",
            title={"lv": "Atgriezeniskā saite", "et": "Tagasiside", "en": "Feedback"},
            anonymous=anonymous,
            send_after=7200,
            remind_after=3 * 86400,
            closes_after=14 * 86400,
        )

        def q(n: int, key: str, kind: str, lv: str, **extra: object) -> Question:
            return Question(
                key=key, position=n, type=kind, text={"lv": lv, "et": lv, "en": lv}, **extra
            )

        survey.questions = [
            q(0, "useful", "rating", "Cik noderīga bija vizīte?", scale=5),
            q(
                1,
                "topics",
                "multiple_choice",
                "Kuras tēmas padziļināt?",
                options=OPTIONS,
                required=False,
            ),
            q(2, "need_mediator", "yes_no", "Vai vajadzīgs mediators?"),
            q(3, "next_time", "text", "Ko ieteiktu?", required=False, max_length=40),
        ]
        session.add(survey)
        await session.flush()
        return survey.id


class Answering(Network):
    async def send_survey(self, survey_id: int, email: str) -> None:
        async with self.database.session_scope() as session:
            survey = await session.get(Survey, survey_id)
            contact = await registry.find(session, email)
            assert survey is not None and contact is not None
            await survey_sending.send(
                session, survey, [contact], event=None, now=self.clock.now(), policy=POLICY
            )
        self.service_wake()

    async def answers(self) -> dict[str, object]:
        async with self.database.session_scope() as session:
            rows = await session.execute(
                select(Question.key, Answer.value).join(Question, Question.id == Answer.question_id)
            )
            return {k: v["value"] for k, v in rows.all()}


@pytest.fixture
async def net(sqlite_database: Database) -> AsyncIterator[Answering]:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator:
        network = Answering(sqlite_database, emulator, secret_key="survey-secret-key-1")
        await network.start()
        yield network
        await network.close()


async def started(net: Answering, anonymous: bool = False) -> tuple[EmulatedUser, int]:
    user = ilze(net.emulator)
    await net.joined(user, "ilze.kalnina@jelgava.example")
    survey = await make_survey(net.database, anonymous)
    await net.send_survey(survey, "ilze.kalnina@jelgava.example")
    invitation = await user.wait_for_message(lambda m: bool(m.reply_markup))
    assert "Atgriezeniskā saite" in (invitation.text or "")
    await user.press(invitation, "Sākt aptauju")
    return user, survey


async def test_one_question_at_a_time_with_toggles_back_skip_and_a_summary(
    net: Answering,
) -> None:
    user, _ = await started(net)
    question = await user.wait_for_message()
    assert (question.text or "").startswith("1/4")
    await user.press(question, "4")
    await user.wait_for(lambda: (question.text or "").startswith("2/4"))
    await user.press(question, "Izglītība")
    await user.wait_for(lambda: "✓ Izglītība" in str(question.reply_markup))
    await user.press(question, "Romu mediācija")
    await user.wait_for(lambda: "✓ Romu mediācija" in str(question.reply_markup))
    await user.press(question, "Gatavs")
    await user.wait_for(lambda: (question.text or "").startswith("3/4"))
    await user.press(question, "Atpakaļ")
    await user.wait_for(lambda: (question.text or "").startswith("2/4"))
    await user.press(question, "Gatavs")
    await user.wait_for(lambda: (question.text or "").startswith("3/4"))
    await user.press(question, "Jā")
    await user.wait_for(lambda: (question.text or "").startswith("4/4"))
    await user.send("Vairāk laika diskusijām")
    thanks = await user.wait_for_message()
    assert "Paldies par atbildēm" in (thanks.text or "")
    assert "Izglītība, Romu mediācija" in (thanks.text or "")
    assert await net.answers() == {
        "useful": 4,
        "topics": ["education", "mediation"],
        "need_mediator": "yes",
        "next_time": "Vairāk laika diskusijām",
    }


async def test_a_restart_resumes_where_the_person_was(net: Answering) -> None:
    user, _ = await started(net)
    question = await user.wait_for_message()
    await user.press(question, "5")
    await user.wait_for(lambda: (question.text or "").startswith("2/4"))
    await net.close()  # the service stops; the chat keeps its buttons
    net.stop.clear()
    await net.start()
    await user.press(question, "Izlaist")
    await user.wait_for(lambda: (question.text or "").startswith("3/4"))
    assert await net.answers() == {"useful": 5}


async def test_an_old_question_or_too_long_text_changes_nothing(net: Answering) -> None:
    user, _ = await started(net)
    question = await user.wait_for_message()
    await user.press(question, "3")
    await user.wait_for(lambda: (question.text or "").startswith("2/4"))
    stale = await user.press(question, "Izglītība")
    await user.wait_for_answer(stale)
    await user.press(question, "Gatavs")
    await user.wait_for(lambda: (question.text or "").startswith("3/4"))
    await user.press(question, "Nē")
    await user.wait_for(lambda: (question.text or "").startswith("4/4"))
    await user.send("x" * 41)
    refusal = await user.wait_for_message()
    assert "par garu" in (refusal.text or "") and "40 zīmes" in (refusal.text or "")
    assert "next_time" not in await net.answers()


async def test_an_anonymous_survey_keeps_no_link_and_refuses_a_second_go(
    net: Answering,
) -> None:
    user, _ = await started(net, anonymous=True)
    question = await user.wait_for_message()
    for button in ("2", "Gatavs", "Jā", "Izlaist"):
        before = question.text
        await user.press(question, button)
        await user.wait_for(lambda b=before: question.text != b)  # type: ignore[misc]
    assert "Paldies" in (question.text or "")
    async with net.database.session_scope() as session:
        response = await session.scalar(select(SurveyResponse))
        recipient = await session.scalar(select(SurveyRecipient))
        assert response is not None and recipient is not None
        assert response.contact_id is None and response.respondent_key is None
        assert response.status == "finished" and recipient.finished_at is not None
    invitation = next(m for m in user.bot_messages if "Sākt aptauju" in str(m.reply_markup))
    again = await user.press(invitation, "Sākt aptauju")
    answer = await user.wait_for_answer(again)
    assert "jau ir saņemtas" in str(answer.get("text"))


async def test_a_closed_survey_says_so_politely(net: Answering) -> None:
    user = ilze(net.emulator)
    await net.joined(user, "ilze.kalnina@jelgava.example")
    survey = await make_survey(net.database)
    await net.send_survey(survey, "ilze.kalnina@jelgava.example")
    invitation = await user.wait_for_message(lambda m: bool(m.reply_markup))
    net.clock.advance(timedelta(days=15))
    pressed = await user.press(invitation, "Sākt aptauju")
    answer = await user.wait_for_answer(pressed)
    assert "slēgta" in str(answer.get("text"))


async def test_a_rating_question_says_what_its_ends_mean(net: Answering) -> None:
    user, _ = await started(net)
    question = await user.wait_for_message()
    assert "1 — ļoti slikti, 5 — ļoti labi" in (question.text or "")
