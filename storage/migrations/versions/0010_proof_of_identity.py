"""proof of identity: chats proven to be a participant's own, and an audit
table that knows the proof each check and disclosure had

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 19:00:00
"""

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("lookup_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nik_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("proof", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("officer_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_lookup_attempts_officer_id", "officers", ["officer_id"], ["id"])
        batch_op.create_index("ix_lookup_attempts_nik_at", ["nik_hash", "at"])
        batch_op.create_index("ix_lookup_attempts_participant_at", ["participant_id", "at"])
    op.create_table(
        "owner_proofs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chat_pk", sa.Integer(), sa.ForeignKey("chats.id"), nullable=False),
        sa.Column("participant_id", sa.Integer(), sa.ForeignKey("participants.id"), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("proven_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("chat_pk", "participant_id", name="uq_owner_proofs_chat_participant"),
    )
    op.create_index("ix_owner_proofs_chat_pk", "owner_proofs", ["chat_pk"])
    op.create_index("ix_owner_proofs_participant_id", "owner_proofs", ["participant_id"])


def downgrade() -> None:
    op.drop_table("owner_proofs")
    with op.batch_alter_table("lookup_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_lookup_attempts_participant_at")
        batch_op.drop_index("ix_lookup_attempts_nik_at")
        batch_op.drop_constraint("fk_lookup_attempts_officer_id", type_="foreignkey")
        batch_op.drop_column("officer_id")
        batch_op.drop_column("proof")
        batch_op.drop_column("nik_hash")
