"""Posts record whether they were edited, the public channel they were forwarded from, and promo.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable without a default: rows stored earlier were never asked, so they stay unknown.
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("edited", sa.Boolean()))
        batch.add_column(sa.Column("forwarded_from", sa.String(128)))
        batch.add_column(sa.Column("is_promo", sa.Boolean()))


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        for column in ("is_promo", "forwarded_from", "edited"):
            batch.drop_column(column)
