"""Console sign-in attempts shared by instances

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "console_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("at", bot.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_attempts")),
    )
    op.create_index(op.f("ix_console_attempts_at"), "console_attempts", ["at"], unique=False)
    op.create_index(
        op.f("ix_console_attempts_key_hash"), "console_attempts", ["key_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_console_attempts_key_hash"), table_name="console_attempts")
    op.drop_index(op.f("ix_console_attempts_at"), table_name="console_attempts")
    op.drop_table("console_attempts")
