"""The sender's own limiter: an even overall rate, one message a second per chat, 429 pauses."""

from __future__ import annotations

import asyncio
import heapq
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


class SteppedTime:
    """A clock that moves only when the test says; sleepers wake as it passes their time."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(seconds, 0.0), next(self._order), future))
        await future

    async def advance_to(self, moment: float) -> None:
        """Move the clock to `moment`, waking each sleeper at its own time on the way."""
        await settle()
        while self._sleepers and self._sleepers[0][0] <= moment:
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():
                future.set_result(None)
            await settle()
        self.now = moment
        await settle()


async def settle() -> None:
    """Let every task that can run now run until it waits again."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_a_reply_takes_the_next_free_slot_ahead_of_a_saturated_bulk_lane() -> None:
    time = SteppedTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)  # a slot every 0.1 s
    granted: dict[str, float] = {}

    async def one(name: str, chat: int, reply: bool = False) -> None:
        await limiter.acquire(chat, reply=reply)
        granted[name] = round(time.now, 6)

    # What the dispatcher does: batch × workers sends waiting on the limiter at once.
    bulk = [asyncio.create_task(one(f"bulk{n}", 1000 + n)) for n in range(96)]
    await time.advance_to(0.25)
    assert sorted(granted.values()) == [0.0, 0.1, 0.2]
    reply = asyncio.create_task(one("reply", 7, reply=True))
    await time.advance_to(0.45)
    # 0.3 was booked by the bulk message already waiting for it; the reply gets the next.
    assert granted["reply"] == 0.4
    assert granted["bulk3"] == 0.3 and "bulk4" not in granted
    await time.advance_to(10.0)
    await asyncio.gather(reply, *bulk)
    stamps = sorted(granted.values())
    assert all(b - a >= 0.1 - 1e-9 for a, b in itertools.pairwise(stamps))
    in_order = [granted[f"bulk{n}"] for n in range(96)]
    assert in_order == sorted(in_order)  # the bulk lane stays first come, first served


async def test_a_reply_still_keeps_its_chat_to_one_message_a_second() -> None:
    time = SteppedTime()
    limiter = RateLimiter(10, chat_interval=1.05, clock=time.clock, sleep=time.sleep)
    granted: list[tuple[str, float]] = []

    async def one(name: str, chat: int, reply: bool = False) -> None:
        await limiter.acquire(chat, reply=reply)
        granted.append((name, round(time.now, 6)))

    bulk = [asyncio.create_task(one(f"bulk{n}", n)) for n in range(30)]
    await time.advance_to(0.05)  # bulk0 went to chat 0 at 0.0
    reply = asyncio.create_task(one("reply", 0, reply=True))
    await time.advance_to(1.55)
    # Chat 0 is free again at 1.05; the slot at 1.1 was booked at 1.0, the reply has 1.2.
    assert ("reply", 1.2) in granted
    assert [at for _, at in granted] == [round(n / 10, 6) for n in range(16)]
    await time.advance_to(5.0)
    await asyncio.gather(reply, *bulk)


async def test_a_cancelled_caller_gives_its_place_to_the_next() -> None:
    time = SteppedTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    granted: list[int] = []

    async def one(chat: int) -> None:
        await limiter.acquire(chat)
        granted.append(chat)

    tasks = [asyncio.create_task(one(chat)) for chat in range(5)]
    await time.advance_to(0.05)
    tasks[1].cancel()  # holds the turn, sleeping until its slot at 0.1
    tasks[2].cancel()  # waits in the queue
    await time.advance_to(1.0)
    await asyncio.gather(*tasks, return_exceptions=True)
    assert granted == [0, 3, 4]
