"""Who may read what, before and after release: every read endpoint x every role x unreleased/released,
and which reads go on the pre-release access list. docs/http.md's read matrix is this table.

Cells: 200 (read, nothing recorded), "200*" (read, and recorded on the pre-release access list:
who, what, when), 401, 403, 404. "granted" is an admin token named on the edition's pre-release
access list, read within the 24 hours before the confirmed release time.
"""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from events import Metadata
from events.domain.rules.access import PRE_RELEASE_STREAM
from publishers.stores import LocalDirectory
from service.bootstrap import App
from service.config import Settings
from service.handlers.access import access_list
from service.handlers.releases import Releases
from service.handlers.tokens import issue_token
from service.http import create_app

from .publish_support import EDITION, announce, clock, example_database, example_store, publishing  # noqa: F401

ROLES = ("none", "owner", "owner-of-homicide", "owner-of-robbery", "editor", "admin", "auditor", "granted")
EVERY_TOKEN = {role: 200 for role in ROLES[1:]}
REFUSED = {role: 403 for role in ROLES[1:]}
AUDITORS_ONLY = {**REFUSED, "auditor": 200}
AUDITORS_RECORDED = {**REFUSED, "auditor": "200*"}

FIGURE = "/figures/homicide/west-midlands/2021-01/2021-12"
READS = {
    "/measures": {"unreleased": EVERY_TOKEN, "released": EVERY_TOKEN},
    FIGURE: {
        "unreleased": {**REFUSED, "owner": "200*", "owner-of-homicide": "200*", "editor": "200*"},
        "released": EVERY_TOKEN,
    },
    f"/editions/{EDITION}": {
        "unreleased": {**REFUSED, "editor": "200*", "granted": "200*"},
        "released": EVERY_TOKEN,
    },
    "/audit/log?limit=3": {"unreleased": AUDITORS_RECORDED, "released": AUDITORS_RECORDED},
    "/audit/scorecard": {"unreleased": AUDITORS_RECORDED, "released": AUDITORS_RECORDED},
    "/audit/history/homicide": {"unreleased": AUDITORS_RECORDED, "released": AUDITORS_RECORDED},
    "/audit/triangle/homicide?area=west-midlands": {"unreleased": AUDITORS_RECORDED, "released": AUDITORS_RECORDED},
    "/audit/diff?from=0&to=10": {"unreleased": AUDITORS_RECORDED, "released": AUDITORS_RECORDED},
    "/audit/head": {"unreleased": AUDITORS_ONLY, "released": AUDITORS_ONLY},
    "/audit/verify": {"unreleased": AUDITORS_ONLY, "released": AUDITORS_ONLY},
    "/audit/pre-release-access": {"unreleased": AUDITORS_ONLY, "released": AUDITORS_ONLY},
}
PUBLIC = {
    "/public/editions": {"unreleased": 200, "released": 200},
    "/public/scorecard": {"unreleased": 404, "released": 200},
    f"/public/editions/{EDITION}/edition.json": {"unreleased": 404, "released": 200},
    "/public/history/homicide": {"unreleased": 404, "released": 200},
    "/public/comparison/homicide": {"unreleased": 404, "released": 200},
    "/public/comparison/homicide.csv": {"unreleased": 404, "released": 200},
}


@pytest.fixture
def world(example_store, clock, publishing, tmp_path):
    """The example edition approved and confirmed for 2026-01-07 09:30, a token of each role, and the
    clock 23 hours before the release (inside the pre-release access window)."""
    store = example_store
    site = LocalDirectory(tmp_path / "site")
    application = App(Settings(database_url=str(store.engine.url), default_area="west-midlands", publish_to=f"file://{tmp_path / 'site'}"), clock)
    application.__dict__.update(engine=store.engine, store=store)
    announce(store, clock, EDITION, "2026-01-07T09:30")
    Releases(store, clock).confirm(EDITION, override_reason="the Board meets on 8 January", actor="analyst")

    def token(role, measures=None, name=None):
        return issue_token(store, name=name or role, role=role, measures=measures, metadata=Metadata(actor="admin"))

    tokens = {
        "owner": token("data-owner"),
        "owner-of-homicide": token("data-owner", ["homicide"], "homicide desk"),
        "owner-of-robbery": token("data-owner", ["robbery"], "robbery desk"),
        "editor": token("editor"),
        "admin": token("admin"),
        "auditor": token("auditor"),
        "granted": token("admin", name="PCC press officer"),
    }
    Releases(store, clock).grant_access(
        EDITION, "PCC press officer", reason="prepares the PCC's statement", token_id=tokens["granted"][0].token_id
    )
    clock.now = clock.now.replace(day=6, hour=10, minute=30)
    headers = {role: {"Authorization": f"Bearer {bearer}"} for role, (_, bearer) in tokens.items()}
    headers["none"] = {}
    with TestClient(create_app(application)) as client:
        yield client, store, clock, publishing, site, headers


def _recorded(store) -> int:
    return len(store.read_stream(PRE_RELEASE_STREAM))


def _check(client, store, headers, state) -> int:
    checked = 0
    for path, states in READS.items():
        for role in ROLES:
            expected = 401 if role == "none" else states[state][role]
            before = _recorded(store)
            response = client.get(path, headers=headers[role])
            status = response.status_code
            assert str(status) == str(expected).rstrip("*"), (state, path, role, status, response.text[:300])
            if status >= 400:
                assert response.headers["content-type"] == "application/problem+json"
            assert _recorded(store) - before == (1 if str(expected).endswith("*") else 0), (state, path, role)
            checked += 1
    for path, states in PUBLIC.items():
        for role in ROLES:
            assert client.get(path, headers=headers[role]).status_code == states[state], (state, path, role)
            checked += 1
    return checked


def test_every_read_endpoint_answers_every_role_before_and_after_release_as_the_matrix_says(world):
    client, store, clock, publishing, site, headers = world
    checked = _check(client, store, headers, "unreleased")
    clock.now = clock.now.replace(day=7, hour=9, minute=30, second=4)
    publishing.publish(EDITION, to=site)
    time.sleep(0.6)  # the releases list is trusted for half a second
    checked += _check(client, store, headers, "released")
    assert checked == 2 * len(ROLES) * (len(READS) + len(PUBLIC))


def test_the_matrix_covers_every_read_endpoint_of_the_api(world):
    client = world[0]
    paths = {
        path
        for path, item in client.get("/openapi.json").json()["paths"].items()
        if "get" in item and not path.startswith(("/healthz", "/readyz", "/metrics"))
    }
    covered = {p.split("?")[0] for p in [*READS, *PUBLIC]}
    templates = {
        "/figures/{measure}/{area}/{start}/{end}": FIGURE,
        "/editions/{edition}": f"/editions/{EDITION}",
        "/audit/history/{measure}": "/audit/history/homicide",
        "/audit/triangle/{measure}": "/audit/triangle/homicide",
        "/public/editions/{edition}/{name}": f"/public/editions/{EDITION}/edition.json",
        "/public/editions/{edition}/r{revision}/{name}": None,  # the same release's files, by revision: test_http_public
        "/public/history/{measure}": "/public/history/homicide",
        "/public/comparison/{measure}": "/public/comparison/homicide",
        "/public/comparison/{measure}.csv": "/public/comparison/homicide.csv",
    }
    missing = {path for path in paths if templates.get(path, path) is not None and templates.get(path, path) not in covered}
    assert not missing, f"read endpoints the matrix does not cover: {sorted(missing)}"


def test_a_data_owner_lists_only_the_measures_it_may_write(world):
    client, _, _, _, _, headers = world
    listed = [m["measure"] for m in client.get("/measures", headers=headers["owner-of-robbery"]).json()]
    assert listed == ["robbery"]
    assert len(client.get("/measures", headers=headers["editor"]).json()) > 1


def test_each_read_of_unreleased_material_is_on_the_list_with_who_what_when_and_why(world):
    client, store, clock, _, _, headers = world
    client.get(FIGURE, headers=headers["owner-of-homicide"])
    client.get(f"/editions/{EDITION}", headers=headers["granted"])
    listed = access_list(store)
    figure, edition = [entry for entry in listed if entry["type"] == "PreReleaseAccessRecorded"]
    assert (figure["person"], figure["basis"], figure["edition"]) == ("homicide desk", "production", None)
    assert figure["what"].startswith("figure homicide/west-midlands/2021-01/2021-12")
    assert figure["accessed_at"] == "2026-01-06T10:30:00.000000Z" and figure["actor"].startswith("token:")
    assert (edition["person"], edition["basis"], edition["edition"]) == ("PCC press officer", "grant", EDITION)
    one = access_list(store, EDITION)
    assert [e["type"] for e in one] == ["PreReleaseAccessGranted", "PreReleaseAccessRecorded"]
    auditor = client.get("/audit/pre-release-access", headers=headers["auditor"]).json()
    assert [e["position"] for e in auditor] == [e["position"] for e in listed]


def test_a_refused_read_says_who_may_read_it_and_records_nothing(world):
    client, store, _, _, _, headers = world
    before = _recorded(store)
    response = client.get(FIGURE, headers=headers["owner-of-robbery"])
    assert response.status_code == 403
    assert "only for: robbery; not 'homicide'" in response.json()["detail"]
    response = client.get(f"/editions/{EDITION}", headers=headers["admin"])
    assert "pre-release access list" in response.json()["detail"]
    assert f"pre-release grant {EDITION} --token" in response.json()["detail"]
    assert _recorded(store) == before


def test_pre_release_access_opens_only_24_hours_before_the_confirmed_release(world):
    client, _, clock, _, _, headers = world
    clock.now = clock.now.replace(day=6, hour=9, minute=29)
    early = client.get(f"/editions/{EDITION}", headers=headers["granted"])
    assert early.status_code == 403
    assert "opens at 2026-01-06T09:30:00+00:00, 24 hours before its release" in early.json()["detail"]
    clock.now = clock.now.replace(minute=30)
    assert client.get(f"/editions/{EDITION}", headers=headers["granted"]).status_code == 200
    assert client.get(f"/editions/{EDITION}", headers=headers["editor"]).status_code == 200


def test_a_correction_in_preparation_is_unreleased_again_though_the_edition_was_released(world):
    client, store, clock, publishing, site, headers = world
    clock.now = clock.now.replace(day=7, hour=9, minute=30, second=4)
    publishing.publish(EDITION, to=site)
    time.sleep(0.6)
    assert client.get(FIGURE, headers=headers["admin"]).status_code == 200
    from service.handlers import figures

    figures.revise_figure(store, "homicide", "west-midlands", "2021-01/2021-12", "47", "correction", "miscount", Metadata(actor="analyst"))
    assert client.get(FIGURE, headers=headers["admin"]).status_code == 403
    assert client.get(f"/editions/{EDITION}", headers=headers["admin"]).status_code == 403, "its paragraphs now render 47"
    assert client.get(FIGURE, headers=headers["owner-of-homicide"]).json()["value"] == "47"


def test_the_cli_grants_a_token_pre_release_access_and_lists_the_reads_of_the_api(world):
    import json

    from typer.testing import CliRunner

    from service.cli import cli

    client, store, _, _, _, headers = world
    url = str(store.engine.url)
    _, bearer = issue_token(store, name="Chief Executive", role="admin", measures=None, metadata=Metadata(actor="admin"))
    token_id = bearer.split("_")[1]
    runner = CliRunner()
    granted = runner.invoke(cli, ["--database-url", url, "pre-release", "grant", EDITION, "--token", token_id, "--reason", "briefs the PCC"])
    assert granted.exit_code == 0, granted.output
    assert f"for Chief Executive (token {token_id})" in granted.output
    assert client.get(f"/editions/{EDITION}", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    client.get(FIGURE, headers=headers["editor"])
    listed = [json.loads(line) for line in runner.invoke(cli, ["--database-url", url, "pre-release", "list"]).stdout.splitlines()]
    assert [(e["type"], e["person"]) for e in listed][-3:] == [
        ("PreReleaseAccessGranted", "Chief Executive"),
        ("PreReleaseAccessRecorded", "Chief Executive"),
        ("PreReleaseAccessRecorded", "editor"),
    ]
    one = runner.invoke(cli, ["--database-url", url, "pre-release", "list", EDITION]).stdout.splitlines()
    assert all(json.loads(line)["edition"] == EDITION for line in one)
    unknown = runner.invoke(cli, ["--database-url", url, "pre-release", "grant", EDITION, "--token", "ffffffffffffffff", "--reason", "r"])
    assert unknown.exit_code == 2 and "no active token with id 'ffffffffffffffff'" in unknown.output


def test_docs_http_md_states_the_same_read_matrix():
    import re
    from pathlib import Path

    text = Path(__file__).parent.parent.joinpath("docs/http.md").read_text()
    section = text.split("### Who may read what", 1)[1].split("\n#", 1)[0]
    columns = {
        "no token": ["none"],
        "data owner (its measure)": ["owner", "owner-of-homicide"],
        "data owner (another measure)": ["owner-of-robbery"],
        "editor": ["editor"],
        "admin": ["admin"],
        "auditor": ["auditor"],
        "granted": ["granted"],
    }
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in section.splitlines() if line.startswith("|")]
    header, body = rows[0], rows[2:]
    documented: dict[tuple[str, str, str], str] = {}
    paths: list[str] = []
    for cells in body:
        if cells[0]:
            paths = re.findall(r"`(?:GET )?([^`]+)`", cells[0])
        for name, value in zip(header[2:], cells[2:]):
            for role in columns[name]:
                for path in paths:
                    for state in (("unreleased", "released") if cells[1] == "any" else (cells[1],)):
                        documented[(path, state, role)] = value.replace("\\*", "*").split(" ")[0]

    def row_for(path: str) -> str:
        bare = path.split("?")[0]
        found = [p for p in {p for p, _, _ in documented} if re.fullmatch(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(p)), bare)]
        # `/public/comparison/{m}` also matches `….csv`: the row with the most literal text is the one meant.
        literal = {p: len(re.sub(r"\{[^}]+\}", "", p)) for p in found}
        best = [p for p in found if literal[p] == max(literal.values(), default=0)]
        assert len(best) == 1, (path, found)
        return best[0]

    for path, states in READS.items():
        for state, cells in states.items():
            for role in ROLES:
                expected = 401 if role == "none" else cells[role]
                assert documented[(row_for(path), state, role)] == str(expected), (path, state, role)
    for path, states in PUBLIC.items():
        for state, status in states.items():
            for role in ROLES:
                assert documented[(row_for(path), state, role)] == str(status), (path, state, role)
