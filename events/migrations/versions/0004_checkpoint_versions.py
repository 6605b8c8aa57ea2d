"""Checkpoints record the version of the stored format they were written in; projections' checkpoints
are named without one (`scorecard`, `history`). Existing checkpoints are version 1, so a projection
whose format has moved on since is rebuilt by its next catch-up.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

RENAMED = {"scorecard-v1": "scorecard", "history-v1": "history"}


def upgrade() -> None:
    with op.batch_alter_table("checkpoints") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    for old, new in RENAMED.items():
        op.execute(sa.text("UPDATE checkpoints SET name = :new WHERE name = :old").bindparams(old=old, new=new))


def downgrade() -> None:
    # A checkpoint of another version than 1 would be read as version 1: let it start again from zero.
    op.execute("DELETE FROM checkpoints WHERE version <> 1")
    for old, new in RENAMED.items():
        op.execute(sa.text("UPDATE checkpoints SET name = :old WHERE name = :new").bindparams(old=old, new=new))
    with op.batch_alter_table("checkpoints") as batch:
        batch.drop_column("version")
