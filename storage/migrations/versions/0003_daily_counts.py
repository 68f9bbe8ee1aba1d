"""Daily counts per platform × source × target × language × topic × day, kept as posts are stored.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("posts", sa.BigInteger(), nullable=False),
        sa.Column("flagged", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "platform", "source", "target", "language", "topic", "day", name="pk_daily_counts"
        ),
    )
    op.create_index("ix_daily_counts_day", "daily_counts", ["day"])
    # Posts stored before this revision: one '*' row per post, and one row per topic or '(none)'.
    op.execute(
        "INSERT INTO daily_counts (platform, source, target, language, topic, day, posts, flagged) "
        "SELECT platform, source, target, language, '*', day, COUNT(*), "
        "SUM(CASE WHEN flagged THEN 1 ELSE 0 END) FROM posts "
        "GROUP BY platform, source, target, language, day"
    )
    op.execute(
        "INSERT INTO daily_counts (platform, source, target, language, topic, day, posts, flagged) "
        "SELECT p.platform, p.source, p.target, p.language, COALESCE(t.label, '(none)'), p.day, "
        "COUNT(DISTINCT p.id), COUNT(DISTINCT CASE WHEN p.flagged THEN p.id END) FROM posts p "
        "LEFT JOIN tags t ON t.post_pk = p.id AND t.kind = 'topic' "
        "GROUP BY p.platform, p.source, p.target, p.language, COALESCE(t.label, '(none)'), p.day"
    )


def downgrade() -> None:
    op.drop_table("daily_counts")
