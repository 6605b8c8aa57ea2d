"""The composition root builds the release handler and the read models once; everything else gets them from it."""

from __future__ import annotations

import re
from pathlib import Path

from service.bootstrap import bootstrap
from service.config import Settings
from service.http import create_app

SERVICE = Path(__file__).resolve().parent.parent / "service"
# `db copy` rebuilds the read models of the database it copied to, not the app's own.
OTHER_DATABASES = {"cli/transfer.py"}


def test_publishing_the_http_reads_and_the_scheduler_share_the_apps_releases_and_read_models(tmp_path):
    app = bootstrap(Settings(database_url=f"sqlite:///{tmp_path / 'app.db'}", publish_to=f"file://{tmp_path / 'site'}"))
    assert app.publishing.releases is app.releases and app.publishing.projections is app.projections
    assert app.publishing_to("https://elsewhere.example/").releases is app.releases
    assert create_app(app).state.reads.projections is app.projections
    scheduler = app.scheduler()
    assert scheduler.releases is app.releases and scheduler.projection is app.calendar
    assert app.releases.clock is app.clock


def test_no_command_or_route_builds_its_own_handlers_or_asks_the_os_for_the_actor():
    built = re.compile(r"\b(Releases|Projections|CalendarProjection|Publishing|ReleaseScheduler)\(|getpass")
    found = [
        f"{path.relative_to(SERVICE)}:{number}: {line.strip()}"
        for folder in ("cli", "http")
        for path in sorted((SERVICE / folder).rglob("*.py"))
        if str(path.relative_to(SERVICE)) not in OTHER_DATABASES
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if built.search(line)
    ]
    assert found == []
