"""Every force in one deployment: organisations own areas, and a token of one organisation never
writes, nor reads before release, another's figures or editions (an embargo test per organisation)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from events import Metadata
from events.domain.errors import InvalidValue
from service.bootstrap import App
from service.cli import cli
from service.config import Settings
from service.handlers import editions
from service.handlers.organisations import define_organisation, load_organisations
from service.handlers.tokens import issue_token
from service.http import create_app

from .given import ANALYST, a_figure, a_measure

Y2021 = "2021-01/2021-12"
ADMIN = Metadata(actor="admin")


@pytest.fixture
def hub(store, database_url):
    """Two forces in one deployment, each with an unreleased figure and an unreleased edition."""
    define_organisation(store, "kent-police", "Kent Police", ["Kent"], ADMIN)
    define_organisation(store, "surrey-police", "Surrey Police", ["E23000031"], ADMIN)
    a_measure(store, "homicide")
    a_figure(store, "homicide", Y2021, "17", area="kent")
    a_figure(store, "homicide", Y2021, "9931", area="surrey")  # a value that shows wherever it leaks
    for area in ("kent", "surrey"):
        editions.open_edition(
            store, f"{area}-2022-02", area=area, title=f"{area} statement",
            authors=[{"name": "A. Author", "job_title": "Analyst"}], lead_contact={"name": "A. Author"}, metadata=ANALYST,
        )  # fmt: skip
        editions.write_paragraph(store, f"{area}-2022-02", 1, section="force-statement", text="{{value:homicide:2021-01/2021-12}} homicides", metadata=ANALYST)
    application = App(Settings(database_url=database_url, default_area="kent"))
    application.__dict__.update(engine=store.engine, store=store)

    def token(role: str, organisation: str | None) -> dict[str, str]:
        secret = issue_token(store, name=f"{organisation} {role}", role=role, measures=None, metadata=ADMIN, organisation=organisation)[1]
        return {"Authorization": f"Bearer {secret}"}

    with TestClient(create_app(application)) as client:
        yield client, token


def test_an_area_belongs_to_one_organisation_and_a_token_to_a_defined_one(store):
    define_organisation(store, "kent-police", "Kent Police", ["kent"], ADMIN)
    with pytest.raises(InvalidValue, match="areas: expected areas no other organisation owns; kent is kent-police's"):
        define_organisation(store, "kent-pcc", "Kent PCC", ["Kent Police"], ADMIN)
    with pytest.raises(InvalidValue, match="areas: expected the ONS code"):
        define_organisation(store, "nowhere", "Nowhere", ["E23000099"], ADMIN)
    with pytest.raises(InvalidValue, match=r"organisation: expected a defined organisation \(kent-police\)"):
        issue_token(store, name="x", role="data-owner", measures=None, metadata=ADMIN, organisation="surrey-police")
    with pytest.raises(InvalidValue, match="only data-owner and editor tokens belong to one"):
        issue_token(store, name="x", role="auditor", measures=None, metadata=ADMIN, organisation="kent-police")
    assert sorted(load_organisations(store)[0]["kent-police"].areas) == ["kent"]


def test_a_forces_data_owner_writes_its_own_figures_and_none_of_anothers(hub, store):
    client, token = hub
    kent = token("data-owner", "kent-police")
    before = store.head().position

    mine = client.post("/figures", json={"measure": "homicide", "area": "kent", "period": "2020-01/2020-12", "value": "15"}, headers=kent)
    assert mine.status_code == 201, mine.text
    theirs = [
        client.post("/figures", json={"measure": "homicide", "area": "Surrey Police", "period": "2020-01/2020-12", "value": "1"}, headers=kent),
        client.post(f"/figures/homicide/surrey/2021-01/2021-12/revisions", json={"value": "1", "reason": "x"}, headers=kent),
        client.post(f"/figures/homicide/surrey/2021-01/2021-12/withdrawal", json={"reason": "x"}, headers=kent),
        client.post("/figures/import", content="measure,period,value,area\nhomicide,2020-01/2020-12,1,surrey\n",
                    headers={**kent, "Content-Type": "text/csv"}),
    ]  # fmt: skip
    for response in theirs:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "which organisation 'kent-police' does not own" in response.json()["detail"]
    assert store.head().position == before + 1  # only Kent's own figure was written


def test_no_token_of_one_force_reads_anothers_unreleased_figures_or_editions(hub):
    client, token = hub
    for role in ("data-owner", "editor"):
        kent = token(role, "kent-police")
        own = client.get("/figures/homicide/kent/2021-01/2021-12", headers=kent)
        assert own.status_code == 200 and own.json()["value"] == "17"
        for path in ("/figures/homicide/surrey/2021-01/2021-12", "/figures/homicide/surrey/2020-01/2020-12", "/editions/surrey-2022-02"):
            leaked = client.get(path, headers=kent)
            assert leaked.status_code == 403, (role, path, leaked.text)
            assert "9931" not in leaked.text
    editor = token("editor", "kent-police")
    assert client.get("/editions/kent-2022-02", headers=editor).status_code == 200
    # Nor writes a word of another force's statement.
    for response in (
        client.post("/editions/surrey-2022-02/paragraphs/2", json={"section": "force-statement", "text": "x"}, headers=editor),
        client.put("/editions/surrey-2022-02/paragraphs/1", json={"text": "x", "reason": "y"}, headers=editor),
        client.post("/editions/surrey-2022-02/approvals", json={}, headers=editor),
        client.post("/editions", json={"edition": "surrey-2023", "area": "surrey", "title": "t", "authors": [{"name": "a"}],
                                       "lead_contact": {"name": "a"}}, headers=editor),
    ):  # fmt: skip
        assert response.status_code == 403, response.text
        assert "does not own" in response.json()["detail"]


def test_a_hub_wide_token_reaches_every_area_as_before(hub):
    client, token = hub
    editor = token("editor", None)
    assert client.get("/figures/homicide/surrey/2021-01/2021-12", headers=editor).json()["value"] == "9931"
    assert client.get("/editions/surrey-2022-02", headers=editor).status_code == 200


def test_the_cli_defines_organisations_and_scoped_tokens(database_url):
    runner = CliRunner()
    env = {"POLICING_METRICS_DATABASE_URL": database_url, "POLICING_METRICS_ACTOR": "admin"}

    def run(*args):
        return runner.invoke(cli, list(args), env=env)

    assert run("db", "upgrade").exit_code == 0
    assert run("organisations", "define", "kent-police", "--name", "Kent Police", "--areas", "Kent,E23000031").exit_code == 0
    refused = run("organisations", "define", "surrey-police", "--name", "Surrey Police", "--areas", "surrey")
    assert refused.exit_code != 0 and "surrey is kent-police's" in refused.output
    assert json.loads(run("organisations", "list", "--format", "json").output) == [
        {"organisation": "kent-police", "name": "Kent Police", "areas": ["kent", "surrey"]}
    ]
    # An id the site's root uses for itself would put the section over the hub's pages (proofs/,
    # comparison/, latest/, editions/) or stop every release (checkpoint/ beside the file checkpoint).
    for name in ("checkpoint", "checkpoints", "proofs", "comparison", "latest", "editions"):
        refused = run("organisations", "define", name, "--name", "A Force", "--areas", "Essex")
        assert refused.exit_code != 0 and "organisation: expected an id the published site's root does not use itself" in refused.output
        assert repr(name) in refused.output, refused.output
    created = run("tokens", "create", "--role", "data-owner", "--name", "Kent analysts", "--organisation", "kent-police")
    assert created.exit_code == 0, created.output
    assert "organisation=kent-police" in run("tokens", "list").output
