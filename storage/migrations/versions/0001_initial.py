"""Initial schema: posts, tags, crawl runs, per-target run status and state.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "crawl_runs",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("project", sa.String(64), nullable=False),
        sa.Column("config_hash", sa.String(32), nullable=False),
        sa.Column("vemeter_version", sa.String(32), nullable=False),
        sa.Column("classifiers", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("posts_new", sa.Integer(), nullable=False),
        sa.Column("posts_seen", sa.Integer(), nullable=False),
        sa.Column("posts_flagged", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text()),
    )
    op.create_table(
        "posts",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("post_id", sa.String(96), nullable=False),
        sa.Column("url", sa.String(512)),
        sa.Column("author", sa.String(64)),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("script", sa.String(4)),
        sa.Column("language_probability", sa.Float(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("is_repost", sa.Boolean(), nullable=False),
        sa.Column("has_text", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text()),
        sa.Column("views", sa.BigInteger()),
        sa.Column("likes", sa.BigInteger()),
        sa.Column("reposts", sa.BigInteger()),
        sa.Column("comments", sa.BigInteger()),
        sa.Column("run_id", BigId, sa.ForeignKey("crawl_runs.id"), nullable=False),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "post_id", name="uq_posts_platform_post_id"),
    )
    op.create_index("ix_posts_day", "posts", ["day"])
    op.create_index("ix_posts_source_target", "posts", ["source", "target"])
    op.create_table(
        "tags",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("post_pk", BigId, sa.ForeignKey("posts.id", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("label", sa.String(32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("classifier", sa.String(32), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("evidence", sa.JSON()),
        sa.UniqueConstraint("post_pk", "kind", "label", "classifier", "version", name="uq_tags"),
    )
    op.create_index("ix_tags_label", "tags", ["kind", "label"])
    op.create_index("ix_tags_post_pk", "tags", ["post_pk"])
    op.create_table(
        "run_targets",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column(
            "run_id", BigId, sa.ForeignKey("crawl_runs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("posts_new", sa.Integer(), nullable=False),
        sa.Column("posts_seen", sa.Integer(), nullable=False),
        sa.UniqueConstraint("run_id", "source", "target", name="uq_run_targets"),
    )
    op.create_table(
        "target_state",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("newest_post_id", sa.String(96)),
        sa.Column("newest_published_at", sa.DateTime(timezone=True)),
        sa.Column("last_run_id", BigId, sa.ForeignKey("crawl_runs.id")),
        sa.Column("last_posts", sa.Integer(), nullable=False),
        sa.UniqueConstraint("platform", "source", "target", name="uq_target_state"),
    )


def downgrade() -> None:
    for table in ("target_state", "run_targets", "tags", "posts", "crawl_runs"):
        op.drop_table(table)
