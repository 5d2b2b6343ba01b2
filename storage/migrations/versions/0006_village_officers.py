"""village officers and the chats linked to them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 20:31:23
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nik_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("nik_masked", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("birth_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("position", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("village", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("district", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nik_hash"),
    )
    op.create_table(
        "officer_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("chat_pk", sa.Integer(), nullable=False),
        sa.Column("linked_at", storage.models.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", storage.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_pk"],
            ["chats.id"],
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"],
            ["officers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("officer_links", schema=None) as batch_op:
        batch_op.create_index("ix_officer_links_chat", ["chat_pk"], unique=False)
        batch_op.create_index(batch_op.f("ix_officer_links_officer_id"), ["officer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("officer_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_officer_links_officer_id"))
        batch_op.drop_index("ix_officer_links_chat")

    op.drop_table("officer_links")
    op.drop_table("officers")
