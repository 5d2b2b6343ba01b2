"""dead letters: a stored message that keeps failing is tried a bounded
number of times, then kept as a dead letter

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 19:40:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pending_inbound", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("last_error", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("dead_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pending_inbound", schema=None) as batch_op:
        batch_op.drop_column("dead_at")
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
