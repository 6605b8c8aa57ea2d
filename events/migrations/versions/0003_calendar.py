"""The release calendar read model, and the claims that let one scheduler process release each release.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "calendar_releases",
        sa.Column("edition", sa.Text(), primary_key=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("release_at", sa.Text(), nullable=False),
        sa.Column("release_at_utc", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), nullable=False),
        sa.Column("previous_release_at", sa.Text()),
        sa.Column("cancellation_reason", sa.Text()),
        sa.Column("override_reason", sa.Text()),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("released_revision", sa.Integer()),
        sa.Column("released_at", sa.Text()),
        sa.Column("late_by_seconds", sa.Integer()),
        sa.Column("manifest_hash", sa.Text()),
        sa.Column("keys", sa.Text()),
        # The last event folded into the row: the projection only ever moves it forward.
        sa.Column("position", sa.BigInteger(), nullable=False),
    )
    op.create_index("calendar_releases_due", "calendar_releases", ["status", "release_at_utc"])
    op.create_table(
        "calendar_changes",
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("release_at", sa.Text(), nullable=False),
        sa.Column("previous_release_at", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
    )
    op.create_index("ix_calendar_changes_edition", "calendar_changes", ["edition"])
    op.create_table(
        "pre_release_access",
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("person", sa.Text(), nullable=False),
        sa.Column("role", sa.Text()),
        sa.Column("reason", sa.Text()),
        sa.Column("what", sa.Text()),
        sa.Column("accessed_at", sa.Text()),
        sa.Column("granted", sa.Boolean()),
        sa.Column("recorded_at", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
    )
    op.create_index("ix_pre_release_access_edition", "pre_release_access", ["edition"])
    # Not a projection: written by scheduler processes to decide which one releases a release.
    # The primary key is the guard: one row per release at an announced time, whoever inserts first
    # owns it until its lease expires; an expired, unfinished claim may be taken over.
    op.create_table(
        "release_claims",
        sa.Column("claim_key", sa.Text(), primary_key=True),
        sa.Column("edition", sa.Text(), nullable=False),
        sa.Column("release_at", sa.Text(), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("attempt_id", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer()),
        sa.Column("finished_at", sa.Text()),
        sa.Column("outcome", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("release_claims")
    op.drop_index("ix_pre_release_access_edition", "pre_release_access")
    op.drop_table("pre_release_access")
    op.drop_index("ix_calendar_changes_edition", "calendar_changes")
    op.drop_table("calendar_changes")
    op.drop_index("calendar_releases_due", "calendar_releases")
    op.drop_table("calendar_releases")
