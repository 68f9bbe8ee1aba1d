"""Review samples, their items (design stratum and inclusion probability) and reviewer labels.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "review_samples",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True)),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_keys", sa.String(128), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("design", sa.JSON(), nullable=False),
    )
    op.create_table(
        "review_items",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "sample_id",
            BigId,
            sa.ForeignKey("review_samples.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("post_pk", BigId, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("cell", sa.String(512), nullable=False),
        sa.Column("stratum", sa.String(16), nullable=False),
        sa.Column("stratum_size", sa.BigInteger(), nullable=False),
        sa.Column("stratum_views", sa.BigInteger()),
        sa.Column("inclusion_probability", sa.Float(), nullable=False),
        sa.Column("draws", sa.Integer(), nullable=False),
        sa.Column("views", sa.BigInteger()),
        sa.Column("double_label", sa.Boolean(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.UniqueConstraint("sample_id", "post_pk", name="uq_review_items_sample_post"),
    )
    op.create_index("ix_review_items_post_pk", "review_items", ["post_pk"])
    op.create_table(
        "review_labels",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "item_id", BigId, sa.ForeignKey("review_items.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("topic", sa.String(32), nullable=False),
        sa.Column("label", sa.String(8), nullable=False),
        sa.Column("note", sa.Text()),
        sa.Column("adjudication", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint(
            "item_id", "reviewer", "topic", "adjudication", name="uq_review_labels"
        ),
    )


def downgrade() -> None:
    for table in ("review_labels", "review_items", "review_samples"):
        op.drop_table(table)
