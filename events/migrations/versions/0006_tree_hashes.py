"""The log's Merkle tree: the hashes of its complete subtrees at levels 4, 8, 12, … (events/tree.py), built here
from the events already in the log, so the tree covers the whole log from this revision on.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tree_hashes",
        # events.merkle.stored_index(level, index): the order appends write them in.
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
    )
    from events.engines import dialect_for
    from events.tree import StoredTree

    bind = op.get_bind()
    cursor = bind.connection.driver_connection.cursor()  # inside the upgrade's transaction
    try:
        StoredTree(dialect_for(bind.engine).sql).rebuild(cursor)
    finally:
        cursor.close()


def downgrade() -> None:
    op.drop_table("tree_hashes")
