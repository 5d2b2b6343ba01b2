"""console accounts and their audit trail; reports found by the person
they are about (the console counts them per kecamatan)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_accounts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=64), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("districts", sa.JSON(), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "console_audit",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.Column("at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_console_audit_at", "console_audit", ["at"])
    op.create_index("ix_incidents_participant", "incidents", ["participant_id"])


def downgrade() -> None:
    op.drop_index("ix_incidents_participant", table_name="incidents")
    op.drop_index("ix_console_audit_at", table_name="console_audit")
    op.drop_table("console_audit")
    op.drop_table("console_accounts")
