"""Worker pool (issue 12): shared rate-limit buckets and the attempts of pool jobs.

- rate_buckets: one row per rate-limit key (a token's, an application key's or a host's),
  named by a SHA-256 fingerprint of the key, never the key: the starts of its latest requests
  and when the next may start (`next_free`, also pushed forward by a Retry-After or a
  platform's back-off), in seconds of the database's clock, shared by every worker of the pool;
- pool_attempts: every attempt of a pool job (procrastinate's job id) to crawl one target of
  a source: which host, process and worker ran it, when it started and ended, and how.

The job queue itself is procrastinate's schema, applied by `vemeter run` on PostgreSQL.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("starts", sa.Text(), nullable=False),
        sa.Column("next_free", sa.Float(), nullable=False),
        sa.Column("blocked_reason", sa.String(255)),
        sa.Column("updated_at", _TS),
    )
    op.create_table(
        "pool_attempts",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("scheduled_run", _ID, sa.ForeignKey("scheduled_runs.id", ondelete="SET NULL")),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("target", sa.String(512), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("host", sa.String(255)),
        sa.Column("pid", sa.Integer()),
        sa.Column("worker_id", sa.BigInteger()),
        sa.Column("child_pid", sa.Integer()),
        sa.Column("started_at", _TS, nullable=False),
        sa.Column("finished_at", _TS),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("message", sa.Text()),
    )
    op.create_index("ix_pool_attempts_job", "pool_attempts", ["job_id", "id"])
    op.create_index("ix_pool_attempts_run", "pool_attempts", ["scheduled_run"])


def downgrade() -> None:
    op.drop_index("ix_pool_attempts_run", "pool_attempts")
    op.drop_index("ix_pool_attempts_job", "pool_attempts")
    op.drop_table("pool_attempts")
    op.drop_table("rate_buckets")
