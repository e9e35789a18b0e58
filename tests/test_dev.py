"""`python3 dev.py run ...`: what follows goes to `expertbot` the way the README writes it, and
Ctrl+C stops the service cleanly; the playground keeps what it shows even when killed."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import httpx

import dev
from bot.playground.runtime import pick_port
from tests.test_onboarding import free_port
from tests.test_run import READY, _start

ROOT = Path(dev.__file__).resolve().parent


def test_flags_after_run_go_to_the_run_command() -> None:
    assert dev.expertbot_args(["--no-browser"]) == ["run", "--no-browser"]
    assert dev.expertbot_args([]) == ["run"]


def test_a_command_after_run_is_run_instead() -> None:
    assert dev.expertbot_args(["contacts", "list", "--country", "EE"]) == [
        "contacts",
        "list",
        "--country",
        "EE",
    ]


def playground_env(tmp_path: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("EXPERTBOT_")},
        "EXPERTBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'playground.db'}",
        "EXPERTBOT_WEB_PORT": str(free_port()),
        "PYTHONPATH": str(ROOT),
    }


async def say_help(url: str) -> tuple[int, str]:
    """As someone on Telegram, send the bot a message through the playground's page."""
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        people = (await http.get("/play/api/state")).json()["people"]
        person = next(p for p in people if p["telegram"] == "active" and not p["coordinator"])
        text = f"/help {os.getpid()}"
        sent = await http.post(f"/play/api/chat/{person['id']}/send", json={"text": text})
        assert sent.status_code == 200, sent.text
    return person["id"], text


async def chat_texts(url: str, person: int) -> list[str]:
    async with httpx.AsyncClient(base_url=url, timeout=20) as http:
        chat: dict[str, Any] = (await http.get(f"/play/api/chat/{person}")).json()
    return [m["html"] for m in chat["messages"]]


async def test_ctrl_c_through_dev_py_lets_the_service_stop_and_save(tmp_path: Path) -> None:
    env = playground_env(tmp_path)
    wrapper = (
        "import sys, dev; "
        "sys.exit(dev.run_child([sys.executable, '-m', 'bot', 'run', '--no-browser'], "
        f"cwd=dev.Path({str(tmp_path)!r})))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        wrapper,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    seen = ""
    async with asyncio.timeout(60):
        while (match := READY.search(seen)) is None:
            line = await process.stdout.readline()
            assert line, seen
            seen += line.decode()
    person, text = await say_help(match.group(1))
    process.send_signal(signal.SIGINT)  # to dev.py alone, as `kill -INT` would
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    seen += output.decode()
    assert process.returncode == 0, seen
    assert "Playground stopped" in seen and "Traceback" not in seen

    again, _, url = await _start(env, tmp_path)
    try:
        assert text in await chat_texts(url, person)
    finally:
        again.send_signal(signal.SIGTERM)
        await asyncio.wait_for(again.communicate(), timeout=60)


async def test_the_playground_keeps_an_action_when_killed_right_after_it(tmp_path: Path) -> None:
    env = playground_env(tmp_path)
    process, _, url = await _start(env, tmp_path)
    person, text = await say_help(url)
    process.kill()  # SIGKILL: no clean stop, nothing saved on the way out
    await process.wait()

    again, _, url = await _start(env, tmp_path)
    try:
        assert url.endswith(env["EXPERTBOT_WEB_PORT"])  # the same port at once (TIME-WAIT)
        assert text in await chat_texts(url, person)
    finally:
        again.send_signal(signal.SIGTERM)
        await asyncio.wait_for(again.communicate(), timeout=60)


def test_a_port_left_in_time_wait_by_a_quick_restart_is_taken_again() -> None:
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            served, _ = listener.accept()
            served.close()  # the server closes first: its side waits in TIME-WAIT
            client.recv(1)
    assert pick_port(port) == port
