"""Projections: the scorecard (pages of line versions, snapshots, measure versions) and history (figures,
paragraphs, editions, approvals). Ordinary tables: a projection may update, clear and rebuild them.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _position(name: str = "position", primary_key: bool = False) -> sa.Column:
    return sa.Column(
        name,
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=primary_key,
        autoincrement=False,
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "scorecard_lines",
        sa.Column("line_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
    )
    op.create_table(
        "scorecard_pages",
        _position("last_position", primary_key=True),
        sa.Column("first_position", sa.BigInteger(), nullable=False),
        sa.Column("versions", sa.Text(), nullable=False),
    )
    op.create_table(
        "scorecard_snapshots",
        _position(primary_key=True),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
    )
    op.create_table(
        "measure_versions",
        _position(primary_key=True),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("polarity", sa.Text(), nullable=False),
        sa.Column("baseline_period", sa.Text(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
    )
    op.create_table(
        "figure_versions",
        _position(primary_key=True),
        sa.Column("measure", sa.Text(), nullable=False),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("value", sa.Text()),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("source", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
    )
    op.create_index("figure_versions_by_figure", "figure_versions", ["measure", "area", "period", "position"])
    op.create_table(
        "paragraph_versions",
        _position(primary_key=True),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("section", sa.Text()),
        sa.Column("heading", sa.Text()),
        sa.Column("text", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
    )
    op.create_index("paragraph_versions_by_paragraph", "paragraph_versions", ["edition", "number", "position"])
    op.create_table(
        "editions",
        sa.Column("edition", sa.Text(), primary_key=True),
        sa.Column("area", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        _position("opened_position"),
    )
    op.create_table(
        "edition_approvals",
        _position(primary_key=True),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("frozen_position", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    # The projections' checkpoints go too, so an upgrade again rebuilds them from zero.
    op.execute("DELETE FROM checkpoints WHERE name IN ('scorecard-v1', 'history-v1')")
    for table in (
        "edition_approvals",
        "editions",
        "paragraph_versions",
        "figure_versions",
        "measure_versions",
        "scorecard_snapshots",
        "scorecard_pages",
        "scorecard_lines",
    ):
        op.drop_table(table)
