"""An edition may state its data cut-off (issue 11): `edition amend --data-cutoff`, PATCH
/editions/{e} `data_cutoff`, EditionDetailsAmended v2. Validated; what it covers follows it."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from events import Metadata
from events.domain import registry
from events.domain.rules import editions as rules
from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.cli import cli
from service.config import Settings

from service.handlers.tokens import issue_token
from service.http import create_app

from .conftest import FakeClock
from .publish_support import EDITION, example_database  # noqa: F401  (fixture)
from .test_embargo_property import World, fresh_store


def test_an_amendment_recorded_before_the_cutoff_existed_reads_as_declaring_none():
    old = {"edition": "2022-02", "reason": "new title", "title": "Statement"}
    assert registry.get("EditionDetailsAmended").version == 2
    assert registry.upcast("EditionDetailsAmended", 1, old) == {**old, "data_cutoff": None}
    state = rules.fold([
        ("EditionOpened", {"edition": "e", "area": "force", "title": "t", "authors": [{"name": "A", "job_title": ""}],
                           "lead_contact": {"name": "A", "email": "", "phone": ""}, "sections": [{"section": "s", "title": "S"}]}),
        ("EditionDetailsAmended", registry.upcast("EditionDetailsAmended", 1, {"edition": "e", "reason": "r", "title": "u"})),
    ])  # fmt: skip
    assert (state.title, state.declared_cutoff, rules.data_cutoff(state)) == ("u", None, None)


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("2021-12-30", "2021-12-30 does not end a month"),
        ("2021-13-31", "month must be in 1..12"),
        ("31/12/2021", "found '31/12/2021'"),
        ("1899-12-31", "a date in 1900 or later"),
    ],
)
def test_a_bad_cutoff_is_refused_naming_the_field_what_was_expected_and_what_was_found(example_database, tmp_path, given, says):
    path = tmp_path / "cli.db"
    shutil.copy(example_database, path)
    result = CliRunner().invoke(
        cli, ["--database-url", f"sqlite:///{path}", "edition", "amend", EDITION, "--data-cutoff", given, "--reason", "state the cut-off"]
    )
    assert result.exit_code != 0
    assert "data_cutoff" in result.output and says in result.output, result.output


@pytest.mark.parametrize("engine_name", ["sqlite", "postgresql"])
def test_a_declared_cutoff_over_http_decides_what_the_edition_covers(engine_name, tmp_path):
    clock = FakeClock(datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc))
    with fresh_store(engine_name, tmp_path, clock) as store:
        world = World(store, clock, LocalDirectory(tmp_path / "site"))
        world.record("2021-01/2021-12")  # 41,002,234: y2021 quotes it
        world.record("2022-01/2022-12")  # 41,003,351: beyond the cut-off y2021's placeholders name
        application = App(Settings(database_url=str(store.engine.url), default_area="force"))
        application.__dict__.update(engine=store.engine, store=store)
        secret = issue_token(store, name="editor desk", role="editor", measures=None, metadata=Metadata(actor="admin"))[1]
        editor = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(application)) as client:
            bad = client.patch("/editions/y2021", json={"reason": "state the cut-off", "data_cutoff": "2022-02-30"}, headers=editor)
            named = client.get("/editions/y2021", headers=editor).json()
            good = client.patch("/editions/y2021", json={"reason": "covers 2022 too", "data_cutoff": "2022-12-31"}, headers=editor)
            declared = client.get("/editions/y2021", headers=editor).json()
            early = client.patch("/editions/y2021", json={"reason": "too early", "data_cutoff": "2021-06-30"}, headers=editor)
            refused = client.post("/editions/y2021/approvals", json={}, headers=editor)
            client.patch("/editions/y2021", json={"reason": "covers 2022 too", "data_cutoff": "2022-12-31"}, headers=editor)
        assert world.approve("y2021")
        world.publish("y2021")
        published = json.loads(world.site.get("editions/y2021/r1/edition.json"))

    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "data_cutoff" in bad.text and "2022-02-30" in bad.text, bad.text
    assert (named["data_cutoff"], named["data_cutoff_declared"]) == ("2021-12-31", False)
    assert good.status_code == 200, good.text
    assert (declared["data_cutoff"], declared["data_cutoff_declared"]) == ("2022-12-31", True)
    assert early.status_code == 200
    assert refused.status_code in (409, 422) and "after the edition's data cut-off 2021-06-30" in refused.text, refused.text
    (line,) = [line for line in published["scorecard"] if line["measure"] == "homicide"]
    assert (line["period"], line["value"]) == ("2022-01/2022-12", "41003351"), "the declared cut-off covers 2022"


def test_a_declared_cutoff_that_is_already_the_editions_is_nothing_to_amend(example_database, tmp_path):
    path = tmp_path / "cli.db"
    shutil.copy(example_database, path)
    base = ["--database-url", f"sqlite:///{path}", "edition", "amend", EDITION, "--data-cutoff", "2021-12-31", "--reason", "state it"]
    first, again = CliRunner().invoke(cli, base), CliRunner().invoke(cli, base)
    assert first.exit_code == 0, first.output
    assert again.exit_code != 0 and "nothing to amend" in again.output
