"""Posts name the language classifier that tagged them, instead of one language tag row each.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("language_classifier", sa.String(48)))
    # Earlier rows carried the classifier in a language tag; move it onto the post.
    op.execute(
        "UPDATE posts SET language_classifier = (SELECT t.classifier || '@' || t.version FROM tags t "
        "WHERE t.post_pk = posts.id AND t.kind = 'language' LIMIT 1)"
    )
    op.execute("DELETE FROM tags WHERE kind = 'language'")


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("language_classifier")
