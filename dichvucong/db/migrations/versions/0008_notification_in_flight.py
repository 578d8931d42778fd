"""notification.in_flight: an outside channel's claim, not yet sent

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

A notice's email or SMS row was written before the send and meant "sent or being
sent": a retry skipped it, so an attempt that timed out mid-send lost the message.
The row now says which: ``in_flight`` while an attempt holds the claim, cleared when
the message went out; a retry takes over a claim older than the attempt timeout.
Existing rows, and rows a worker of the previous release writes during a rolling
deploy (the server default), count as sent, as they did.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.add_column(
            sa.Column("in_flight", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("notification") as batch:
        batch.drop_column("in_flight")
