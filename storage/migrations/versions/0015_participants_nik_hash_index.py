"""participants: the NIK hash's uniqueness as a unique index rather than a
table constraint, so a first import can load the rows and build it after

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 08:10:00
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# SQLite keeps the constraint unnamed; batch mode names it by this convention to drop it.
SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table("participants", naming_convention=SQLITE_NAMES) as batch_op:
            batch_op.drop_constraint("uq_participants_nik_hash", type_="unique")
    else:
        op.drop_constraint("participants_nik_hash_key", "participants", type_="unique")
    op.create_index("ux_participants_nik_hash", "participants", ["nik_hash"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_participants_nik_hash", table_name="participants")
    if op.get_context().dialect.name == "sqlite":
        with op.batch_alter_table("participants") as batch_op:
            batch_op.create_unique_constraint(None, ["nik_hash"])
    else:
        op.create_unique_constraint("participants_nik_hash_key", "participants", ["nik_hash"])
