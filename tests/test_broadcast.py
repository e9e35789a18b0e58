"""A coordinator broadcasts from the phone; anyone else sees only the ordinary help."""

from __future__ import annotations

from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest

from bot.db.models import Invitation
from bot.db.session import Database
from bot.sandbox import TelegramEmulator
from bot.sandbox.telegram_limits import Fault
from bot.services.contacts import registry
from bot.services.contacts.rows import parse_rows, read_table
from bot.services.recommendations import registry as rec_registry
from bot.services.recommendations.files import read_rec_file
from tests.conftest import DATA
from tests.test_onboarding import NOW, Network, ilze, valga_event


@pytest.fixture
async def net(sqlite_database: Database) -> AsyncIterator[Network]:
    async with sqlite_database.session_scope() as session:
        rows = parse_rows(read_table(DATA / "contacts.csv")).rows
        await registry.apply_import(session, await registry.plan_import(session, rows))
    async with TelegramEmulator() as emulator:
        network = Network(sqlite_database, emulator)
        await network.start()
        yield network
        await network.close()


async def valga(net: Network, *emails: str) -> None:
    async with net.database.session_scope() as session:
        event = await valga_event(session)
        for email in emails:
            contact = await registry.find(session, email)
            assert contact is not None
            session.add(Invitation(event_id=event.id, contact_id=contact.id, status="accepted"))


async def test_a_coordinator_broadcasts_to_the_valga_audience_and_gets_a_summary(
    net: Network,
) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    kadri = net.emulator.user(810, "Kadri", "Tamm", "kadrit", "et")
    await net.joined(kadri, "kadri.tamm@valga.example")
    await valga(net, "kadri.tamm@valga.example", "edgars.vitols@valka.example")
    await sandra.send("/broadcast")
    assert "Uzrakstiet ziņu" in ((await sandra.wait_for_message()).text or "")
    await sandra.send("Tikšanās Valgā sāksies 10:00 <b>Puiestee</b> ielā 8 & pēc tam pusdienas.")
    choice = await sandra.wait_for_message()
    await sandra.press(choice, "Sanāksme Valgā")
    await sandra.wait_for(lambda: "Priekšskatījums" in (choice.text or ""))
    assert "Telegram, igauņu: 1" in (choice.text or "")  # the language named, not its code
    assert "Nav sasniedzami: 1" in (choice.text or "")  # Edgars has only email, not set up here
    await sandra.press(choice, "Sūtīt")
    received = await kadri.wait_for_message(lambda m: "Puiestee" in (m.text or ""))
    assert (
        received.text == "Tikšanās Valgā sāksies 10:00 <b>Puiestee</b> ielā 8 & pēc tam pusdienas."
    )
    summary = await sandra.wait_for_message(lambda m: "Ziņa nosūtīta" in (m.text or ""), timeout=10)
    assert any(m.text == "Sūta… 1 no 1" for m in sandra.bot_messages)  # progress reached the end
    assert "Nosūtītas: 1" in (
        summary.text or ""
    ) and "Izlaistas (robots bloķēts vai ziņas atteiktas): 1" in (summary.text or "")


async def test_the_summary_says_why_a_message_failed_in_the_coordinators_words(
    net: Network,
) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    kadri = net.emulator.user(810, "Kadri", "Tamm", "kadrit", "et")
    await net.joined(kadri, "kadri.tamm@valga.example")
    await valga(net, "kadri.tamm@valga.example")
    await sandra.send("/broadcast")
    await sandra.wait_for_message()
    await sandra.send("Sanāksme sāksies 10:00.")
    choice = await sandra.wait_for_message()
    await sandra.press(choice, "Sanāksme Valgā")
    await sandra.wait_for(lambda: "Priekšskatījums" in (choice.text or ""))
    # Telegram refuses the message itself (no fallback to email, which this network lacks).
    refused = Fault.http_error(400, "Bad Request: message is too long")
    net.emulator.fail_next(refused, method="sendMessage", chat_id=810)
    await sandra.press(choice, "Sūtīt")
    summary = await sandra.wait_for_message(lambda m: "Ziņa nosūtīta" in (m.text or ""), timeout=10)
    assert "Neizdevās: 1" in (summary.text or "")
    reason = "• Kadri Tamm (Telegram): ziņa netika nosūtīta sistēmas kļūdas dēļ"
    assert reason in (summary.text or "")
    assert "Bad Request" not in (summary.text or "") and "400" not in (summary.text or "")


async def test_anyone_else_gets_the_ordinary_help_and_nothing_is_sent(net: Network) -> None:
    user = ilze(net.emulator)
    await net.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/broadcast")
    reply = (await user.wait_for_message()).text or ""
    assert "Ko varu izdarīt" in reply and "broadcast" not in reply
    await user.send("Visiem sveiki!")
    assert "Komandu sarakstu" in ((await user.wait_for_message()).text or "")


async def test_cancel_at_any_step_sends_nothing(net: Network) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await sandra.send("/broadcast")
    await sandra.wait_for_message()
    await sandra.send("Sveiki!")
    choice = await sandra.wait_for_message()
    await sandra.press(choice, "Visiem")
    await sandra.wait_for(lambda: "Priekšskatījums" in (choice.text or ""))
    await sandra.press(choice, "Atcelt")
    await sandra.wait_for(lambda: "Nekas netika nosūtīts" in (choice.text or ""))


async def test_coordinator_commands_show_answers_stats_and_invite(net: Network) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await valga(net, "kadri.tamm@valga.example", "edgars.vitols@valka.example")
    await sandra.send("/rsvps valga-2027")
    rsvps = (await sandra.wait_for_message()).text or ""
    assert "Sanāksme Valgā" in rsvps and "Piedalīšos: 2" in rsvps and "Kadri Tamm" in rsvps
    await sandra.send("/rsvps")
    assert "Lietojums: /rsvps valga-2027" in ((await sandra.wait_for_message()).text or "")
    await sandra.send("/stats")
    assert "Kontakti: 20" in ((await sandra.wait_for_message()).text or "")
    await sandra.send("/recs")
    assert "Nokavēti ieteikumi" in ((await sandra.wait_for_message()).text or "")
    # The event names no audience: everyone reachable who has the texts in their language.
    await sandra.send("/invite valga-2027")
    reply = await sandra.wait_for_message(lambda m: "jauni dalībnieki" in (m.text or ""))
    assert "uzaicināti 15 jauni dalībnieki; 2 dalībnieki jau bija uzaicināti." in (reply.text or "")
    expert = ilze(net.emulator)
    await net.joined(expert, "ilze.kalnina@jelgava.example")
    await expert.send("/stats")
    assert "Ko varu izdarīt" in ((await expert.wait_for_message()).text or "")


async def test_export_sends_the_workbook_to_a_coordinator_only(net: Network) -> None:
    import io

    from openpyxl import load_workbook

    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await sandra.send("/export")
    document = await sandra.wait_for_message(lambda m: m.document is not None)
    assert document.document is not None and document.document.file_name.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(document.document.data))
    contacts = workbook["contacts"] if "contacts" in workbook.sheetnames else workbook.worksheets[0]
    assert any("Līga Saulīte" in str(c.value) for row in contacts.iter_rows() for c in row)
    expert = ilze(net.emulator)
    await net.joined(expert, "ilze.kalnina@jelgava.example")
    await expert.send("/export")
    assert "Ko varu izdarīt" in ((await expert.wait_for_message()).text or "")


async def test_results_shows_a_surveys_aggregates(net: Network) -> None:
    from tests.test_survey_telegram import make_survey

    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await make_survey(net.database)
    await sandra.send("/results visit-feedback")
    shown = (await sandra.wait_for_message()).text or ""
    assert "Atgriezeniskā saite" in shown and "Aizpildījuši: 0 no 0" in shown
    await sandra.send("/results nothing-like-it")
    assert "Nav atrasts: nothing-like-it" in ((await sandra.wait_for_message()).text or "")


async def test_help_lists_the_coordinator_commands_to_coordinators_only(net: Network) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await sandra.send("/help")
    reply = (await sandra.wait_for_message()).text or ""
    assert "Ko varu izdarīt" in reply and "Koordinatoram" in reply
    assert all(f"/{c}" in reply for c in ("broadcast", "invite", "rsvps", "results", "stats"))
    user = ilze(net.emulator)
    await net.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/help")
    plain = (await user.wait_for_message()).text or ""
    assert "Ko varu izdarīt" in plain and "/broadcast" not in plain and "Koordinatoram" not in plain


async def test_recs_names_recommendations_by_their_words_with_the_comment(net: Network) -> None:
    async with net.database.session_scope() as session:
        spec = read_rec_file(DATA / "recommendations" / "valga-2020.yaml")
        await rec_registry.load_recs(session, spec, now=NOW, zone=ZoneInfo("Europe/Riga"))
        await rec_registry.set_status(
            session,
            "valga-2020-mediators",
            "in_progress",
            comment="Tikšanās Valgā norunāta martā.",
            now=net.clock.now(),
            zone=ZoneInfo("Europe/Riga"),
        )
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await sandra.send("/recs")
    # The coordinator's daily overview (the status change is news) may arrive first.
    reply = (
        await sandra.wait_for_message(lambda m: "Dienas pārskats" not in (m.text or ""))
    ).text or ""
    assert "Organizēt Valgas un Latvijas romu mediatoru pieredzes apmaiņu.: Tiek īstenots" in reply
    assert "Tikšanās Valgā norunāta martā." in reply and "valga-2020-mediators" not in reply


async def test_a_broadcast_too_long_for_telegram_is_refused_with_the_limit_and_can_be_retyped(
    net: Network,
) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    await sandra.send("/broadcast")
    await sandra.wait_for_message()
    await sandra.send("Ļoti gara ziņa. " * 250)  # 4,000 characters: the preview would not fit
    refused = (await sandra.wait_for_message()).text or ""
    assert "Ziņa ir par garu: ne vairāk kā 3\xa0500 zīmes (šai ir 4\xa0000)" in refused
    await sandra.send("Īsa ziņa.")
    choice = await sandra.wait_for_message()
    assert choice.reply_markup  # the audience buttons: the wizard goes on


async def test_the_summary_comes_even_when_telegram_refuses_the_progress_edit(
    net: Network,
) -> None:
    sandra = net.emulator.user(900, "Sandra", "Jansone", "sandraj", "lv")
    await net.joined(sandra, "sandra.jansone@km.example")
    kadri = net.emulator.user(810, "Kadri", "Tamm", "kadrit", "et")
    await net.joined(kadri, "kadri.tamm@valga.example")
    await valga(net, "kadri.tamm@valga.example")
    await sandra.send("/broadcast")
    await sandra.wait_for_message()
    await sandra.send("Tere!")
    choice = await sandra.wait_for_message()
    await sandra.press(choice, "Sanāksme Valgā")
    await sandra.wait_for(lambda: "Priekšskatījums" in (choice.text or ""))
    refused = Fault.http_error(
        400,
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message",
    )
    net.emulator.fail_next(refused, method="editMessageText", times=5)
    await sandra.press(choice, "Sūtīt")
    summary = await sandra.wait_for_message(lambda m: "Ziņa nosūtīta" in (m.text or ""), timeout=10)
    assert "Nosūtītas: 1" in (summary.text or "")
    # The progress line is never edited into the text it already shows.
    edits = [c for c in net.emulator.calls_to("editMessageText") if "Sūta…" in str(c.params)]
    assert all("0 no 1" not in str(c.params) for c in edits)
