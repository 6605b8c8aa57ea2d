"""A rolling upgrade: the newer software migrates, the older processes stay ready while the schema it left
declares it still works with them (expand), and go unready once a migration drops what they need (contract).

"Newer software" is this software's own migrations plus real Alembic revisions written here: 0900 adds a
table (an expand step, compatible_from naming this software's head), 0901 drops it again without a
compatible_from (a contract step). Both engines.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from events.database import (
    MIGRATIONS, alembic_config, compatible_from, declared_compatibility, make_engine, require_current_schema, schema_revisions, upgrade,
)
from events.errors import SchemaNewer, SchemaNotCurrent
from service.bootstrap import App
from service.config import Settings
from service.http import create_app

from .serving import cli


def newer_software(tmp_path: Path, head: str, *, contract: bool = False) -> Path:
    """This software's migrations plus an expand step (0900) after `head`, and with `contract` a contract step (0901)."""
    migrations = tmp_path / ("newest-migrations" if contract else "newer-migrations")
    shutil.copytree(MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "0900_expand.py").write_text(textwrap.dedent(f'''
        """Expand: a table the older software does not know; it still works with this schema."""
        import sqlalchemy as sa
        from alembic import op

        revision = "0900"
        down_revision = {head!r}
        branch_labels = None
        depends_on = None
        compatible_from = {head!r}


        def upgrade():
            op.create_table("figure_notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("note", sa.Text()))


        def downgrade():
            op.drop_table("figure_notes")
    '''))
    if not contract:
        return migrations
    (migrations / "versions" / "0901_contract.py").write_text(textwrap.dedent('''
        """Contract: what only software from 0900 on may rely on; no compatible_from, so 0901 itself."""
        from alembic import op

        revision = "0901"
        down_revision = "0900"
        branch_labels = None
        depends_on = None


        def upgrade():
            op.drop_table("figure_notes")


        def downgrade():
            import sqlalchemy as sa
            op.create_table("figure_notes", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("note", sa.Text()))
    '''))
    return migrations


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def readyz(database_url: str, tmp_path: Path):
    with TestClient(create_app(App(Settings(database_url=database_url, publish_to=str(tmp_path / "site"))))) as client:
        return client.get("/readyz")


def test_older_software_stays_ready_on_an_expanded_schema_and_goes_unready_once_it_is_contracted(engine, database_url, tmp_path):
    upgrade(engine)
    _, head = schema_revisions(engine)
    # What this software's head migration declares of itself, as the upgrade recorded it.
    assert declared_compatibility(engine) == (head, compatible_from(ScriptDirectory.from_config(alembic_config(engine)), head))
    newer = newer_software(tmp_path, head)

    upgrade(engine, migrations=newer)  # the newer software's migrate job
    assert declared_compatibility(engine) == ("0900", head)
    assert require_current_schema(engine, newer) == "current"
    assert require_current_schema(engine) == "compatible"  # the older software
    ready = readyz(database_url, tmp_path)
    assert ready.status_code == 200 and ready.json()["schema"] == "compatible"
    # An older process's `db upgrade` (a restarted Compose migrate, an old init step) changes nothing.
    upgrade(engine)
    assert schema_revisions(engine)[0] == "0900"
    env = {"POLICING_METRICS_DATABASE_URL": database_url}
    waited = cli(env, "db", "wait", "--timeout", "5")
    assert waited.returncode == 0, waited.stderr
    assert f"database schema at 0900, newer than this software's {head} and declared compatible" in waited.stdout
    shown = cli(env, "db", "current")
    assert shown.returncode == 0, shown.stderr
    assert f"database: 0900  software: {head}" in shown.stdout and "newer than this software's" in shown.stdout

    newest = newer_software(tmp_path, head, contract=True)
    upgrade(engine, migrations=newest)
    assert declared_compatibility(engine) == ("0901", "0901")
    with pytest.raises(SchemaNewer, match="at schema 0901, newer than this software knows .*from schema 0901 on"):
        require_current_schema(engine)
    with pytest.raises(SchemaNewer):
        upgrade(engine)
    ready = readyz(database_url, tmp_path)
    assert ready.status_code == 503 and ready.json()["check"] == "schema"
    assert "newer than this software knows" in ready.json()["detail"]
    assert cli(env, "db", "wait", "--timeout", "60").returncode == 1  # at once: waiting will not help
    shown = cli(env, "db", "current")
    assert shown.returncode == 1 and "at schema 0901, newer than this software knows" in shown.stderr

    # A downgrade records the compatibility of the schema it leaves too.
    command.downgrade(alembic_config(engine, newest), "0900")
    assert declared_compatibility(engine) == ("0900", head) and require_current_schema(engine) == "compatible"


def test_newer_software_is_not_ready_on_the_older_schema_until_it_migrates(engine, tmp_path):
    upgrade(engine)
    _, head = schema_revisions(engine)
    newer = newer_software(tmp_path, head)
    with pytest.raises(SchemaNotCurrent, match=f"at schema {head}, older than 0900: run `policing-metrics db upgrade`"):
        require_current_schema(engine, newer)
    upgrade(engine, migrations=newer)
    assert require_current_schema(engine, newer) == "current"


def test_a_newer_schema_that_declares_nothing_is_refused(engine):
    """Written by software from before the compatibility table, or with its row damaged: not ready."""
    upgrade(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(SchemaNewer, match="at schema 9999, newer than this software knows"):
        require_current_schema(engine)


def test_db_current_succeeds_only_on_a_schema_this_software_works_with(engine, database_url):
    env = {"POLICING_METRICS_DATABASE_URL": database_url}
    missing = cli(env, "db", "current")
    assert missing.returncode == 1 and "has no schema yet: run `policing-metrics db upgrade`" in missing.stderr
    upgrade(engine, "0006")
    older = cli(env, "db", "current")
    assert older.returncode == 1 and "at schema 0006, older than" in older.stderr
    upgrade(engine)
    _, head = schema_revisions(engine)
    shown = cli(env, "db", "current")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == f"database: {head}  software: {head}\n"
