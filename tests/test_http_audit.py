"""The HTTP service's foundations: problem details, tokens and roles, the auditor's log."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from events import Metadata
from service.bootstrap import App
from service.config import Settings
from service.http import create_app
from service.handlers.tokens import issue_token, revoke_token

from .conftest import bypass_triggers
from .support import counted


@pytest.fixture
def app(store, database_url):
    application = App(Settings(database_url=database_url))
    application.__dict__["engine"] = store.engine
    application.__dict__["store"] = store
    return application


@pytest.fixture
def client(app):
    with TestClient(create_app(app, max_body_bytes=1024)) as client:
        yield client


@pytest.fixture
def token(store):
    def make(role: str, measures=None) -> str:
        return issue_token(store, name=f"a {role}", role=role, measures=measures, metadata=Metadata(actor="admin"))[1]

    return make


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_health_and_readiness_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"


def test_a_protected_endpoint_without_a_token_is_401_problem_json(client):
    response = client.get("/audit/head")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and "Authorization: Bearer" in body["detail"] and body["instance"] == "/audit/head"


@pytest.mark.parametrize("secret", ["nonsense", "pm_0123456789abcdef_wrong", "pm__"])
def test_an_unknown_token_is_401(client, token, secret):
    token("auditor")
    assert client.get("/audit/head", headers=bearer(secret)).status_code == 401


@pytest.mark.parametrize("role", ["data-owner", "editor", "admin"])
def test_a_valid_token_without_the_auditor_role_is_403(client, token, role):
    response = client.get("/audit/head", headers=bearer(token(role)))
    assert response.status_code == 403
    assert "needs the role auditor" in response.json()["detail"]


def test_a_revoked_token_is_401_from_then_on(client, token, store):
    secret = token("auditor")
    assert client.get("/audit/head", headers=bearer(secret)).status_code == 200
    revoke_token(store, secret.split("_")[1], "left the team", Metadata(actor="admin"))
    assert client.get("/audit/head", headers=bearer(secret)).status_code == 401


def test_the_log_streams_as_json_lines_paged_by_position(client, token, store):
    secret = token("auditor")  # the token itself is event 1
    for n in range(5):
        store.append("a", [counted(count=n)], expected_version=None)
    response = client.get("/audit/log", params={"from": 2, "limit": 3}, headers=bearer(secret))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["position"] for line in lines] == [2, 3, 4]
    assert lines[0]["data"] == {"thing": "widget", "count": 0}
    assert 'from=5&limit=3>; rel="next"' in response.headers["link"]


def test_verify_reports_the_head_and_the_first_bad_position(client, token, store, engine):
    secret = token("auditor")
    store.append("a", [counted(), counted()], expected_version=None)
    good = client.get("/audit/verify", headers=bearer(secret)).json()
    assert good["ok"] and good["checked"] == 3 and good["head"]["hash"] == store.head().hash
    bypass_triggers(engine, "UPDATE events SET data = replace(data, 'widget', 'wodget') WHERE position = 2")
    bad = client.get("/audit/verify", headers=bearer(secret)).json()
    assert not bad["ok"] and bad["first_bad_position"] == 2


def test_verify_catches_an_approval_that_names_a_value_the_log_did_not_hold(client, token, store):
    from service.handlers import editions

    from .test_proofs_drafts import APPROVER, E, append_wrong_approval, drafted_then_revised

    secret = token("auditor")
    drafted_then_revised(store)
    editions.approve_edition(store, E, APPROVER)
    good = client.get("/audit/verify", headers=bearer(secret)).json()
    assert good["ok"] and good["approvals"] == 1 and good["problem"] is None
    append_wrong_approval(store)
    bad = client.get("/audit/verify", headers=bearer(secret)).json()
    assert not bad["ok"] and bad["approvals"] == 2 and bad["first_bad_position"] is None
    assert bad["problem"].startswith(f"approval disagrees with the log: edition {E} revision 2: its approval")
    assert bad["problem"].endswith("it says value '45', the log '46'")


def test_bad_query_parameters_are_422_problems_naming_the_field(client, token):
    response = client.get("/audit/log", params={"from": "zero"}, headers=bearer(token("auditor")))
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "query.from"


def test_an_oversized_body_is_413(client):
    response = client.post("/audit/head", content=b"x" * 2048)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"


def test_unknown_paths_are_404_problems(client):
    response = client.get("/nowhere")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


def test_every_response_carries_a_request_id(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32
