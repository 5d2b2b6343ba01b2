"""pace places: a bot's overall sending rate counted across processes

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 08:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pace_places",
        sa.Column("channel", sa.String(length=16), primary_key=True),
        sa.Column("place", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("free_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pace_places")
