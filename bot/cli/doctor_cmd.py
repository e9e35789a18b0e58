"""`expertbot doctor`: is this server ready to go live?"""

from __future__ import annotations

import asyncio
import sys

import click
from rich.text import Text

from bot.cli.common import console
from bot.config import SettingsError, load_settings


def show(ok: bool, line: str) -> None:
    mark = Text("✓ ", style="green") if ok else Text("✗ ", style="bold red")
    console.print(mark + Text(line), soft_wrap=True)


@click.command()
@click.option(
    "--send-test",
    "address",
    metavar="ADDRESS",
    help="Also send one test email to ADDRESS, in the default language.",
)
def doctor(address: str | None) -> None:
    """Check the settings, database, Telegram, mail, public address and disk, one line each.

    Every ✗ says how to fix it; the exit status is 1 when anything needs fixing. Nothing is
    sent unless --send-test is given, and no secret is shown.
    """
    from bot.ops.doctor import run_checks

    try:
        settings = load_settings()
    except SettingsError as error:
        for line in str(error).splitlines():
            show(False, f"Settings: {line}")
        sys.exit(1)
    show(True, "Settings: read from the environment and .env")
    findings = asyncio.run(run_checks(settings, send_test=address))
    for finding in findings:
        show(finding.ok, f"{finding.name}: {finding.detail}")
    failed = sum(not finding.ok for finding in findings)
    if failed:
        console.print(f"{failed} of {len(findings) + 1} checks need fixing.")
        sys.exit(1)
    console.print(f"All {len(findings) + 1} checks passed.")
