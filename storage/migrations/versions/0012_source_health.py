"""Source health (issue 12): per-target yield signals, likely breaks, disabled sources, alerts,
and the record of privacy actions.

- run_targets: `observed` (posts the platform showed), `pages` (answers read for the target)
  and `signal` (what the spider knew: `token-rejected`), so a target that answered but matched
  nothing is told apart from a quiet one;
- target_problems: a likely break of a target, from the run it was first seen to the run that
  ended it (one alert per row);
- source_health: a source switched off because its credentials were rejected, with a
  fingerprint of the credentials then set (a changed token switches it on again);
- alert_events: every alert once, by a unique key (a persisting break alerts once);
- privacy_actions: what `vemeter forget` removed, when and how much (never whose).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("run_targets") as batch:
        batch.add_column(sa.Column("observed", sa.Integer()))
        batch.add_column(sa.Column("pages", sa.Integer()))
        batch.add_column(sa.Column("signal", sa.String(32)))
    op.create_index("ix_run_targets_source_target", "run_targets", ["source", "target", "run_id"])
    op.create_table(
        "target_problems",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("target", sa.String(128), nullable=False),
        sa.Column("problem", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("first_run", sa.BigInteger(), nullable=False),
        sa.Column("last_run", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", _TS, nullable=False),
        sa.Column("resolved_at", _TS),
    )
    op.create_index("ix_target_problems_target", "target_problems", ["source", "target"])
    op.create_table(
        "source_health",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("disabled_reason", sa.Text(), nullable=False),
        sa.Column("disabled_at", _TS, nullable=False),
        sa.Column("run_id", sa.BigInteger()),
        sa.Column("credentials", sa.String(64)),
    )
    op.create_table(
        "alert_events",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("source", sa.String(64)),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("delivered", sa.String(255)),
        sa.UniqueConstraint("key", name="uq_alert_events_key"),
    )
    op.create_table(
        "privacy_actions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("privacy_actions")
    op.drop_table("alert_events")
    op.drop_table("source_health")
    op.drop_index("ix_target_problems_target", table_name="target_problems")
    op.drop_table("target_problems")
    op.drop_index("ix_run_targets_source_target", table_name="run_targets")
    with op.batch_alter_table("run_targets") as batch:
        batch.drop_column("signal")
        batch.drop_column("pages")
        batch.drop_column("observed")
