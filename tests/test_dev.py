"""`python3 dev.py run ...` passes what follows to `expertbot` the way the README writes it."""

from __future__ import annotations

import dev


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
