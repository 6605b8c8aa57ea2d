"""The HTTP API as a whole: who may call what, and no input that breaks the server or the schema."""

from __future__ import annotations

import re

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from events import Metadata
from service.bootstrap import App
from service.config import Settings
from service.http import create_app
from service.http.auth import PERMISSIONS
from service.handlers.tokens import issue_token

ROLES = ("data-owner", "editor", "auditor", "admin")


@pytest.fixture
def api(store, database_url):
    application = App(Settings(database_url=database_url, default_area="west-midlands"))
    application.__dict__.update(engine=store.engine, store=store)
    return create_app(application)


def _permission(route: APIRoute) -> str | None:
    """The permission a route's dependencies ask for (None: public)."""
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        name = getattr(dependant.call, "__name__", "")
        if name.startswith("requires_"):
            return name.removeprefix("requires_").replace("_", ":", 1)
        stack.extend(dependant.dependencies)
    return None


def _routes(routes):
    for route in routes:
        router = getattr(route, "original_router", None)  # an included router
        if router is not None:
            yield from _routes(router.routes)
        elif isinstance(route, APIRoute):
            yield route


def _operations(api) -> list[tuple[str, str, str | None]]:
    operations = []
    for route in _routes(api.routes):
        if route.include_in_schema:
            path = re.sub(r"\{(start|end)\}", "2021-01", route.path)
            path = re.sub(r"\{number\}", "1", path)
            path = re.sub(r"\{[a-z_]+\}", "homicide", path)
            for method in route.methods:
                operations.append((method, path, _permission(route)))
    return operations


def test_every_endpoint_answers_each_role_and_no_token_as_the_permission_table_says(api, store, database_url):
    tokens = {
        role: issue_token(store, name=role, role=role, measures=None, metadata=Metadata(actor="admin"))[1] for role in ROLES
    }
    operations = _operations(api)
    assert len(operations) >= 20
    checked = 0
    with TestClient(api) as client:
        for method, path, permission in operations:
            for role in (None, *ROLES):
                headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
                response = client.request(method, path, headers=headers, json={})
                status = response.status_code
                if permission is None:
                    assert status not in (401, 403), (method, path, role, status)
                elif role is None:
                    assert status == 401, (method, path, role, status)
                elif role in PERMISSIONS[permission]:
                    # Past the door, a read of what is not released may still be refused by the access
                    # rules (tests/test_read_matrix.py has that table); a role refusal never.
                    refused_read = status == 403 and response.json()["type"].endswith("/read-refused")
                    assert status not in (401, 403) or refused_read, (method, path, role, status)
                else:
                    assert status == 403, (method, path, role, status)
                checked += 1
    assert checked == len(operations) * 5


def test_no_input_produces_a_server_error_or_a_response_outside_the_schema(api, store):
    """Each operation is fuzzed with a token of a role it admits, so the input reaches the handler."""
    secrets = {
        role: issue_token(store, name=role, role=role, measures=None, metadata=Metadata(actor="admin"))[1] for role in ROLES
    }
    permissions = {(method, route.path): _permission(route) for route in _routes(api.routes) for method in route.methods}
    schema = schemathesis.openapi.from_asgi("/openapi.json", api)
    checks = [
        schemathesis.checks.not_a_server_error,
        schemathesis.checks.response_schema_conformance,
        schemathesis.checks.content_type_conformance,
    ]
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        permission = permissions[(operation.method.upper(), operation.path)]
        # An editor may read what is unreleased (test_read_matrix.py), so its reads reach the handler.
        admitted = sorted(PERMISSIONS[permission]) if permission else []
        role = ("editor" if "editor" in admitted else admitted[0]) if permission else None
        headers = {"Authorization": f"Bearer {secrets[role]}"} if role else {}

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=checks)

        check()
        tried += 1
    assert tried >= 20
