"""roster imports: each import recorded as it starts and finishes, so one
stopped halfway (a mixed roster) is known

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 19:50:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("roster_imports")
