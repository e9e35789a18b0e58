"""event sequence, waiting list

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:08:10.998813
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD = ("invited", "accepted", "declined", "not_sure", "attended", "no_show")
NEW = ("invited", "accepted", "waitlisted", "declined", "not_sure", "attended", "no_show")


def _statuses(table: str, values: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{v}'" for v in values)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
        batch_op.create_check_constraint(op.f(f"ck_{table}_status"), f"status IN ({listed})")


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))
    for table in ("invitations", "invitation_answers"):
        _statuses(table, NEW)


def downgrade() -> None:
    op.execute("UPDATE invitations SET status = 'invited' WHERE status = 'waitlisted'")
    op.execute("UPDATE invitation_answers SET status = 'invited' WHERE status = 'waitlisted'")
    for table in ("invitations", "invitation_answers"):
        _statuses(table, OLD)
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("sequence")
