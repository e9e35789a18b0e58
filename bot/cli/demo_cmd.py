"""`expertbot demo`: load the invented demo network into an empty database."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import State, console, fail, pass_state, with_database
from bot.cli.events_cmd import _span
from bot.db import migrate
from bot.db.models import Event, Survey
from bot.db.session import Database
from bot.db.vocab import LANGUAGES
from bot.services import demo as demo_network
from bot.services.contacts.audience import Audience, select_contacts
from bot.services.events import registry as event_registry
from bot.services.events.files import format_offset
from bot.services.surveys import registry as survey_registry
from bot.textformat import pick_language


@click.command()
@click.option(
    "--language",
    type=click.Choice(LANGUAGES),
    default="lv",
    show_default=True,
    help="Show titles in this language (falls back to Latvian).",
)
@pass_state
def demo(state: State, language: str) -> None:
    """Load the demo network (invented people, events dated from today) into an empty database."""
    settings = state.settings
    if not settings.sandbox:
        fail(
            "the demo is for the sandbox only: its invented people must never get real "
            "messages. Unset EXPERTBOT_TELEGRAM_TOKEN and EXPERTBOT_SMTP_HOST to try it."
        )
    migrate.upgrade(settings.database_url)

    async def work(database: Database) -> tuple[int, list[Table], str]:
        async with database.session_scope() as session:
            count = await demo_network.contact_count(session)
            if count:
                return count, [], ""
            summary = await demo_network.load_demo(
                session, now=datetime.now(UTC), zone=settings.zone
            )
            events = [await event_registry.find_event(session, k) for k, _ in summary.events]
            shown = [e for e in events if e is not None]
            tables = [
                await _people(session),
                await _events(session, shown, language),
                await _surveys(session, summary.surveys, shown, language),
            ]
            return 0, tables, _loaded(summary)

    count, tables, loaded = with_database(settings, work)
    if count:
        fail(
            f"the database already has {count} contacts; point EXPERTBOT_DATABASE_URL "
            "at a new file or remove it"
        )
    console.print(loaded)
    for table in tables:
        console.print(table)
    console.print("Start the playground: expertbot run")


def _loaded(summary: demo_network.DemoSummary) -> str:
    return (
        f"Loaded the demo network: contacts {summary.contacts}; {len(summary.events)} event(s), "
        f"{len(summary.surveys)} survey(s), {summary.recommendations} recommendation(s) "
        "(see them: expertbot recs list)."
    )


async def _people(session: AsyncSession) -> Table:
    people = await select_contacts(session, Audience())
    groups = Counter(c.stakeholder_group or "other" for c in people)
    telegram = Counter(c.stakeholder_group or "other" for c in people if c.telegram_username)
    email = Counter(c.stakeholder_group or "other" for c in people if c.email)
    table = Table("stakeholder group", "people", "on Telegram", "with email", title="The network")
    for group, number in groups.most_common():
        table.add_row(group, str(number), str(telegram[group]), str(email[group]))
    table.add_row("all", str(len(people)), str(telegram.total()), str(email.total()), style="bold")
    return table


async def _events(session: AsyncSession, events: list[Event], language: str) -> Table:
    table = Table("event", "title", "when (local)", "time zone", "audience", "survey")
    table.title = "Events (drafts: invite with expertbot events invite KEY)"
    for event in events:
        audience = await select_contacts(session, Audience.from_mapping(event.audience or {}))
        table.add_row(
            event.slug,
            escape(pick_language(event.title, language)),
            _span(event.starts_at, event.ends_at, event.timezone),
            event.timezone,
            str(len(audience)),
            event.survey_slug or "—",
        )
    return table


async def _surveys(
    session: AsyncSession, keys: list[str], events: list[Event], language: str
) -> Table:
    table = Table("survey", "title", "questions", "timing", "after events", title="Surveys")
    for key in keys:
        survey = await survey_registry.find_survey(session, key)
        assert survey is not None
        table.add_row(
            key,
            escape(pick_language(survey.title, language)),
            str(len(survey.questions)),
            _timing(survey),
            ", ".join(e.slug for e in events if e.survey_slug == key) or "—",
        )
    return table


def _timing(survey: Survey) -> str:
    parts = [f"sent {format_offset(survey.send_after)} after the end"]
    if survey.remind_after is not None:
        parts.append(f"reminder after {format_offset(survey.remind_after)}")
    if survey.closes_after is not None:
        parts.append(f"closes after {format_offset(survey.closes_after)}")
    return ", ".join(parts)
