"""Review load (issue 13): items marked once K reviewers labelled them, and the queue's index.

The claim of the next item walks a sample's items in review order; without a mark it passes
over every item already done, each checked against its leases and labels, so a claim slowed
down as the sample was worked through. `filled` is set by the queue when an item's K-th
reviewer labels it (here for items labelled before), and a partial index
(sample, position) over the items not filled lets the claim start at the first item not yet
done. The audit trail gets indexes by user and time and by time: a reviewer's exposure minutes
(review.wellbeing) are read from their events, and the lead's table from the day's.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "review_items",
        sa.Column("filled", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    items = sa.table(
        "review_items",
        sa.column("id", sa.Integer()),
        sa.column("double_label", sa.Boolean()),
        sa.column("filled", sa.Boolean()),
    )
    labels = sa.table(
        "review_labels",
        sa.column("item_id", sa.Integer()),
        sa.column("reviewer", sa.String()),
        sa.column("adjudication", sa.Boolean()),
    )
    labellers = (
        sa.select(sa.func.count(sa.distinct(labels.c.reviewer)))
        .where(labels.c.item_id == items.c.id, labels.c.adjudication.is_(False))
        .scalar_subquery()
    )
    k = sa.case((items.c.double_label.is_(True), 2), else_=1)
    op.execute(items.update().where(labellers >= k).values(filled=True))
    # Partial: only the items still open, which is what a claim walks (the query's
    # "filled = false" is this very predicate on both databases).
    op.create_index(
        "ix_review_items_open",
        "review_items",
        ["sample_id", "position"],
        postgresql_where=sa.text("NOT filled"),
        sqlite_where=sa.text("filled = 0"),
    )
    op.create_index("ix_review_audit_user_at", "review_audit", ["user_name", "at"])
    op.create_index("ix_review_audit_at", "review_audit", ["at"])


def downgrade() -> None:
    op.drop_index("ix_review_audit_at", table_name="review_audit")
    op.drop_index("ix_review_audit_user_at", table_name="review_audit")
    op.drop_index("ix_review_items_open", table_name="review_items")
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy would drop review_items, and with it,
    # through ON DELETE CASCADE, every label and lease.
    op.drop_column("review_items", "filled")
