"""The `expertbot` command."""

from __future__ import annotations

import click

from bot.cli.common import State
from bot.cli.config_cmd import config
from bot.cli.contacts_cmd import contacts
from bot.cli.db_cmd import db
from bot.cli.demo_cmd import demo
from bot.cli.events_cmd import events
from bot.cli.export_cmd import export, report
from bot.cli.invite_cmd import invite
from bot.cli.links_cmd import links, send_links
from bot.cli.outbox_cmd import outbox_group
from bot.cli.recs_cmd import recs
from bot.cli.run_cmd import run
from bot.cli.survey_send_cmd import send as send_survey
from bot.cli.surveys_cmd import surveys


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="expertbot")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Invitations, reminders and surveys for the regional expert network (lv, et, en)."""
    ctx.ensure_object(State)


main.add_command(config)
main.add_command(db)
main.add_command(contacts)
contacts.add_command(links)
contacts.add_command(send_links)
main.add_command(run)
main.add_command(demo)
main.add_command(outbox_group)
main.add_command(events)
events.add_command(invite)
main.add_command(surveys)
surveys.add_command(send_survey)
main.add_command(recs)
main.add_command(export)
main.add_command(report)
