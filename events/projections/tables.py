"""The projections' tables, as migration 0002 creates them (a test keeps the two in step).

Projection tables are ordinary tables: rebuilt, updated and cleared at will. Only `events` is
immutable. Positions are log positions; times are the log's recorded_at text.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, MetaData, Table, Text

metadata = MetaData()


def _position(name: str = "position", primary_key: bool = False) -> Column:
    # On SQLite an INTEGER PRIMARY KEY is the row id: the cheapest possible key.
    return Column(
        name,
        BigInteger().with_variant(Integer(), "sqlite"),
        primary_key=primary_key,
        autoincrement=False,
        nullable=False,
    )


# -- scorecard ---------------------------------------------------------------------------------
# A line is a measure in an area. Every event that changes what a line shows makes a version of
# it; the versions of one batch are stored together, as one page, in position order. Every so
# often a snapshot holds every line. The scorecard as of any position is the snapshot at or
# before it plus the versions since: a read costs a few times the scorecard's size, however long
# the log, and writing costs one row per batch rather than one per version.

scorecard_lines = Table(
    "scorecard_lines",
    metadata,
    Column("line_id", Integer, primary_key=True, autoincrement=False),
    Column("measure", Text, nullable=False),
    Column("area", Text, nullable=False),
)

scorecard_pages = Table(
    "scorecard_pages",
    metadata,
    _position("last_position", primary_key=True),
    Column("first_position", BigInteger, nullable=False),
    # JSON: [[position, line_id, period, value, baseline_value], ...]
    # period and value are null when no figure of the baseline's length is recorded, baseline_value
    # when the baseline figure is not; all three null: the line shows nothing.
    Column("versions", Text, nullable=False),
)

scorecard_snapshots = Table(
    "scorecard_snapshots",
    metadata,
    _position(primary_key=True),
    Column("lines", Integer, nullable=False),
    # JSON: [[line_id, period, value, baseline_value, revised], ...], every line shown; revised: its last version's position
    Column("state", Text, nullable=False),
)

measure_versions = Table(
    "measure_versions",
    metadata,
    _position(primary_key=True),
    Column("measure", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("unit", Text, nullable=False),
    Column("polarity", Text, nullable=False),
    Column("baseline_period", Text, nullable=False),
    Column("retired", Boolean, nullable=False),
    Column("recorded_at", Text, nullable=False),
    Column("actor", Text, nullable=False),
    # JSON {area: {baseline_period, priority}}: what the measure is in areas that set their own (0005)
    Column("areas", Text, nullable=False, server_default="{}"),
)

# -- history -----------------------------------------------------------------------------------
# One row per figure, paragraph and approval event, with who, when and why.

figure_versions = Table(
    "figure_versions",
    metadata,
    _position(primary_key=True),
    Column("measure", Text, nullable=False),
    Column("area", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("value", Text),  # NULL: withdrawn
    Column("kind", Text, nullable=False),  # recorded, revision, correction, withdrawn
    Column("reason", Text),
    Column("source", Text),
    Column("note", Text),
    Column("recorded_at", Text, nullable=False),
    Column("actor", Text, nullable=False),
)
figure_versions_by_figure = Index(
    "figure_versions_by_figure",
    figure_versions.c.measure,
    figure_versions.c.area,
    figure_versions.c.period,
    figure_versions.c.position,
)

paragraph_versions = Table(
    "paragraph_versions",
    metadata,
    _position(primary_key=True),
    Column("edition", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("kind", Text, nullable=False),  # written, revised, removed
    Column("section", Text),
    Column("heading", Text),  # NULL on a revision: unchanged
    Column("text", Text),  # NULL: removed
    Column("reason", Text),
    Column("recorded_at", Text, nullable=False),
    Column("actor", Text, nullable=False),
)
paragraph_versions_by_paragraph = Index(
    "paragraph_versions_by_paragraph",
    paragraph_versions.c.edition,
    paragraph_versions.c.number,
    paragraph_versions.c.position,
)

editions = Table(
    "editions",
    metadata,
    Column("edition", Text, primary_key=True),
    Column("area", Text, nullable=False),
    Column("title", Text, nullable=False),
    _position("opened_position"),
)

edition_approvals = Table(
    "edition_approvals",
    metadata,
    _position(primary_key=True),
    Column("edition", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("frozen_position", BigInteger, nullable=False),  # the log position the edition is rendered from
    Column("reason", Text),
    Column("recorded_at", Text, nullable=False),
    Column("actor", Text, nullable=False),
)

SCORECARD_TABLES = (scorecard_lines, scorecard_pages, scorecard_snapshots, measure_versions)
HISTORY_TABLES = (figure_versions, paragraph_versions, editions, edition_approvals)
# Built after the rows when a rebuild starts from zero: one sort instead of a million scattered inserts.
HISTORY_INDEXES = (figure_versions_by_figure, paragraph_versions_by_paragraph)
