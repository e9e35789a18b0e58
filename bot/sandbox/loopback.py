"""Serve an ASGI app on 127.0.0.1 inside the running event loop (for tests and the playground)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import uvicorn


class _Server(uvicorn.Server):
    """uvicorn that leaves signals to its host, says when it listens and stops at once."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()
        self.exit = asyncio.Event()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Ctrl-C belongs to the test runner or the application, not to this embedded server.
        yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.ready.set()

    async def main_loop(self) -> None:
        # uvicorn's own loop wakes every 0.1 s to look at should_exit; an event stops at once.
        await self.on_tick(0)
        await self.exit.wait()


class LoopbackServer:
    """An ASGI app listening on a free loopback port until stopped."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        """Return the server's root URL, e.g. http://127.0.0.1:54321."""
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Bind the port and start serving in the running loop."""
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say TCP, and
        # without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,  # keep the host's logging configuration as it is
            log_level="warning",
            access_log=False,  # request lines carry the bot token
            lifespan="off",
            proxy_headers=False,
            timeout_graceful_shutdown=2,
            # uvicorn closes idle connections after 5 s; a client reusing one at that moment
            # gets a ReadError. Telegram's servers keep them far longer.
            timeout_keep_alive=120,
        )
        self._server = _Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        ready = asyncio.create_task(self._server.ready.wait())
        await asyncio.wait({ready, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not ready.done():
            ready.cancel()
            sock.close()
            self._task.result()  # re-raises why uvicorn stopped
            raise RuntimeError("the loopback server stopped while starting")

    async def stop(self) -> None:
        """Stop serving and wait for open requests to finish."""
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        self._server.exit.set()
        await self._task
        self._server = self._task = None

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
