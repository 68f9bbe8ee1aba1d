"""The review app's audit trail: an append-only table whose rows form a SHA-256 chain.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-15
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_REFUSE = "review_audit is append-only"


def upgrade() -> None:
    op.create_table(
        "review_audit",
        sa.Column("id", _ID, primary_key=True, autoincrement=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("user_name", sa.String(64)),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("item_id", sa.BigInteger()),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("prev_hash", name="uq_review_audit_prev_hash"),
    )
    op.create_index("ix_review_audit_item", "review_audit", ["item_id"])
    # Append-only in the database too: an UPDATE or DELETE is refused. Someone who can drop
    # the trigger can still change a row; the hash chain is what shows that.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION review_audit_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_REFUSE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER review_audit_append_only BEFORE UPDATE OR DELETE ON review_audit "
            "FOR EACH ROW EXECUTE FUNCTION review_audit_refuse()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER review_audit_no_{event.lower()} BEFORE {event} ON review_audit "
                f"BEGIN SELECT RAISE(ABORT, '{_REFUSE}'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS review_audit_append_only ON review_audit")
        op.execute("DROP FUNCTION IF EXISTS review_audit_refuse()")
    else:
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_update")
        op.execute("DROP TRIGGER IF EXISTS review_audit_no_delete")
    op.drop_index("ix_review_audit_item", "review_audit")
    op.drop_table("review_audit")
