"""`expertbot surveys send`: ask people by hand, for an event or on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from bot.cli.common import State, console, delivery_policy, fail, pass_state, with_database
from bot.cli.contacts_cmd import _audience_options
from bot.db.session import Database
from bot.services.contacts.audience import Audience, select_contacts
from bot.services.events import registry as event_registry
from bot.services.surveys import sending as survey_sending
from bot.services.surveys.registry import find_survey


@click.command("send")
@click.argument("key")
@click.option("--event", "event_key", help="The event the answers are about (id or number).")
@_audience_options
@pass_state
def send(state: State, key: str, event_key: str | None, **filters: Any) -> None:
    """Send survey KEY now: to an event's participants, or to the people the filters pick."""
    settings = state.settings

    async def work(database: Database) -> tuple[str, int, int]:
        async with database.session_scope() as session:
            survey = await find_survey(session, key)
            if survey is None:
                fail(f"no survey {key}; `expertbot surveys list` shows them")
            assert survey is not None
            event = None
            if event_key:
                event = await event_registry.find_event(session, event_key)
                if event is None:
                    fail(f"no event {event_key}; `expertbot events list` shows them")
            audience = Audience.build(**filters)
            if event is not None and audience.is_everyone:
                people = await survey_sending.participants(session, event)
            elif audience.is_everyone:
                fail("say who: --event ID, or filters such as --role or --email")
                people = []
            else:
                people = await select_contacts(session, audience)
            sent = await survey_sending.send(
                session,
                survey,
                people,
                event=event,
                now=datetime.now(UTC),
                policy=delivery_policy(settings),
            )
            return survey.slug, len(people), sent

    slug, chosen, sent = with_database(settings, work)
    console.print(
        f"{slug}: sent to {sent} new person(s) of {chosen} chosen; "
        f"{chosen - sent} had it already or cannot be reached."
    )
