"""schemathesis over the whole API with what a hostile client sends beyond the schema: invalid values
(negative generation), and JSON bodies carrying NaN, Infinity, 1e400, lone surrogates, control
characters, noncharacters, deep nesting and repeated keys. No input gets a server error, and every
refusal is problem+json."""

from __future__ import annotations

import json

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from hypothesis import strategies as st

from events import Metadata
from service.handlers.tokens import issue_token
from service.http.auth import PERMISSIONS

from .conftest import sqlite_url
from .test_http_contract import ROLES, _permission, _routes, api  # noqa: F401  (the api fixture)

HOSTILE = (
    "NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" + "0" * 5000,
    '"\\ud800"', '"a\\udfffb"', '"\\u0000"', '"x\\u000by"', '"\\u001b[31m"', '"\\ufffe"', '"\\u0085"', '"\\ud83d\\ude00"',
    '"=HYPERLINK(\\"https://evil.example\\")"', '""', '"-0"', "-0",
    "[" * 5000 + "]" * 5000, '{"a": ' * 200 + "1" + "}" * 200,
)  # fmt: skip
MARK = "\u0002hostile\u0002"


@pytest.fixture
def database_url(tmp_path) -> str:
    """What a body may hold does not depend on the store: SQLite only, to keep the run short."""
    return sqlite_url(tmp_path)


def hostile_text(body, hostile: str, key: str | None, repeat: bool) -> str:
    """`body` as JSON text with one value (or a new key) written as `hostile`, or with a key repeated."""
    if isinstance(body, dict) and repeat and body:
        key = key if key in body else next(iter(body))
        text = json.dumps(body)
        return text[:-1] + f", {json.dumps(key)}: {json.dumps(body[key])}" + "}"
    if isinstance(body, dict):
        return json.dumps({**body, key or "x": MARK}).replace(json.dumps(MARK), hostile)
    if isinstance(body, list):
        return json.dumps([*body, MARK]).replace(json.dumps(MARK), hostile)
    return hostile


def _tokens(store) -> dict[str, str]:
    return {role: issue_token(store, name=role, role=role, measures=None, metadata=Metadata(actor="admin"))[1] for role in ROLES}


def _headers_for(api, secrets):
    permissions = {(method, route.path): _permission(route) for route in _routes(api.routes) for method in route.methods}

    def headers(operation) -> dict[str, str]:
        permission = permissions[(operation.method.upper(), operation.path)]
        admitted = sorted(PERMISSIONS[permission]) if permission else []
        role = ("editor" if "editor" in admitted else admitted[0]) if permission else None
        return {"Authorization": f"Bearer {secrets[role]}"} if role else {}

    return headers


def test_invalid_values_the_schema_forbids_get_a_4xx_problem_never_a_server_error(api, store):
    headers = _headers_for(api, _tokens(store))
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    checks = [schemathesis.checks.not_a_server_error, schemathesis.checks.content_type_conformance]
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        given_headers = headers(operation)

        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))
        def check(case):
            response = case.call(headers=given_headers)
            case.validate_response(response, checks=checks)

        try:
            check()
        except Unsatisfiable:
            continue  # nothing in this operation can be made invalid (no parameters, no body)
        tried += 1
    assert tried >= 15


def test_hostile_json_in_every_body_gets_a_4xx_problem_never_a_server_error(api, store):
    headers = _headers_for(api, _tokens(store))
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    client = TestClient(api, raise_server_exceptions=False)
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() not in ("POST", "PATCH", "PUT"):
            continue
        given_headers = headers(operation)

        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy(), hostile=st.sampled_from(HOSTILE), key=st.text(max_size=8), repeat=st.booleans(), data=st.data())
        def check(case, hostile, key, repeat, data):
            body = case.body if isinstance(case.body, (dict, list)) else {}
            if isinstance(body, dict) and body and data.draw(st.booleans()):
                key = data.draw(st.sampled_from(sorted(body)))  # replace a value the schema names
            text = hostile_text(body, hostile, key, repeat)
            response = client.request(
                operation.method.upper(), case.formatted_path, params=case.query, content=text.encode("utf-8", "surrogatepass"),
                headers={**given_headers, "Content-Type": "application/json"},
            )
            assert response.status_code < 500, (operation.path, text[:200], response.text[:500])
            if response.status_code >= 400:
                assert response.headers["content-type"] == "application/problem+json", response.text[:200]
                json.loads(response.content)  # the problem echoes what it was sent as JSON can carry it

        check()
        tried += 1
    assert tried >= 10
