"""dossier.reception_due_at: the reception limit of a dossier waiting for reception

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

A dossier must be received, refused or sent back for a supplement within the reception
limit (DVC_RECEPTION_LIMIT_HOURS working hours). The workflow recorded a
``reception_late`` event when it passed, but nothing the officials' inbox reads said
so: the row looked like any other. Workers of the previous release leave the column
empty (NULL) during a rolling deploy: those rows show as before until their next
transition.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dichvucong.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossier") as batch:
        batch.add_column(
            sa.Column(
                "reception_due_at",
                dichvucong.db.types.AwareDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("dossier") as batch:
        batch.drop_column("reception_due_at")
