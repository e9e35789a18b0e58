"""The coordinator hands out one-time Telegram links: printed, as CSV and QR codes, or by email."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import re
import sqlite3
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import segno
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.email import EmailSender, SmtpConfig
from bot.cli.links_cmd import QR_ERROR
from bot.db.models import Contact, InviteToken, OutboxMessage, TelegramLink
from bot.db.session import Database
from bot.rendering import Renderer
from bot.sandbox import TelegramEmulator
from bot.sandbox.mail_server import MailServer
from bot.services.clock import ManualClock
from bot.services.delivery.compose import Composer
from bot.services.delivery.dispatcher import Dispatcher
from bot.services.onboarding import join_tokens
from tests.conftest import DATA, Cli
from tests.conftest import query as in_session
from tests.test_outbox import POLICY

CONTACTS = DATA / "contacts.csv"
BOT = {"EXPERTBOT_TELEGRAM_BOT_USERNAME": "ekspertu_tikls_bot"}
TOKEN = r"[A-Za-z0-9_-]{22,64}"
LINK = re.compile(rf"https://t\.me/ekspertu_tikls_bot\?start=({TOKEN})")
LINE = re.compile(rf"^(?P<name>\S.*?)\s{{2,}}(?P<email>\S+)\s{{2,}}{LINK.pattern}$")
RIGA = ZoneInfo("Europe/Riga")
WITHOUT_EMAIL = {"Raimonds Kļaviņš", "Priit Mägi"}


def verdict(url: str, token: str, now: datetime | None = None) -> join_tokens.Verdict:
    async def work(session: AsyncSession) -> join_tokens.Verdict:
        return (await join_tokens.check(session, token, now=now or datetime.now(UTC)))[0]

    return in_session(url, work)


def link_telegram(url: str, email: str, chat: int) -> None:
    async def work(session: AsyncSession) -> None:
        contact = await session.scalar(select(Contact).where(Contact.email == email))
        assert contact is not None
        contact.telegram_state = "active"
        session.add(TelegramLink(contact_id=contact.id, chat_id=chat, user_id=chat))

    in_session(url, work)


def outbox_rows(url: str) -> list[OutboxMessage]:
    async def work(session: AsyncSession) -> list[OutboxMessage]:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))

    return in_session(url, work)


def stored_tokens(url: str) -> list[InviteToken]:
    async def work(session: AsyncSession) -> list[InviteToken]:
        return list(await session.scalars(select(InviteToken).order_by(InviteToken.id)))

    return in_session(url, work)


def printed_links(output: str) -> dict[str, tuple[str, str]]:
    """Read `name  email  link` lines: name → (email, token)."""
    found = {}
    for line in output.splitlines():
        match = LINE.match(line)
        if match:
            found[match["name"]] = (match["email"], match[3])
    return found


@pytest.fixture
def imported(cli: Cli) -> Cli:
    result = cli("contacts", "import", str(CONTACTS))
    assert result.exit_code == 0, result.output
    return cli


def test_every_contact_not_on_telegram_gets_a_printed_t_me_link(imported: Cli) -> None:
    link_telegram(imported.url, "ilze.kalnina@jelgava.example", 1001)
    result = imported("contacts", "links", **BOT)
    assert result.exit_code == 0, result.output
    links = printed_links(result.output)
    assert len(links) == 19 and "Ilze Kalniņa" not in links
    assert links["Kadri Tamm"][0] == "kadri.tamm@valga.example"
    assert links["Priit Mägi"][0] == "—"
    tokens = [token for _, token in links.values()]
    assert all(re.fullmatch(TOKEN, t) for t in tokens) and len(set(tokens)) == 19
    assert "19 new link(s)" in result.output
    assert "earlier unused links of these people no longer work" in result.output
    assert "1 already on Telegram left out; --all includes them" in result.output


def test_all_includes_people_already_on_telegram(imported: Cli) -> None:
    link_telegram(imported.url, "ilze.kalnina@jelgava.example", 1001)
    result = imported("contacts", "links", "--all", **BOT)
    assert len(printed_links(result.output)) == 20


def database_text(url: str) -> str:
    """Every cell of every table, as text (read with SQL, so rows still in the WAL count)."""
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as connection:
        tables = [
            n for (n,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return "\n".join(
            repr(row) for table in tables for row in connection.execute(f'SELECT * FROM "{table}"')
        )


def test_only_a_hash_of_each_token_is_stored(imported: Cli) -> None:
    tokens = [t for _, t in printed_links(imported("contacts", "links", **BOT).output).values()]
    stored = {row.token_hash for row in stored_tokens(imported.url)}
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    everything = database_text(imported.url)
    assert tokens and not any(t in everything for t in tokens)


def test_a_new_link_makes_the_previous_unused_one_stop_working(imported: Cli) -> None:
    def ilzes_token() -> str:
        result = imported("contacts", "links", "--email", "ilze.kalnina@jelgava.example", **BOT)
        ((_, token),) = printed_links(result.output).values()
        return token

    first, second = ilzes_token(), ilzes_token()
    assert verdict(imported.url, first) == "expired"
    assert verdict(imported.url, second) == "valid"


def test_a_link_works_for_the_configured_days_to_the_end_of_the_last_day(imported: Cli) -> None:
    before = datetime.now(UTC)
    imported(
        "contacts", "links", "--email", "kadri.tamm@valga.example", EXPERTBOT_INVITE_DAYS="7", **BOT
    )
    (row,) = stored_tokens(imported.url)
    local = row.expires_at.astimezone(RIGA)
    assert (
        local.time() == time(0)
        and local.date() == (before.astimezone(RIGA) + timedelta(days=8)).date()
    )


def test_filters_choose_whose_links_are_made(imported: Cli) -> None:
    result = imported("contacts", "links", "--country", "EE", **BOT)
    assert set(printed_links(result.output)) == {
        "Kadri Tamm",
        "Margus Kask",
        "Tiina Sepp",
        "Priit Mägi",
        "Anneli Õunapuu",
    }
    assert len(stored_tokens(imported.url)) == 5


def test_links_go_to_a_csv_with_a_bom_for_excel(imported: Cli, tmp_path: Path) -> None:
    target = tmp_path / "links.csv"
    result = imported("contacts", "links", "--country", "EE", "--csv", str(target), **BOT)
    assert f"Wrote 5 link(s) to {target}" in result.output
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfemail,name,link\r\n")
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    printed = printed_links(result.output)
    assert {r["name"]: r["link"] for r in rows} == {
        name: f"https://t.me/ekspertu_tikls_bot?start={token}"
        for name, (_, token) in printed.items()
    }
    assert {r["name"]: r["email"] for r in rows}["Priit Mägi"] == ""


def read_png(path: Path) -> tuple[list[list[int]], int]:
    """Decode a 1-bit greyscale PNG (as segno writes it): rows of 0 (black) / 1, and the dpi."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks: dict[bytes, bytes] = {}
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        name = data[position + 4 : position + 8]
        chunks[name] = chunks.get(name, b"") + data[position + 8 : position + 8 + length]
        position += 12 + length
    width, height, depth, colour = struct.unpack(">2I2B", chunks[b"IHDR"][:10])
    assert (depth, colour) == (1, 0)
    per_metre, _, unit = struct.unpack(">LLB", chunks[b"pHYs"])
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = (width + 7) // 8
    previous = bytes(stride)
    pixels = []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]
        assert kind in (0, 2)  # none, or "up"
        if kind == 2:
            line = bytes((a + b) % 256 for a, b in zip(line, previous, strict=True))
        pixels.append([(line[x // 8] >> (7 - x % 8)) & 1 for x in range(width)])
        previous = line
    assert unit == 1
    return pixels, round(per_metre * 0.0254)


def test_qr_codes_are_written_per_person_to_print(imported: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "qr"
    result = imported("contacts", "links", "--country", "EE", "--qr", str(folder), **BOT)
    assert "Wrote 5 QR code(s), PNG and SVG" in result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{stem}.{suffix}"
        for stem in (
            "kadri.tamm@valga.example",
            "margus.kask@valga.example",
            "tiina.sepp@kul.example",
            "anneli.ounapuu@joy.example",
            "priit-magi",
        )
        for suffix in ("png", "svg")
    )
    _, token = printed_links(result.output)["Kadri Tamm"]
    link = f"https://t.me/ekspertu_tikls_bot?start={token}"
    pixels, dpi = read_png(folder / "kadri.tamm@valga.example.png")
    expected = segno.make(link, error=QR_ERROR, micro=False)
    size = len(expected.matrix) + 8  # a quiet zone of 4 modules on each side
    scale = len(pixels) // size
    assert dpi == 300 and scale >= 8 and len(pixels) == len(pixels[0]) == size * scale
    modules = [
        [
            1 - pixels[(4 + y) * scale + scale // 2][(4 + x) * scale + scale // 2]
            for x in range(size - 8)
        ]
        for y in range(size - 8)
    ]
    assert modules == [list(row) for row in expected.matrix]
    svg = (folder / "priit-magi.svg").read_text()
    assert "<title>Priit Mägi</title>" in svg and 'width="' in svg and "mm" in svg


@pytest.mark.parametrize("command", ["links", "send-links"])
def test_without_a_bot_username_links_cannot_be_made(imported: Cli, command: str) -> None:
    result = imported("contacts", command)
    assert result.exit_code == 1
    assert "set EXPERTBOT_TELEGRAM_BOT_USERNAME" in result.output
    assert stored_tokens(imported.url) == [] and outbox_rows(imported.url) == []


@pytest.fixture
async def telegram() -> AsyncIterator[TelegramEmulator]:
    async with TelegramEmulator() as emulator:
        yield emulator


async def test_with_only_a_token_the_bot_username_is_asked_from_telegram(
    imported: Cli, telegram: TelegramEmulator
) -> None:
    api = {
        "EXPERTBOT_TELEGRAM_TOKEN": telegram.token,
        "EXPERTBOT_TELEGRAM_API_URL": telegram.base_url,
    }
    result = await asyncio.to_thread(imported, "contacts", "links", "--country", "EE", **api)
    assert result.exit_code == 0, result.output
    assert result.output.count("https://t.me/expertbot_test_bot?start=") == 5
    assert telegram.calls_to("getMe")


async def test_a_rejected_token_is_reported_without_showing_it(
    imported: Cli, telegram: TelegramEmulator
) -> None:
    wrong = "7000000001:not-the-right-token-at-all"
    api = {"EXPERTBOT_TELEGRAM_TOKEN": wrong, "EXPERTBOT_TELEGRAM_API_URL": telegram.base_url}
    result = await asyncio.to_thread(imported, "contacts", "links", **api)
    assert result.exit_code == 1
    assert (
        "could not ask Telegram" in result.output
        and "EXPERTBOT_TELEGRAM_BOT_USERNAME" in result.output
    )
    assert wrong not in result.output and "not-the-right-token" not in result.output
    assert stored_tokens(imported.url) == []


def test_send_links_queues_one_email_per_contact_with_an_address(imported: Cli) -> None:
    link_telegram(imported.url, "sandra.jansone@km.example", 1011)
    result = imported("contacts", "send-links", **BOT)
    assert result.exit_code == 0, result.output
    assert "Queued 17 invite email(s)." in result.output
    assert "Skipped 3: 1 already on Telegram, 2 no email address." in result.output
    assert "expertbot run" in result.output
    rows = outbox_rows(imported.url)
    assert len(rows) == 17 and {(r.channel, r.kind) for r in rows} == {
        ("email", "telegram_invite_link")
    }
    assert rows[0].params["bot_username"] == "ekspertu_tikls_bot"
    assert rows[0].params["lifetime_days"] == 30
    assert stored_tokens(imported.url) == []  # made when each email is sent, not before


def test_a_second_run_the_same_day_queues_nothing_and_a_later_day_queues_again(
    imported: Cli,
) -> None:
    imported("contacts", "send-links", "--country", "EE", **BOT)
    again = imported("contacts", "send-links", "--country", "EE", **BOT)
    assert "Queued 0 invite email(s)." in again.output
    assert "4 already queued today" in again.output
    assert len(outbox_rows(imported.url)) == 4

    async def as_if_yesterday(session: AsyncSession) -> None:
        for row in await session.scalars(select(OutboxMessage)):
            row.dedupe_key = row.dedupe_key.rsplit(":", 1)[0] + ":2000-01-01"

    in_session(imported.url, as_if_yesterday)
    later = imported("contacts", "send-links", "--country", "EE", **BOT)
    assert "Queued 4 invite email(s)." in later.output
    rows = outbox_rows(imported.url)
    assert [r.status for r in rows] == ["cancelled"] * 4 + ["queued"] * 4
    assert {r.last_error for r in rows[:4]} == {"replaced by a newer invite link"}


def test_erased_and_bounced_contacts_get_no_invite_email(imported: Cli) -> None:
    imported("contacts", "remove", "margus.kask@valga.example", "--yes")

    async def bounce(session: AsyncSession) -> None:
        await session.execute(
            update(Contact)
            .where(Contact.email == "tiina.sepp@kul.example")
            .values(email_state="bounced")
        )

    in_session(imported.url, bounce)
    result = imported("contacts", "send-links", "--country", "EE", **BOT)
    assert "Queued 2 invite email(s)." in result.output
    assert "Skipped 2: 1 email bounced, 1 no email address." in result.output
    assert len(outbox_rows(imported.url)) == 2


# --- sent by the dispatcher ---------------------------------------------------------------


@pytest.fixture
async def mail() -> AsyncIterator[MailServer]:
    async with MailServer() as server:
        yield server


async def dispatch(database: Database, mail: MailServer, clock: ManualClock) -> int:
    config = SmtpConfig(
        host="127.0.0.1", port=mail.port, security="none", mail_from="Tīkls <tikls@km.example>"
    )
    sender = EmailSender(config)
    dispatcher = Dispatcher(database, {"email": sender}, Composer(Renderer()), clock, POLICY)
    try:
        return await dispatcher.run_until_idle()
    finally:
        await sender.close()


def body(message: Any) -> str:
    return str(message.get_body(("plain",)).get_content())


async def test_each_person_gets_a_working_link_in_their_language_when_it_is_sent(
    imported: Cli, sqlite_database: Database, mail: MailServer
) -> None:
    printed = await asyncio.to_thread(
        imported, "contacts", "links", "--email", "kadri.tamm@valga.example", **BOT
    )
    ((_, printed_token),) = printed_links(printed.output).values()
    await asyncio.to_thread(imported, "contacts", "send-links", **BOT)
    # A day later every row is past any quiet hours.
    clock = ManualClock(datetime.now(UTC) + timedelta(days=1))
    assert await dispatch(sqlite_database, mail, clock) == 18
    assert len(mail.messages) == 18

    (kadri,) = mail.mailbox("kadri.tamm@valga.example")
    assert str(kadri["Subject"]) == "Võrgustiku teated ka Telegramis"
    assert "Tere, Kadri Tamm!" in body(kadri)
    (token,) = LINK.findall(body(kadri))
    assert verdict(imported.url, token, clock.now()) == "valid"
    assert verdict(imported.url, printed_token, clock.now()) == "expired"

    (ilze,) = mail.mailbox("ilze.kalnina@jelgava.example")
    assert str(ilze["Subject"]) == "Saņemiet tīkla ziņas arī lietotnē Telegram"
    assert "Labdien, Ilze Kalniņa!" in body(ilze) and "Saites derīguma termiņš:" in body(ilze)
    assert verdict(imported.url, LINK.findall(body(ilze))[0], clock.now()) == "valid"

    (mikko,) = mail.mailbox("mikko.virtanen@minority.example")
    assert "Telegram" in str(mikko["Subject"]) and "Dear Mikko Virtanen" in body(mikko)
    assert {r.status for r in outbox_rows(imported.url)} == {"sent"}


async def test_who_links_telegram_before_the_email_goes_out_is_not_sent_one(
    imported: Cli, sqlite_database: Database, mail: MailServer
) -> None:
    await asyncio.to_thread(imported, "contacts", "send-links", "--country", "EE", **BOT)
    link_telegram(imported.url, "kadri.tamm@valga.example", 1014)
    await dispatch(sqlite_database, mail, ManualClock(datetime.now(UTC) + timedelta(days=1)))
    assert mail.mailbox("kadri.tamm@valga.example") == []
    assert len(mail.messages) == 3
    (skipped,) = [r for r in outbox_rows(imported.url) if r.status == "cancelled"]
    assert skipped.last_error == "skipped: already on Telegram"


async def test_an_emailed_token_is_not_kept_in_the_database_either(
    imported: Cli, sqlite_database: Database, mail: MailServer
) -> None:
    await asyncio.to_thread(
        imported, "contacts", "send-links", "--email", "kadri.tamm@valga.example", **BOT
    )
    await dispatch(sqlite_database, mail, ManualClock(datetime.now(UTC) + timedelta(days=1)))
    (kadri,) = mail.mailbox("kadri.tamm@valga.example")
    (token,) = LINK.findall(body(kadri))
    assert token not in database_text(imported.url)
