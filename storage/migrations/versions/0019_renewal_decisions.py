"""renewal decisions: what the regency decided about the next cover period

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 14:20:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "renewal_decisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("expected_start", sa.Date(), nullable=True),
        sa.Column("note_id", sa.Text(), nullable=True),
        sa.Column("note_en", sa.Text(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("set_by", sa.String(length=64), nullable=False),
        sa.Column("set_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_renewal_decisions_period_end", "renewal_decisions", ["period_end"])


def downgrade() -> None:
    op.drop_index("ix_renewal_decisions_period_end", "renewal_decisions")
    op.drop_table("renewal_decisions")
