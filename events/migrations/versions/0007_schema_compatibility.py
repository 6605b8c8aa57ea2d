"""Which software the schema works with: one row, the head revision and the oldest software revision that
still works with it, written by every upgrade (migrations/env.py) from the head migration's `compatible_from`.
A process whose software is older than the schema reads it to stay ready during a rolling upgrade
(events.database.require_current_schema).

Every migration from here on says in `compatible_from` the oldest software revision that works with the
schema it leaves: an expand step (a new table, a nullable column, an index) keeps the previous one's value or
names the revision before it; a contract step (dropping or renaming what older software reads or writes)
leaves it out, so it defaults to its own revision and older processes become unready at once.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None
# A new table no older code reads: software at 0006 works with it (though, lacking this table's reader, it
# cannot tell and refuses; from 0007 on, software can).
compatible_from = "0006"


def upgrade() -> None:
    op.create_table(
        "schema_compatibility",
        sa.Column("revision", sa.Text(), primary_key=True),
        sa.Column("compatible_from", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("schema_compatibility")
