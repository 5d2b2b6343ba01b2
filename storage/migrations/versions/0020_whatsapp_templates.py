"""whatsapp templates: the shipped templates' review status at Meta

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 14:40:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("template_id", sa.String(length=64), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("name", "language", name="uq_whatsapp_templates_name_language"),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_templates")
