"""Bad input over HTTP gets a 4xx problem naming what was wrong: never a 500, never a silent choice."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.bootstrap import App
from service.config import Settings
from service.http import create_app

from .test_http_recording import HOMICIDE, admin, as_role, homicide, owner  # noqa: F401  (fixtures)

EDITION = {
    "edition": "2022-02",
    "title": "Statement, February 2022",
    "authors": [{"name": "Harry Barton", "job_title": "Head of Strategy"}],
    "lead_contact": {"name": "Stuart Gardner"},
}


@pytest.fixture
def application(store, database_url, tmp_path):
    app = App(Settings(database_url=database_url, default_area="west-midlands", publish_to=f"file://{tmp_path / 'site'}"))
    app.__dict__.update(engine=store.engine, store=store)
    return app


@pytest.fixture
def client(application):
    with TestClient(create_app(application), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def editor(as_role):
    return as_role("editor")


def post_raw(client, path: str, text: str, headers: dict, method: str = "POST"):
    return client.request(method, path, content=text.encode("utf-8"), headers={**headers, "Content-Type": "application/json"})


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()


FIGURE = '{"measure": "homicide", "period": "2021-01/2021-12", "value": "46"'


@pytest.mark.parametrize(
    "body",
    [
        '{"measure": "homicide", "period": "2021-01/2021-12", "value": NaN}',
        '{"measure": "homicide", "period": "2021-01/2021-12", "value": Infinity}',
        '{"measure": "homicide", "period": "2021-01/2021-12", "value": -Infinity}',
        '{"measure": "homicide", "period": "2021-01/2021-12", "value": 1e400}',
        FIGURE + ', "note": NaN}',
        FIGURE + ', "area": 1e999}',
        FIGURE + ', "footnotes": [NaN]}',
    ],
)
def test_a_non_finite_number_is_a_400_naming_it_not_a_500(client, owner, homicide, body):
    found = problem(post_raw(client, "/figures", body, owner), 400)
    assert any(word in found["detail"] for word in ("NaN", "Infinity", "1e400", "1e999"))


def test_a_value_out_of_float_range_echoed_by_a_422_is_still_json(client, admin, homicide):
    # Past the body parser, an error that echoes a non-finite input must still be JSON (it was a 500).
    from service.http.problems import _echoable

    assert json.dumps(_echoable({"found": float("nan"), "field": "\ud800"}), allow_nan=False)


def test_a_lone_surrogate_in_a_title_is_a_422_naming_the_character(client, editor):
    assert client.post("/editions", json=EDITION, headers=editor).status_code == 201
    response = post_raw(client, "/editions/2022-02", '{"reason": "typo", "title": "x\\ud800"}', editor, method="PATCH")

    found = problem(response, 422)
    assert "U+D800" in found["detail"] and "title" in found["detail"]


@pytest.mark.parametrize("field", ["priority", "unit", "polarity", "baseline_period", "measure"])
def test_a_lone_surrogate_in_any_field_of_a_body_is_a_422_naming_it_and_writes_nothing(client, admin, store, field):
    # A field the route's model types only as text once reached the Idempotency-Key's fingerprint, which cannot
    # encode it: a 500 (seen by the fuzz test).
    body = {"measure": "knife-crime", "title": "Knife crime", "priority": "serious-violence", "unit": "count",
            "polarity": "lower-is-better", "baseline_period": "2018-07/2019-06"}  # fmt: skip
    text = json.dumps(body).replace(json.dumps(body[field]), '"x\\ud800"', 1)
    head = store.head()

    found = problem(post_raw(client, "/measures", text, admin), 422)
    assert [e["field"] for e in found["errors"]] == [f"body.{field}"]
    assert "U+D800" in found["detail"] and "character 2" in found["detail"] and "lone surrogate" in found["detail"]
    assert store.head() == head


def test_a_lone_surrogate_in_an_unknown_key_is_echoed_escaped(client, owner, homicide):
    response = post_raw(client, "/figures", FIGURE + ', "\\udfff": 1}', owner)

    found = problem(response, 422)
    assert "\\udfff" in response.text or "\\\\udfff" in response.text
    assert found["errors"]


@pytest.mark.parametrize("path", ["/figures/import", "/measures/import", "/figures", "/editions"])
def test_deeply_nested_json_is_a_400_not_a_500(client, admin, owner, editor, homicide, path):
    deep = "[" * 100_000 + "]" * 100_000
    role = {"/editions": editor, "/measures/import": admin}.get(path, owner)

    response = post_raw(client, path, deep, role)

    assert response.status_code in (400, 422), response.text
    assert "nested at most" in response.text


def test_a_body_over_the_limit_is_a_413(application):
    with TestClient(create_app(application, max_body_bytes=1000), raise_server_exceptions=False) as small:
        response = small.post("/figures/import", content=b"[" + b" " * 2000 + b"]", headers={"Content-Type": "application/json"})
    problem(response, 413)


def test_a_repeated_key_is_refused_rather_than_the_last_one_winning(client, owner, homicide):
    response = post_raw(client, "/figures", FIGURE + ', "value": "47"}', owner)

    assert "'value' twice" in problem(response, 400)["detail"]
    imported = post_raw(client, "/figures/import", "[" + FIGURE + ', "value": "47"}]', owner)
    assert "'value' twice" in problem(imported, 422)["detail"]


def test_minus_zero_is_recorded_and_shown_as_zero(client, owner, homicide, store):
    assert client.post("/figures", json={"measure": "homicide", "period": "2021-01/2021-12", "value": "-0"}, headers=owner).status_code == 201
    assert client.post("/figures", json={"measure": "homicide", "period": "2020-01/2020-12", "value": "-0.0"}, headers=owner).status_code == 201

    recorded = [event.data["value"] for event in store.read_all() if event.type == "FigureRecorded"]
    assert recorded == ["0", "0.0"]


def test_an_empty_area_is_refused_not_taken_for_the_default_area(client, owner, editor, homicide):
    response = client.post("/figures", json={"measure": "homicide", "period": "2021-01/2021-12", "value": "4", "area": ""}, headers=owner)
    assert problem(response, 422)["errors"][0]["field"] == "area"
    edition = client.post("/editions", json={**EDITION, "area": ""}, headers=editor)
    assert problem(edition, 422)["errors"][0]["field"] == "area"


@pytest.mark.parametrize("if_match, status", [('W/"1"', 412), ("1", 400), ('"1', 400), ('"1"', 200)])
def test_if_match_compares_strongly_a_weak_or_unquoted_tag_never_matches(client, admin, homicide, if_match, status):
    response = client.patch(
        "/measures/homicide", json={"reason": "clearer", "title": "Homicides"}, headers={**admin, "If-Match": if_match}
    )
    assert response.status_code == status, response.text
    if status == 412:
        assert response.json()["current_version"] == 1 and response.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    "contact, field",
    [({"name": "S", "email": "not an address"}, "lead_contact.email"), ({"name": "S", "phone": "12"}, "lead_contact.phone"),
     ({"name": "S", "phone": "call the switchboard"}, "lead_contact.phone")],
)
def test_a_lead_contacts_email_and_phone_are_checked(client, editor, contact, field):
    response = client.post("/editions", json={**EDITION, "lead_contact": contact}, headers=editor)

    assert problem(response, 422)["errors"][0]["field"] == field


def test_a_usable_email_and_uk_phone_number_are_accepted(client, editor):
    contact = {"name": "Stuart Gardner", "email": "performance@west-midlands.police.uk", "phone": "0121 626 5000"}
    assert client.post("/editions", json={**EDITION, "lead_contact": contact}, headers=editor).status_code == 201


def test_an_unknown_post_route_is_a_404_even_with_the_site_mounted(application, tmp_path):
    (tmp_path / "site").mkdir(exist_ok=True)
    (tmp_path / "site" / "index.html").write_text("<!doctype html><title>site</title>")
    with TestClient(create_app(application, site=f"file://{tmp_path / 'site'}"), raise_server_exceptions=False) as served:
        assert problem(served.post("/no-such-route", json={}), 404)
        assert problem(served.post("/index.html", json={}), 405)
        assert served.get("/index.html").status_code == 200


def test_a_role_is_named_with_the_right_article(client, as_role):
    response = client.post("/measures", json=HOMICIDE, headers=as_role("auditor"))
    assert "an auditor token may not do this" in problem(response, 403)["detail"]


def test_the_cli_refuses_a_deeply_nested_figures_file_with_exit_1_and_no_traceback(tmp_path):
    import subprocess
    import sys

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    env = {"POLICING_METRICS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "PATH": "/usr/bin:/bin"}
    subprocess.run([sys.executable, "-m", "service", "db", "upgrade"], env=env, capture_output=True, check=True, timeout=60)

    result = subprocess.run([sys.executable, "-m", "service", "figures", "import", str(deep)], env=env, capture_output=True, text=True, timeout=60)

    assert result.returncode == 1 and "nested at most 32 levels deep" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_figure_for_a_period_that_has_not_ended_is_a_422(client, owner, homicide):
    response = client.post("/figures", json={"measure": "homicide", "period": "9999-01/9999-12", "value": "5"}, headers=owner)

    assert problem(response, 422)["errors"][0]["field"] == "period"
