"""outbox without foreign keys: PostgreSQL checks each with a query a row,
45% of planning a million people's five stages; nothing deletes a chat or a
participant, and every outbox row is written by a statement that takes them
from their tables

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

REFERENCES = {"chat_pk": "chats", "participant_id": "participants"}
# SQLite's foreign keys have no names: the copy SQLite needs names them thus.
UNNAMED = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}


def upgrade() -> None:
    named = {key["constrained_columns"][0]: key["name"] for key in sa.inspect(op.get_bind()).get_foreign_keys("outbox")}
    with op.batch_alter_table("outbox", naming_convention=UNNAMED) as batch_op:
        for column, table in REFERENCES.items():
            batch_op.drop_constraint(named.get(column) or f"fk_outbox_{column}_{table}", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        for column, table in REFERENCES.items():
            batch_op.create_foreign_key(f"outbox_{column}_fkey", table, [column], ["id"])
