"""helpdesk: threads between a person and the console's operators

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 11:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "helpdesk_threads",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_pk", sa.Integer(), sa.ForeignKey("chats.id"), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("waiting_since", UTCDateTime(), nullable=True),
        sa.Column("taken_by", sa.String(length=64), nullable=True),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.Column("told_after_hours_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
    )
    op.create_index("ix_helpdesk_threads_chat_pk", "helpdesk_threads", ["chat_pk"])
    op.create_index("ix_helpdesk_threads_state", "helpdesk_threads", ["state", "waiting_since"])
    op.create_table(
        "helpdesk_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("thread_id", sa.Integer(), sa.ForeignKey("helpdesk_threads.id"), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("awaiting_person", sa.Boolean(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_helpdesk_messages_thread_id", "helpdesk_messages", ["thread_id"])


def downgrade() -> None:
    op.drop_table("helpdesk_messages")
    op.drop_table("helpdesk_threads")
