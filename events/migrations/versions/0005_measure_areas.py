"""A measure version records what the measure is in the areas that set their own baseline period or
priority (MeasureSetForArea): `areas`, JSON {area: {baseline_period, priority}}, '{}' for none. The
scorecard's stored format is version 3, so its next catch-up folds the log again and fills it.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("measure_versions") as batch:
        batch.add_column(sa.Column("areas", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    # A version-3 scorecard checkpoint would be read with rows lacking areas: refold from zero.
    op.execute("DELETE FROM checkpoints WHERE name = 'scorecard'")
    with op.batch_alter_table("measure_versions") as batch:
        batch.drop_column("areas")
