"""The review app: accounts, server-side sessions, login attempts, item leases and skips.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-14
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "review_users",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("name", name="uq_review_users_name"),
        sa.CheckConstraint("role IN ('reviewer', 'lead', 'admin')", name="ck_review_users_role"),
    )
    op.create_table(
        "review_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "user_id", _ID, sa.ForeignKey("review_users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("seen_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_review_sessions_user", "review_sessions", ["user_id"])
    op.create_table(
        "review_login_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_review_login_attempts_name", "review_login_attempts", ["name", "at"])
    op.create_index("ix_review_login_attempts_address", "review_login_attempts", ["address", "at"])
    op.create_table(
        "review_leases",
        sa.Column(
            "item_id", _ID, sa.ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("slot", sa.Integer(), primary_key=True),
        sa.Column(
            "user_id", _ID, sa.ForeignKey("review_users.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("reviewer", sa.String(64), nullable=False),
        sa.Column("leased_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("done_at", _TS),
        sa.UniqueConstraint("item_id", "user_id", name="uq_review_leases_item_user"),
        sa.CheckConstraint("slot >= 0 AND slot < 2", name="ck_review_leases_slot"),
    )
    op.create_index("ix_review_leases_user", "review_leases", ["user_id", "done_at"])
    op.create_table(
        "review_skips",
        sa.Column(
            "user_id", _ID, sa.ForeignKey("review_users.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column(
            "item_id", _ID, sa.ForeignKey("review_items.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("skipped_at", _TS, nullable=False),
    )
    # The queue asks "has this reviewer labelled this item?" for every candidate.
    op.create_index("ix_review_labels_item_reviewer", "review_labels", ["item_id", "reviewer"])
    op.create_index("ix_review_items_sample_position", "review_items", ["sample_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_review_items_sample_position", "review_items")
    op.drop_index("ix_review_labels_item_reviewer", "review_labels")
    op.drop_table("review_skips")
    op.drop_index("ix_review_leases_user", "review_leases")
    op.drop_table("review_leases")
    op.drop_index("ix_review_login_attempts_address", "review_login_attempts")
    op.drop_index("ix_review_login_attempts_name", "review_login_attempts")
    op.drop_table("review_login_attempts")
    op.drop_index("ix_review_sessions_user", "review_sessions")
    op.drop_table("review_sessions")
    op.drop_table("review_users")
