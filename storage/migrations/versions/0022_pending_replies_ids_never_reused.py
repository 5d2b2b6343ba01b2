"""pending replies' ids never reused: a process knows the replies it holds
by id and forgets one only once its DELETE has committed, so SQLite must not
give that id to a new reply meanwhile (AUTOINCREMENT; PostgreSQL's sequence
never reuses one)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04 22:30:00
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _recreate(autoincrement=True)


def downgrade() -> None:
    _recreate(autoincrement=False)


def _recreate(*, autoincrement: bool) -> None:
    """SQLite cannot alter a key's AUTOINCREMENT: the table is copied into a
    new one, rows, ids and index included."""
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "pending_replies", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass
