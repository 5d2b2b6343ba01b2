"""outbox notices: a new report to the operators, a status change to a
reporter, beside the reminders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 20:25:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False, server_default="reminder")
        )
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch_op.alter_column("participant_id", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("cover_end", existing_type=sa.Date(), nullable=True)
        batch_op.alter_column("stage", existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column("stale_at", existing_type=storage.models.UTCDateTime(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM outbox WHERE kind != 'reminder'")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("stale_at", existing_type=storage.models.UTCDateTime(), nullable=False)
        batch_op.alter_column("stage", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("cover_end", existing_type=sa.Date(), nullable=False)
        batch_op.alter_column("participant_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("body")
        batch_op.drop_column("kind")
