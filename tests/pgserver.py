"""A throwaway PostgreSQL server on loopback for the test run.

Uses EXPERTBOT_TEST_POSTGRES_URL when set (a server someone else runs); otherwise starts
a private cluster from Debian's binaries in a temporary folder, and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ENV_URL = "EXPERTBOT_TEST_POSTGRES_URL"


class Unavailable(Exception):
    """No PostgreSQL server can be had on this machine."""


def _binaries() -> Path:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        found = sorted(glob.glob(pattern), reverse=True)
        for folder in found:
            if (Path(folder) / "initdb").exists():
                return Path(folder)
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise Unavailable(
        "PostgreSQL is not installed (Debian: apt-get install postgresql); "
        f"or set {ENV_URL} to a server's URL"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TempPostgres:
    """Start and stop a private cluster; `url` reaches its `postgres` database."""

    def __init__(self) -> None:
        self.bin = _binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="expertbot-pg-"))
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; Debian's package creates this user.
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no 'postgres' user") from None
            self.user = "postgres"
            shutil.chown(self.dir, user="postgres")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise Unavailable(f"{args[0]} failed: {result.stderr.strip() or result.stdout}")

    def start(self) -> str:
        data = str(self.dir / "data")
        self._run(
            "initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--locale=C.UTF-8",
        )
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", data, "-o", options, "-l", str(self.dir / "log"), "-w", "start")
        return self.url

    def stop(self) -> None:
        with contextlib.suppress(Unavailable):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
