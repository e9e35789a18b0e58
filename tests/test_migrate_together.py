"""Two instances that start at once on one PostgreSQL migrate it one after the other."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

pytestmark = pytest.mark.postgres


async def test_two_db_upgrades_at_once_on_an_empty_postgresql_both_succeed(
    postgres_empty: str,
) -> None:
    env = {**os.environ, "EXPERTBOT_DATABASE_URL": postgres_empty}

    async def upgrade() -> tuple[int, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "db",
            "upgrade",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        return process.returncode or 0, output.decode()

    results = await asyncio.gather(upgrade(), upgrade())
    assert [code for code, _ in results] == [0, 0], results
