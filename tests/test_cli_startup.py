"""The command starts without loading what it does not use: Telegram, the SMTP server and the
playground are imported only by the commands that need them (each check in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("telegram", "aiosmtpd", "bot.playground", "bot.sandbox", "bot.app")


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_importing_the_command_loads_no_telegram_smtp_or_playground() -> None:
    assert heavy(modules_after("import bot.cli")) == []


def test_help_loads_no_telegram_smtp_playground_or_database_layer() -> None:
    loaded = modules_after(
        "from bot.cli import main\n"
        "try:\n    main(['--help'], prog_name='expertbot')\nexcept SystemExit:\n    pass"
    )
    assert heavy(loaded) == []
    assert "sqlalchemy" not in loaded and "rich" not in loaded


def test_the_contacts_commands_load_no_telegram() -> None:
    loaded = modules_after(
        "from bot.cli import main\n"
        "try:\n    main(['contacts', 'list', '--help'], prog_name='expertbot')\n"
        "except SystemExit:\n    pass\n"
        "import bot.cli.contacts_cmd"
    )
    assert "bot.cli.contacts_cmd" in loaded
    assert heavy(loaded) == []
