"""The Telegram Bot API emulator, driven by the real python-telegram-bot client over HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonCommands,
    Update,
)
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes
from telegram.request import HTTPXRequest

from bot.sandbox import EmulatedUser, Fault, LoopbackServer, TelegramEmulator
from bot.sandbox.telegram_spec import load_spec

ILZE = 1001


def connect(telegram: TelegramEmulator, read_timeout: float = 5.0) -> Bot:
    """Point an unmodified PTB Bot at the emulator."""
    return Bot(
        telegram.token,
        base_url=f"{telegram.base_url}/bot",
        base_file_url=f"{telegram.base_url}/file/bot",
        request=HTTPXRequest(read_timeout=read_timeout),
    )


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's future RetryAfter.retry_after type instead of a deprecation warning."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        yield emulator


@pytest.fixture
async def bot(telegram: TelegramEmulator) -> AsyncIterator[Bot]:
    async with connect(telegram) as client:
        yield client


@pytest.fixture
def ilze(telegram: TelegramEmulator) -> EmulatedUser:
    return telegram.user(ILZE, "Ilze", "Kalniņa", username="ilzek", language_code="lv")


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


def test_every_implemented_method_is_checked_against_the_bot_api_description() -> None:
    assert TelegramEmulator().methods == sorted(load_spec().methods)


async def test_get_me_introduces_the_emulated_bot(telegram: TelegramEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (telegram.bot_id, "expertbot_test_bot", True)
    assert telegram.calls_to("getMe")


async def test_html_message_shows_in_the_chat_with_entities_and_buttons(
    bot: Bot, ilze: EmulatedUser
) -> None:
    html = '<b>Sveiki</b>, Ilze! &lt;Valka&gt; <a href="https://example.lv/a?x=1&amp;y=2">Programma</a>'
    sent = await bot.send_message(ILZE, html, parse_mode="HTML", reply_markup=keyboard(("Jā", "y")))
    shown = ilze.last_message
    assert shown is not None and shown.from_bot
    assert shown.text == sent.text == "Sveiki, Ilze! <Valka> Programma"
    assert shown.source == html
    assert shown.entities == [
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "text_link", "offset": 22, "length": 9, "url": "https://example.lv/a?x=1&y=2"},
    ]
    assert [b["text"] for b in shown.buttons] == ["Jā"]
    assert sent.reply_markup == keyboard(("Jā", "y"))


async def test_long_polling_application_answers_a_command_and_a_button_press(
    telegram: TelegramEmulator, ilze: EmulatedUser
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.message is not None
        await update.message.reply_html(
            f"<b>Ielūgums</b> ({' '.join(context.args or [])})",
            reply_markup=keyboard(("Jā", "rsvp:yes"), ("Nē", "rsvp:no")),
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        await query.answer("Paldies!")
        await query.edit_message_text(f"Atbilde: {query.data}")

    application = (
        Application.builder()
        .token(telegram.token)
        .base_url(f"{telegram.base_url}/bot")
        .base_file_url(f"{telegram.base_url}/file/bot")
        .build()
    )
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CallbackQueryHandler(pressed))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0, timeout=5)
        try:
            await ilze.send("/start invite-42")
            invitation = await ilze.wait_for_message()
            assert invitation.text == "Ielūgums (invite-42)"
            query_id = await ilze.press(invitation, "Jā")
            assert (await ilze.wait_for_answer(query_id))["text"] == "Paldies!"
            await ilze.wait_for(lambda: invitation.edited)
        finally:
            await application.updater.stop()
            await application.stop()
    assert invitation.text == "Atbilde: rsvp:yes"
    assert invitation.reply_markup is None  # editing the text without a keyboard removes it
    assert invitation.history == ["Ielūgums (invite-42)"]


async def test_text_limit_counts_visible_characters_after_entity_parsing(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    marked_up = "&amp;" * 25 + "<b>" + "x" * 3975 + "</b>"
    assert len(marked_up) > 4096
    sent = await bot.send_message(ILZE, marked_up, parse_mode="HTML")
    assert len(sent.text or "") == 4000
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ILZE, "<b>" + "x" * 4097 + "</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(ILZE, "😀" * 2049)  # 2049 characters, 4098 UTF-16 code units
    for empty in ("", "<b> </b>"):
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(ILZE, empty, parse_mode="HTML")


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<p>Sveiki</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("Ā <br>", 'Unsupported start tag "br" at byte offset 3'),
        ("<b>Sveiki", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b>Sveiki</i>", 'Unmatched end tag at byte offset 9, expected "</b>", found "</i>"'),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
    ],
)
async def test_html_outside_telegrams_subset_cannot_be_parsed(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser, html: str, reason: str
) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(ILZE, html, parse_mode="HTML")
    assert telegram.calls[-1].description == f"Bad Request: can't parse entities: {reason}"


async def test_callback_data_longer_than_64_bytes_is_rejected(bot: Bot, ilze: EmulatedUser) -> None:
    await bot.send_message(ILZE, "64 baiti", reply_markup=keyboard(("Jā", "ā" * 32)))
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(ILZE, "66 baiti", reply_markup=keyboard(("Jā", "ā" * 33)))


async def test_unknown_parameter_is_rejected_to_catch_typos(bot: Bot, ilze: EmulatedUser) -> None:
    with pytest.raises(BadRequest, match=r"(?i)unknown parameter pars_mode"):
        await bot.send_message(ILZE, "<b>x</b>", api_kwargs={"pars_mode": "HTML"})
    with pytest.raises(BadRequest, match=r"(?i)unknown field callback_dat in InlineKeyboardButton"):
        await bot.send_message(
            ILZE,
            "x",
            api_kwargs={
                "reply_markup": {"inline_keyboard": [[{"text": "Jā", "callback_dat": "y"}]]}
            },
        )


async def test_raw_requests_get_telegrams_status_codes(
    telegram: TelegramEmulator, ilze: EmulatedUser
) -> None:
    async with httpx.AsyncClient(base_url=telegram.base_url, trust_env=False) as client:
        api = f"/bot{telegram.token}"
        wrong_token = await client.post("/bot123:nope/getMe")
        unknown = await client.post(f"{api}/sendMesage")
        missing = await client.post(f"{api}/sendMessage", json={"chat_id": ILZE})
        mistyped = await client.post(
            f"{api}/sendMessage",
            data={"chat_id": ILZE, "text": "x", "disable_notification": "maybe"},
        )
        json_body = await client.post(
            f"{api}/sendMessage", json={"chat_id": ILZE, "text": "Labdien"}
        )
        not_modelled = await client.post(f"{api}/sendPhoto", data={"chat_id": ILZE, "photo": "x"})
    assert (wrong_token.status_code, wrong_token.json()["description"]) == (401, "Unauthorized")
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
    assert missing.json()["description"] == "Bad Request: parameter text is required"
    assert mistyped.json()["description"] == "Bad Request: disable_notification must be Boolean"
    assert json_body.json()["result"]["text"] == "Labdien"
    assert not_modelled.status_code == 501
    with pytest.raises(InvalidToken):
        await Bot("123:nope", base_url=f"{telegram.base_url}/bot").get_me()


async def test_blocked_deactivated_and_unknown_users_cannot_be_reached(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    ilze.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(ILZE, "Sveiki")
    juris = telegram.user(1002, "Juris")
    juris.deactivate()
    with pytest.raises(Forbidden, match="user is deactivated"):
        await bot.send_message(juris.id, "Sveiki")
    telegram.user(1003, "Kadri", language_code="et", started=False)
    with pytest.raises(Forbidden, match="bot can't initiate conversation with a user"):
        await bot.send_message(1003, "Tere")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "Sveiki")
    updates = await bot.get_updates()
    member = updates[0].my_chat_member
    assert member is not None and member.new_chat_member.status == "kicked"


async def test_flood_limits_answer_retry_after(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    for number in range(3):  # the per-chat burst
        await bot.send_message(ILZE, f"Ziņa {number}")
    with pytest.raises(RetryAfter) as error:
        await bot.send_message(ILZE, "Viena par daudz")
    retry_after = error.value.retry_after
    assert isinstance(retry_after, timedelta) and retry_after >= timedelta(seconds=1)
    telegram.limits.per_second, telegram.limits.burst = 2, 2
    telegram.reset_rate_limits()
    others = [telegram.user(2000 + n, f"Eksperts {n}") for n in range(3)]
    await bot.send_message(others[0].id, "1")
    await bot.send_message(others[1].id, "2")
    with pytest.raises(RetryAfter):
        await bot.send_message(others[2].id, "3")
    assert telegram.stats.too_many_requests == telegram.limiter.rejected == 2


async def test_injected_faults_reach_the_client_as_network_errors(
    telegram: TelegramEmulator, ilze: EmulatedUser
) -> None:
    telegram.fail_next(Fault.bad_gateway(), method="sendMessage")
    telegram.fail_next(Fault.drop(), method="sendMessage")
    telegram.fail_next(Fault.too_many_requests(7), chat_id=ILZE)
    telegram.fail_next(Fault.blocked(), chat_id=ILZE)
    async with connect(telegram) as bot:
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(ILZE, "1")
        with pytest.raises(NetworkError, match="RemoteProtocolError"):
            await bot.send_message(ILZE, "2")
        with pytest.raises(RetryAfter):
            await bot.send_message(ILZE, "3")
        with pytest.raises(Forbidden):
            await bot.send_message(ILZE, "4")
        await bot.send_message(ILZE, "5")
    assert [m.text for m in ilze.messages] == ["5"]
    assert [c.status for c in telegram.calls_to("sendMessage")] == [502, 0, 429, 403, 200]


async def test_a_slow_answer_times_out_in_the_client(telegram: TelegramEmulator) -> None:
    async with connect(telegram, read_timeout=0.2) as impatient:
        telegram.fail_next(Fault.delay(30), method="getMe")
        with pytest.raises(TimedOut):
            await impatient.get_me()


async def test_latency_is_added_to_every_call(telegram: TelegramEmulator, bot: Bot) -> None:
    telegram.latency = 0.2
    started = time.monotonic()
    await bot.get_me()
    assert time.monotonic() - started >= 0.2
    assert telegram.calls[-1].duration >= 0.2


async def test_uploaded_document_keeps_its_bytes_name_and_type(
    bot: Bot, ilze: EmulatedUser
) -> None:
    content = b"%PDF-1.4 darba kartiba"
    sent = await bot.send_document(
        ILZE,
        content,
        filename="darba-kartiba.pdf",
        caption="<b>Darba kārtība</b>",
        parse_mode="HTML",
    )
    shown = ilze.last_message
    assert shown is not None and shown.document is not None
    assert (shown.document.data, shown.document.file_name) == (content, "darba-kartiba.pdf")
    assert shown.document.mime_type == "application/pdf"
    assert shown.caption == sent.caption == "Darba kārtība"
    assert sent.document is not None
    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == content


async def test_commands_are_kept_per_language_and_scope(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    await bot.set_my_commands(
        [BotCommand("start", "Sākt"), BotCommand("help", "Palīdzība")], language_code="lv"
    )
    await bot.set_my_commands([BotCommand("start", "Alusta")], language_code="et")
    await bot.set_my_commands([BotCommand("events", "Pasākumi")], scope=BotCommandScopeChat(ILZE))
    assert [c.command for c in await bot.get_my_commands(language_code="lv")] == ["start", "help"]
    assert telegram.commands("et") == [{"command": "start", "description": "Alusta"}]
    assert telegram.commands(scope={"type": "chat", "chat_id": ILZE})[0]["command"] == "events"
    assert await bot.get_my_commands() == ()
    await bot.delete_my_commands(language_code="et")
    assert telegram.commands("et") == []
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "Sākt")])


async def test_stickers_photos_and_edits_reach_the_bot(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    await ilze.send_sticker("👍")
    await ilze.send_photo(caption="Skola Valkā")
    typed = await ilze.send("Piedalos")
    await ilze.edit(typed, "Piedalos ar kolēģi")
    seminars = telegram.group(-100500, "Romu mediatori")
    await ilze.send("/start@expertbot_test_bot", chat=seminars)
    updates = await bot.get_updates()
    assert updates[0].message is not None and updates[0].message.sticker is not None
    assert updates[0].message.sticker.emoji == "👍"
    assert updates[1].message is not None and updates[1].message.caption == "Skola Valkā"
    assert updates[3].edited_message is not None
    assert updates[3].edited_message.text == "Piedalos ar kolēģi"
    assert updates[4].effective_chat is not None and updates[4].effective_chat.type == "group"
    assert [u.update_id for u in updates] == sorted(u.update_id for u in updates)


async def test_long_poll_returns_as_soon_as_an_update_arrives(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await telegram.wait_for(lambda: telegram.updates.polling)
    await ilze.send("Labdien")
    updates = await poll
    assert [u.message.text for u in updates if u.message] == ["Labdien"]
    assert time.monotonic() - started < 2
    assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()


async def test_editing_and_deleting_behave_like_telegram(bot: Bot, ilze: EmulatedUser) -> None:
    sent = await bot.send_message(
        ILZE, "<b>Sanāksme</b>", parse_mode="HTML", reply_markup=keyboard(("Jā", "y"))
    )
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text(
            "<b>Sanāksme</b>",
            ILZE,
            sent.message_id,
            parse_mode="HTML",
            reply_markup=keyboard(("Jā", "y")),
        )
    await bot.edit_message_reply_markup(ILZE, sent.message_id, reply_markup=None)
    shown = ilze.last_message
    assert shown is not None and shown.edited and shown.reply_markup is None
    assert await bot.delete_message(ILZE, sent.message_id)
    assert ilze.messages == [] and ilze.chat.messages[0].deleted
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", ILZE, sent.message_id)


async def test_webhook_receives_updates_and_blocks_get_updates(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    received: list[tuple[dict[str, Any], str | None]] = []

    async def hook(request: Request) -> Response:
        received.append(
            (await request.json(), request.headers.get("x-telegram-bot-api-secret-token"))
        )
        telegram.state.changed()
        return Response()

    async with LoopbackServer(
        Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    ) as receiver:
        await bot.set_webhook(f"{receiver.url}/hook", secret_token="s3cret")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        await ilze.send("Sveiki")
        await telegram.wait_for(lambda: received)
        await bot.delete_webhook()
    assert received[0][0]["message"]["text"] == "Sveiki"
    assert received[0][1] == "s3cret"
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_chat_info_menu_button_and_allowed_updates_are_served(
    telegram: TelegramEmulator, bot: Bot, ilze: EmulatedUser
) -> None:
    chat = await bot.get_chat(ILZE)
    assert (chat.first_name, chat.last_name, chat.username) == ("Ilze", "Kalniņa", "ilzek")
    await bot.set_chat_menu_button(ILZE, MenuButtonCommands())
    assert isinstance(await bot.get_chat_menu_button(ILZE), MenuButtonCommands)
    await ilze.send("Sveiki")
    sent = await bot.send_message(ILZE, "Vai būsiet?", reply_markup=keyboard(("Jā", "y")))
    await ilze.press(sent.message_id, "y")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates if u.callback_query] == ["y"]
    assert len(updates) == 1  # the text message was not wanted, so it was dropped
