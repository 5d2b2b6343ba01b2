"""pending replies: each reply is written with the step that said it and
deleted once sent, so a crash loses none

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:10:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pending_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_pending_replies_channel_due", "pending_replies", ["channel", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_replies_channel_due", table_name="pending_replies")
    op.drop_table("pending_replies")
