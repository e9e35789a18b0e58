"""Alembic environment: async engines, batch mode for SQLite, models as the target."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.db.base import Base
from bot.db.models import __all__ as _registered  # noqa: F401  (registers every table)
from bot.db.session import make_engine

target_metadata = Base.metadata
config = context.config
# Instances that start together (compose, two servers) migrate one after the other: the
# second waits here, then finds the schema current. Any fixed number works; this is ours.
MIGRATION_LOCK = 7_263_500_193


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        literal_binds=connection is None,
    )


def _run_sync(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Held to the end of the migration's transaction, before Alembic reads the version.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_sync)
            await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not set"
    if context.is_offline_mode():
        _configure(url=url)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_sync(connection)
    else:
        asyncio.run(_run_async(url))


main()
