"""pace places per window: a Telegram group's limit is counted across
processes too, so places are named by window ("telegram", or
"telegram:group:<chat id>"), not by channel

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 20:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pace_places") as batch_op:
        batch_op.alter_column(
            "channel", new_column_name="window_name", existing_type=sa.String(length=16), type_=sa.String(length=64)
        )


def downgrade() -> None:
    # A group's places do not fit the narrower column; they free themselves anyway.
    op.execute("DELETE FROM pace_places WHERE length(window_name) > 16")
    with op.batch_alter_table("pace_places") as batch_op:
        batch_op.alter_column(
            "window_name", new_column_name="channel", existing_type=sa.String(length=64), type_=sa.String(length=16)
        )
