"""`expertbot run` without credentials: the playground, started as a user starts it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import httpx

from tests.conftest import DATA, Cli
from tests.test_onboarding import free_port

READY = re.compile(r"playground on (http://127\.0\.0\.1:\d+)/")


async def _start(env: dict[str, str], cwd: Path) -> tuple[asyncio.subprocess.Process, str, str]:
    """Start `python -m bot run`; return the process, its output so far and the page's URL."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--no-browser",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen = ""
    async with asyncio.timeout(60):
        while (match := READY.search(seen)) is None:
            line = await process.stdout.readline()
            if not line:
                raise AssertionError(f"run stopped before the playground was ready:\n{seen}")
            seen += line.decode()
    return process, seen, match.group(1)


async def _stop(process: asyncio.subprocess.Process) -> str:
    process.send_signal(signal.SIGTERM)
    output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def test_run_without_credentials_opens_the_playground_and_loads_the_demo_once(
    tmp_path: Path,
) -> None:
    database = tmp_path / "playground.db"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("EXPERTBOT_")},
        "EXPERTBOT_DATABASE_URL": f"sqlite:///{database}",
        "EXPERTBOT_WEB_PORT": str(free_port()),
    }
    process, first, url = await _start(env, tmp_path)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        page = await http.get("/")
        state = (await http.get("/play/api/state")).json()
    first += await _stop(process)
    assert "mode: sandbox" in first and "nothing leaves this machine" in first
    assert "Empty database: loaded the demo network" in first
    assert page.status_code == 200 and "expertbot playground" in page.text
    assert "nothing leaves this machine" in state["banner"]
    names = {p["name"] for p in state["people"]}
    assert {"Ilze Kalniņa", "Margus Kask", "Kadri Tamm"} <= names
    assert any(p["telegram"] == "active" for p in state["people"])

    process, second, url = await _start(env, tmp_path)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        again = (await http.get("/play/api/state")).json()
    second += await _stop(process)
    assert "loaded the demo network" not in second
    assert len(again["people"]) == len(state["people"])


def test_run_refuses_the_demo_with_real_credentials(cli: Cli) -> None:
    result = cli("run", "--demo", EXPERTBOT_SMTP_HOST="mail.example.lv")
    assert result.exit_code != 0
    assert "--demo is for the sandbox only" in result.output
    assert "valga-2027" not in cli("events", "list").output


def test_the_playground_leaves_a_database_it_did_not_make_alone(cli: Cli) -> None:
    assert cli("contacts", "import", str(DATA / "contacts.csv")).exit_code == 0
    refused = cli("run", "--no-browser")
    assert refused.exit_code != 0
    assert "was not made by the playground" in refused.output
    assert "--use-existing-database" in refused.output
    assert "sqlite:///playground.db" in refused.output
    assert "valga-2027" not in cli("events", "list").output  # no demo mixed in either


def test_the_demo_command_refuses_with_credentials(cli: Cli) -> None:
    refused = cli("demo", EXPERTBOT_TELEGRAM_TOKEN="123456:secret-token-value")
    assert refused.exit_code != 0 and "sandbox only" in refused.output
    assert "secret-token-value" not in refused.output
    assert "Ilze" not in cli("contacts", "list").output
