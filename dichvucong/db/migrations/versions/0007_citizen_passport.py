"""citizen_account.passport_number: the passport a citizen may add to the account

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

A dossier copies it into ``dossier.applicant_passport``, which the public lookup by
passport number reads (the column existed since 0001; nothing filled it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("citizen_account") as batch:
        batch.add_column(sa.Column(
                "passport_number", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True
            ))
        batch.create_index(
            batch.f("ix_citizen_account_passport_number"), ["passport_number"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("citizen_account") as batch:
        batch.drop_index(batch.f("ix_citizen_account_passport_number"))
        batch.drop_column("passport_number")
