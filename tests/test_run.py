"""`expertbot run` without credentials: a sandbox that still does something real and visible."""

from __future__ import annotations

from tests.conftest import Cli


def test_run_without_credentials_loads_the_demo_network_once(cli: Cli) -> None:
    first = cli("run")
    assert first.exit_code == 0, first.output
    assert "sandbox" in first.output and "nothing leaves this machine" in first.output
    assert "loaded the demo network (20 new, 0 updated, 0 unchanged) and 3 events" in first.output
    assert "roma_representative" in first.output
    second = cli("run")
    assert "loaded the demo network" not in second.output
    assert "20 contact(s) in the registry" in second.output
    assert "valga-2027" in cli("events", "list").output
