"""citizen_account.vneid_verified_at: when VNeID proved the account's CCCD

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

A sign-in with VNeID enters an existing account only if VNeID created it or its
owner linked it while signed in with the password: a CCCD typed at registration
proves nothing.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dichvucong.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_account") as batch:
        batch.add_column(
            sa.Column(
                "vneid_verified_at", dichvucong.db.types.AwareDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("citizen_account") as batch:
        batch.drop_column("vneid_verified_at")
