"""`expertbot contacts links` and `send-links`: one-time Telegram invite links per contact."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import click
import segno

from bot.cli.common import State, console, delivery_policy, fail, pass_state, with_database
from bot.cli.contacts_cmd import _audience_options
from bot.config import Settings
from bot.db.session import Database
from bot.services.contacts.audience import Audience, select_contacts

# Imported for its side effect too: it registers the send-time builder of the invite email.
from bot.services.onboarding import join_links
from bot.services.onboarding.join_links import IssuedLink, QueueReport
from bot.services.reporting.tables import write_csv

USERNAME_HINT = "set EXPERTBOT_TELEGRAM_BOT_USERNAME to the bot's username (without @)"
# 10 px modules at 300 dpi: about 0.85 mm each, a 4 cm code that phones read off paper.
PNG_SCALE = 10
PNG_DPI = 300
QR_ERROR = "m"


async def _ask_telegram(token: str, api_url: str) -> str:
    from telegram import Bot
    from telegram.request import HTTPXRequest

    request = HTTPXRequest(connect_timeout=10, read_timeout=10)
    async with Bot(token, base_url=f"{api_url}/bot", request=request) as bot:
        return bot.username  # initialising the bot asked getMe


def bot_username(settings: Settings) -> str:
    """Return the bot's username from the settings, or ask Telegram for it."""
    if settings.telegram_bot_username:
        return settings.telegram_bot_username
    if settings.telegram_token is None:
        return fail(
            f"links need the bot's username: {USERNAME_HINT}, e.g. ekspertu_tikls_bot "
            "(or set EXPERTBOT_TELEGRAM_TOKEN so it can be asked from Telegram)."
        )
    from telegram.error import TelegramError

    token = settings.telegram_token.get_secret_value()
    try:
        return asyncio.run(_ask_telegram(token, settings.telegram_api_url))
    except TelegramError as error:
        # PTB puts the token into some messages; it must not reach the screen or a log.
        reason = str(error).replace(token, "********")
        return fail(
            f"could not ask Telegram ({settings.telegram_api_url}) for the bot's username: "
            f"{type(error).__name__}: {reason}. Check EXPERTBOT_TELEGRAM_TOKEN, or {USERNAME_HINT}."
        )


def _slug(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "contact"


def qr_names(issued: Sequence[IssuedLink]) -> list[str]:
    """Name each person's QR file after their email, else their name; never twice the same."""
    names: list[str] = []
    for item in issued:
        email = item.contact.email
        stem = re.sub(r"[^A-Za-z0-9@._+-]", "_", email) if email else _slug(item.contact.name)
        if stem.lower() in (n.lower() for n in names):
            stem = f"{stem}-{item.contact.id}"
        names.append(stem)
    return names


def write_qr_codes(directory: Path, issued: Sequence[IssuedLink]) -> None:
    """Write <name>.png (300 dpi) and <name>.svg (1 mm modules) per person."""
    directory.mkdir(parents=True, exist_ok=True)
    for item, stem in zip(issued, qr_names(issued), strict=True):
        code = segno.make(item.link, error=QR_ERROR, micro=False)
        code.save(str(directory / f"{stem}.png"), scale=PNG_SCALE, dpi=PNG_DPI)
        code.save(str(directory / f"{stem}.svg"), scale=1, unit="mm", title=item.contact.name)


def _write_files(issued: Sequence[IssuedLink], csv_file: Path | None, qr_dir: Path | None) -> None:
    if csv_file is not None:
        rows = [(i.contact.email, i.contact.name, i.link) for i in issued]
        write_csv(csv_file, ("email", "name", "link"), rows)
    if qr_dir is not None:
        write_qr_codes(qr_dir, issued)


def _print_links(issued: Sequence[IssuedLink]) -> None:
    names = max(len(i.contact.name) for i in issued)
    emails = max(len(i.contact.email or "—") for i in issued)
    for i in issued:
        line = f"{i.contact.name:<{names}}  {i.contact.email or '—':<{emails}}  {i.link}"
        # No markup and no wrapping: a link broken over two lines cannot be copied.
        console.print(line, markup=False, soft_wrap=True)


def _until(issued: Sequence[IssuedLink]) -> str:
    days = sorted({i.valid_until for i in issued})
    span = days[0].isoformat() if len(days) == 1 else f"{days[0]} to {days[-1]}"
    return f"valid until the end of {span}"


@click.command("links")
@_audience_options
@click.option("--all", "everyone", is_flag=True, help="Include people already on Telegram.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write email,name,link to FILE (UTF-8 with BOM, opens in Excel).",
)
@click.option(
    "--qr",
    "qr_dir",
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Also write a QR code per person to DIR, as PNG and SVG, to print.",
)
@pass_state
def links(
    state: State,
    everyone: bool,
    csv_file: Path | None,
    qr_dir: Path | None,
    **filters: tuple[str, ...],
) -> None:
    """Make a one-time Telegram link per selected contact and print it.

    People already on Telegram are left out unless --all. A new link replaces the person's
    earlier unused one, also one sent by send-links. Links work once, for
    EXPERTBOT_INVITE_DAYS days (to the end of the last day).
    """
    settings = state.settings
    username = bot_username(settings)
    audience = Audience.build(**filters)
    policy = delivery_policy(settings)
    now = datetime.now(UTC)

    async def work(database: Database) -> tuple[list[IssuedLink], int]:
        async with database.session_scope() as session:
            people = await select_contacts(session, audience)
            linked = set()
            if not everyone:
                linked = await join_links.linked_contact_ids(session, (c.id for c in people))
            issued = [
                await join_links.issue_link(
                    session,
                    c,
                    bot_username=username,
                    now=now,
                    days=settings.invite_days,
                    zone=policy.zone_of(c),
                )
                for c in people
                if c.id not in linked
            ]
            # Inside the transaction: if a file cannot be written, the old links stay valid.
            try:
                _write_files(issued, csv_file, qr_dir)
            except OSError as error:
                fail(
                    f"could not write {error.filename or 'a file'}: {error.strerror}; "
                    "no link was changed."
                )
            return issued, len(linked)

    issued, left_out = with_database(settings, work)
    if issued:
        _print_links(issued)
        console.print(
            f"{len(issued)} new link(s), {_until(issued)}; "
            "earlier unused links of these people no longer work."
        )
    else:
        nobody = "" if left_out else f": nobody matches ({audience.describe()})"
        console.print(f"No links made{nobody}.")
    if left_out:
        console.print(f"{left_out} already on Telegram left out; --all includes them.")
    if issued and csv_file is not None:
        console.print(f"Wrote {len(issued)} link(s) to {csv_file}.")
    if issued and qr_dir is not None:
        console.print(f"Wrote {len(issued)} QR code(s), PNG and SVG, to {qr_dir}.")
    if issued and (csv_file or qr_dir):
        console.print(
            "Each link lets one person in: keep the files private, delete them after use."
        )


@click.command("send-links")
@_audience_options
@click.option("--all", "everyone", is_flag=True, help="Include people already on Telegram.")
@pass_state
def send_links(state: State, everyone: bool, **filters: tuple[str, ...]) -> None:
    """Email each selected contact their own Telegram link, in their language.

    Only people with a working email address who are not on Telegram yet (unless --all).
    The emails go through the outbox; the link is made when one is sent, and replaces the
    person's earlier unused link. One email per person per day (in EXPERTBOT_TIMEZONE):
    running this again the same day queues nothing new; a later day queues a new email and
    cancels an older one that is still waiting. `expertbot run` sends them.
    """
    settings = state.settings
    username = bot_username(settings)
    audience = Audience.build(**filters)
    now = datetime.now(UTC)

    async def work(database: Database) -> QueueReport:
        async with database.session_scope() as session:
            people = await select_contacts(session, audience)
            return await join_links.queue_links(
                session,
                people,
                now=now,
                policy=delivery_policy(settings),
                bot_username=username,
                days=settings.invite_days,
                even_if_linked=everyone,
            )

    report = with_database(settings, work)
    _print_report(report, settings)


def _print_report(report: QueueReport, settings: Settings) -> None:
    console.print(f"Queued {report.queued} invite email(s).")
    if report.already_queued:
        console.print(f"{report.already_queued} already queued today (one per person per day).")
    if report.skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items()))
        console.print(f"Skipped {sum(report.skipped.values())}: {reasons}.")
    if not report.queued:
        return
    if settings.smtp_host:
        console.print(
            "`expertbot run` sends them (outside quiet hours); see `expertbot outbox status`."
        )
    else:
        console.print(
            "No mail server is set (EXPERTBOT_SMTP_HOST): they wait in the outbox until "
            "`expertbot run` has one."
        )
