"""Scheduled crawls: run heartbeats, source leases, schedule state, scheduled runs, the gap ledger.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Nullable: runs recorded earlier never beat; they are judged by their pid alone.
    with op.batch_alter_table("crawl_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", _TS))
    op.create_table(
        "source_leases",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(300)),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer()),
        sa.Column("child_pid", sa.Integer()),
        sa.Column("acquired_at", _TS),
        sa.Column("heartbeat_at", _TS),
    )
    op.create_table(
        "schedule_state",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("cron", sa.String(128), nullable=False),
        sa.Column("accounted_until", _TS, nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "scheduled_runs",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("slot_at", _TS, nullable=False),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer()),
        sa.Column("child_pid", sa.Integer()),
        sa.Column("run_id", _ID, sa.ForeignKey("crawl_runs.id", ondelete="SET NULL")),
        sa.Column("message", sa.Text()),
    )
    op.create_index("ix_scheduled_runs_source", "scheduled_runs", ["source", "id"])
    op.create_table(
        "schedule_gaps",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("first_slot", _TS, nullable=False),
        sa.Column("last_slot", _TS, nullable=False),
        sa.Column("periods", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.Column("covered_by", _ID, sa.ForeignKey("scheduled_runs.id", ondelete="SET NULL")),
        sa.Column("closed_at", _TS),
    )
    op.create_index("ix_schedule_gaps_source", "schedule_gaps", ["source", "first_slot"])


def downgrade() -> None:
    op.drop_index("ix_schedule_gaps_source", "schedule_gaps")
    op.drop_table("schedule_gaps")
    op.drop_index("ix_scheduled_runs_source", "scheduled_runs")
    op.drop_table("scheduled_runs")
    op.drop_table("schedule_state")
    op.drop_table("source_leases")
    with op.batch_alter_table("crawl_runs") as batch:
        batch.drop_column("heartbeat_at")
