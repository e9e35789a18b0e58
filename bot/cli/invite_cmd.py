"""`expertbot events invite`: reach an event's audience on every open channel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click
from rich.panel import Panel
from rich.table import Table

from bot.cli.common import State, console, delivery_policy, errors, fail, pass_state, with_database
from bot.cli.contacts_cmd import _audience_options
from bot.db.models import Contact, Event
from bot.db.session import Database
from bot.db.vocab import LANGUAGES
from bot.rendering import Renderer
from bot.services.contacts.audience import Audience
from bot.services.events import invitations, registry
from bot.services.events.invitation_messages import event_values, load_event

PREVIEW_LINKS = {"accept": "https://…/r/…", "decline": "https://…/r/…", "maybe": "https://…/r/…"}


def _audience(event: Event, overrides: dict[str, tuple[str, ...]]) -> Audience:
    if any(overrides.values()):
        return Audience.build(**overrides)
    return Audience.from_mapping(event.audience or {})


def _preview(event: Event, plan: invitations.InvitePlan, fallback: str | None) -> None:
    """Show the message once per language and channel, as the first such person will get it."""
    renderer = Renderer()
    shown: set[tuple[str, str]] = set()
    for contact in plan.new:
        language = contact.language if contact.language in event.title else (fallback or "lv")
        for channel, lang in plan.channels:
            if lang != language or (channel, lang) in shown:
                continue
            shown.add((channel, lang))
            values: dict[str, Any] = {
                "contact_name": contact.name,
                "event": event_values(event),
                "accepted_count": 0,
                "rsvp_links": PREVIEW_LINKS,
                "unsubscribe_url": "https://…/u/…",
            }
            rendered = renderer.render(invitations.KIND, language, values)
            body = (
                rendered.telegram
                if channel == "telegram"
                else (f"Subject: {rendered.subject}\n\n{rendered.text}")
            )
            console.print(Panel(body, title=f"{channel} · {language} · to {contact.name}"))


def _counts(plan: invitations.InvitePlan) -> Table:
    table = Table("channel", *LANGUAGES, title="Messages to send")
    for channel in ("telegram", "email"):
        table.add_row(channel, *(str(plan.channels.get((channel, lang), 0)) for lang in LANGUAGES))
    return table


@click.command("invite")
@click.argument("key")
@click.option("--dry-run", is_flag=True, help="Preview per language and channel; send nothing.")
@click.option(
    "--fallback-language",
    type=click.Choice(LANGUAGES),
    help="Send people whose language the event lacks the texts in this language.",
)
@_audience_options
@pass_state
def invite(
    state: State, key: str, dry_run: bool, fallback_language: str | None, **overrides: Any
) -> None:
    """Invite the event's audience (or the one given by the filters); only new people."""
    settings = state.settings

    async def work(database: Database) -> tuple[Event, invitations.InvitePlan, int]:
        async with database.session_scope() as session:
            found = await registry.find_event(session, key)
            if found is None:
                fail(f"no event {key}; `expertbot events list` shows them")
            assert found is not None
            event = await load_event(session, found.id)
            plan = await invitations.plan(
                session, event, _audience(event, overrides), fallback=fallback_language
            )
            if dry_run or plan.missing_language:  # plan() wrote nothing
                return event, plan, 0
            sent = await invitations.invite(
                session,
                event,
                plan,
                now=datetime.now(UTC),
                policy=delivery_policy(settings),
                fallback=fallback_language,
            )
            return event, plan, sent

    event, plan, sent = with_database(settings, work)
    if plan.missing_language:
        table = Table("name", "email", "language", title="The event has no texts in their language")
        for contact, language in plan.missing_language:
            table.add_row(contact.name, contact.email or "—", language)
        errors.print(table)
        fail(
            "nothing was sent. Add the missing titles to the event file and load it again, "
            "or use --fallback-language lv|et|en."
        )
    if dry_run:
        _preview(event, plan, fallback_language)
    console.print(_counts(plan))
    _report_unreachable(plan.unreachable)
    verb = "Would invite" if dry_run else "Invited"
    console.print(
        f"{verb} {len(plan.new)} new person(s) to {event.slug}; "
        f"{plan.already} already invited before."
    )
    if sent and not settings.sandbox:
        console.print("`expertbot run` sends them.")


def _report_unreachable(unreachable: list[tuple[Contact, str]]) -> None:
    if not unreachable:
        return
    table = Table("name", "why", title="Not reachable on any channel")
    for contact, why in unreachable:
        table.add_row(contact.name, why)
    console.print(table)
