"""The sender's own limiter: an even overall rate, one message a second per chat, 429 pauses."""

from __future__ import annotations

import asyncio
import itertools

from bot.channels.ratelimit import RateLimiter


class VirtualTime:
    """A clock that jumps forward when someone sleeps: limits without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0)
        await asyncio.sleep(0)


async def send_times(limiter: RateLimiter, time: VirtualTime, chats: list[int]) -> list[float]:
    stamps = []
    for chat in chats:
        await limiter.acquire(chat)
        stamps.append(round(time.now, 3))
    return stamps


async def test_messages_are_spaced_evenly_at_the_overall_rate() -> None:
    time = VirtualTime()
    limiter = RateLimiter(25, clock=time.clock, sleep=time.sleep)
    stamps = await send_times(limiter, time, list(range(100)))
    assert stamps[0] == 0 and stamps[-1] == round(99 / 25, 3)
    assert all(b - a >= 1 / 25 - 1e-9 for a, b in itertools.pairwise(stamps))


async def test_one_chat_gets_at_most_one_message_a_second() -> None:
    time = VirtualTime()
    limiter = RateLimiter(25, clock=time.clock, sleep=time.sleep)
    assert await send_times(limiter, time, [7, 7, 7]) == [0.0, 1.0, 2.0]


async def test_other_chats_are_not_held_up_by_a_busy_one() -> None:
    time = VirtualTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    stamps = await send_times(limiter, time, [1, 2, 3])
    assert stamps == [0.0, 0.1, 0.2]


async def test_a_429_pause_holds_every_chat_until_it_is_over() -> None:
    time = VirtualTime()
    limiter = RateLimiter(25, clock=time.clock, sleep=time.sleep)
    await limiter.acquire(1)
    limiter.pause(5)
    await limiter.acquire(2)
    assert time.now >= 5


async def test_concurrent_callers_never_share_a_slot() -> None:
    time = VirtualTime()
    limiter = RateLimiter(20, clock=time.clock, sleep=time.sleep)
    stamps: list[float] = []

    async def one(chat: int) -> None:
        await limiter.acquire(chat)
        stamps.append(time.now)

    await asyncio.gather(*(one(chat) for chat in range(20)))
    assert len(stamps) == 20 and max(stamps) >= 19 / 20 - 1e-9


async def test_a_stalled_loop_releases_at_most_a_small_burst_at_once() -> None:
    time = VirtualTime()
    limiter = RateLimiter(100, chat_interval=0.0, burst=3, clock=time.clock, sleep=time.sleep)
    stamps: list[float] = []

    async def one(chat: int) -> None:
        await limiter.acquire(chat)
        stamps.append(time.now)

    waiting = [asyncio.create_task(one(chat)) for chat in range(60)]
    await asyncio.sleep(0)
    time.now += 0.1  # the event loop froze for 100 ms (a garbage collection, say)
    await asyncio.gather(*waiting)
    first = min(stamps)
    assert sum(1 for s in stamps if s - first < 0.005) <= 3
