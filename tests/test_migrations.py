"""The migrations build the schema the models describe, on SQLite and PostgreSQL, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.db import migrate
from bot.db.base import Base
from bot.db.models import __all__ as _models  # noqa: F401
from tests.conftest import in_thread

TABLES = {
    "contacts",
    "contact_tags",
    "telegram_links",
    "invite_tokens",
    "access_requests",
    "consent_records",
    "events",
    "places",
    "agenda_items",
    "event_documents",
    "invitations",
    "invitation_answers",
    "surveys",
    "questions",
    "survey_recipients",
    "survey_responses",
    "answers",
    "recommendations",
    "recommendation_owners",
    "recommendation_updates",
    "outbox",
    "database_marks",
    "console_logins",
    "console_sessions",
    "console_attempts",
    "audit_log",
    "rate_budget",
    "rate_chat_slots",
    "telegram_chat_state",
}


def _inspect(url: str, work: Any) -> Any:
    """Run a synchronous inspection over the async driver."""
    from bot.db.session import make_engine

    async def run() -> Any:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(work)
        finally:
            await engine.dispose()

    return in_thread(run)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def _drift(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "render_as_batch": True}
    )
    return list(compare_metadata(context, Base.metadata))


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("postgres_empty"))


def test_upgrade_downgrade_upgrade_leaves_the_full_schema(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _inspect(empty_url, _tables) == TABLES
    migrate.downgrade(empty_url, "base")
    assert _inspect(empty_url, _tables) == set()
    migrate.upgrade(empty_url)
    assert _inspect(empty_url, _tables) == TABLES


def test_models_and_migrations_do_not_drift(empty_url: str) -> None:
    migrate.upgrade(empty_url)
    assert _inspect(empty_url, _drift) == []


def test_constraints_are_named_by_the_convention(db_url: str) -> None:
    def names(connection: Connection) -> list[str]:
        found = []
        inspector = inspect(connection)
        for table in TABLES:
            found += [c["name"] for c in inspector.get_check_constraints(table)]
            found += [c["name"] for c in inspector.get_unique_constraints(table)]
            found += [c["name"] for c in inspector.get_foreign_keys(table)]
        return [n for n in found if n]

    found = _inspect(db_url, names)
    assert "ck_contacts_special_category_consent" in found
    assert "uq_outbox_dedupe_key" in found
    assert all(n.startswith(("ck_", "uq_", "fk_")) for n in found)


def test_the_dispatcher_query_has_an_index(db_url: str) -> None:
    def indexes(connection: Connection) -> set[str]:
        return {i["name"] for i in inspect(connection).get_indexes("outbox") if i["name"]}

    assert "ix_outbox_status_next_attempt_at" in _inspect(db_url, indexes)


def test_check_constraints_match_the_models(db_url: str) -> None:
    """Alembic's drift check ignores CHECK constraints; compare their names and words here."""
    import re

    from sqlalchemy import CheckConstraint

    def reflected(connection: Connection) -> dict[str, str]:
        inspector = inspect(connection)
        return {
            str(c["name"]): str(c["sqltext"])
            for table in TABLES
            for c in inspector.get_check_constraints(table)
        }

    found = _inspect(db_url, reflected)
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if not isinstance(constraint, CheckConstraint):
                continue
            name = str(constraint.name)
            assert name in found, f"{name} is in the models but not in the database"
            for word in re.findall(r"'(\w+)'", str(constraint.sqltext)):
                assert f"'{word}'" in found[name], f"{name} lacks {word!r} in the database"
