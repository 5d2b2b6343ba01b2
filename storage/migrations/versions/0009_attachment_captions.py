"""attachment captions: what people write on a photo or document is kept with it

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident_attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("caption", sa.String(length=1000), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("incident_attachments", schema=None) as batch_op:
        batch_op.drop_column("caption")
