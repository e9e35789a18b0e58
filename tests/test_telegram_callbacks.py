"""Every button press is answered, so the phone's spinner stops: old, forged or broken data too."""

# ruff: noqa: F811  (the `network` fixture is imported from tests.test_onboarding)
from __future__ import annotations

import pytest

from bot.sandbox.telegram_state import ChatMessage
from tests.test_onboarding import Network, ilze, network  # noqa: F401  (the fixture)

GARBAGE = [
    "zzz",
    "",  # no client sends it, and one handler fails on it: still answered
    "rsvp:abc:yes",
    "rsvp:99999:yes",
    "rec:99999:done",
    "sv:99999:0:a:1",
    "survey:99999:start",
    "access:approve:99999",
    "lang:xx",
    "privacy:everything",
    "bc:send",
    "ä" * 30,
]


@pytest.mark.parametrize("data", GARBAGE)
async def test_a_press_with_malformed_or_stale_data_is_answered(
    network: Network, data: str
) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/language")
    shown = await user.wait_for_message(lambda m: bool(m.reply_markup))
    answer = await user.wait_for_answer(await user.press_data(shown, data))
    assert answer is not None
    if data in ("zzz", "rsvp:abc:yes", "lang:xx", "privacy:everything", "ä" * 30):
        assert answer.get("text") == "Šī poga vairs nedarbojas."


def _labels(message: ChatMessage) -> list[str]:
    return [b["text"] for row in (message.reply_markup or {})["inline_keyboard"] for b in row]


async def test_language_ticks_the_current_choice_and_the_tick_follows_a_change(
    network: Network,
) -> None:
    user = ilze(network.emulator)
    await network.joined(user, "ilze.kalnina@jelgava.example")
    await user.send("/language")
    choice = await user.wait_for_message(lambda m: bool(m.reply_markup))
    assert _labels(choice) == ["✓ Latviešu", "Eesti", "English"]
    await user.press(choice, "Eesti")
    await user.wait_for(lambda: "eesti keeles" in (choice.text or ""))
    await user.send("/language")
    again = await user.wait_for_message(lambda m: bool(m.reply_markup))
    assert _labels(again) == ["Latviešu", "✓ Eesti", "English"]
