"""The `expertbot` command.

Subcommands are imported when they run, not when the command starts: `expertbot --help`
and `contacts list` must not pay for Telegram, the SMTP server or the playground
(tests/test_cli_startup.py). Each entry names the module, the attribute and the one-line help
shown in the command list; `_ATTACH` adds subcommands that live in another module.
"""

from __future__ import annotations

import importlib
import importlib.util

import click

from bot.cli.common import State, database_trouble, fail

# name -> (module, attribute, short help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "backup": ("bot.cli.backup_cmd", "backup", "Copy the database to FILE while the service runs."),
    "config": ("bot.cli.config_cmd", "config", "Look at the settings."),
    "contacts": ("bot.cli.contacts_cmd", "contacts", "The contacts registry."),
    "db": ("bot.cli.db_cmd", "db", "Create or migrate the database."),
    "demo": ("bot.cli.demo_cmd", "demo", "Load the demo network into an empty database."),
    "doctor": ("bot.cli.doctor_cmd", "doctor", "Check that everything is set up."),
    "events": ("bot.cli.events_cmd", "events", "Events: meetings, visits, seminars and workshops."),
    "export": ("bot.cli.export_cmd", "export", "Export every table to an XLSX file or CSV files."),
    "outbox": ("bot.cli.outbox_cmd", "outbox_group", "The queue of outgoing messages."),
    "recs": ("bot.cli.recs_cmd", "recs", "Recommendations of meetings and their follow-up."),
    "report": ("bot.cli.export_cmd", "report", "Report the period's results to the funder."),
    "restore": ("bot.cli.backup_cmd", "restore", "Restore a backup FILE into an empty database."),
    "run": ("bot.cli.run_cmd", "run", "Migrate the database and start the service."),
    "surveys": ("bot.cli.surveys_cmd", "surveys", "Surveys sent after events, and their results."),
}

# group name -> [(module, attribute)] of subcommands defined elsewhere
_ATTACH: dict[str, list[tuple[str, str]]] = {
    "contacts": [("bot.cli.links_cmd", "links"), ("bot.cli.links_cmd", "send_links")],
    "events": [("bot.cli.invite_cmd", "invite")],
    "surveys": [("bot.cli.survey_send_cmd", "send")],
}


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        if isinstance(command, click.Group):
            for sub_module, sub_attribute in _ATTACH.get(cmd_name, []):
                sub = getattr(importlib.import_module(sub_module), sub_attribute)
                if sub.name not in command.commands:
                    command.add_command(sub)
        return command

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except Exception as error:  # a database that is locked or down: one line, no traceback
            state = ctx.find_object(State)
            trouble = database_trouble(error, state.database_url if state else None)
            if trouble is None:
                raise
            return fail(trouble)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="expertbot")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Invitations, reminders and surveys for the regional expert network (lv, et, en)."""
    ctx.ensure_object(State)
