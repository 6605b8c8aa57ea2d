"""API tokens: issued with a role and perhaps an expiry, rotated, revoked with a reason; a bearer
names an active, unexpired token only, and failed authentication is rate limited."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from events import Metadata
from events.domain.errors import InvalidValue, TokenAlreadyRevoked, TokenExpired, TokenNotRecognised, UnknownToken
from events.domain.rules import tokens as rules
from service.bootstrap import App
from service.cli import cli
from service.config import Settings
from service.handlers.tokens import TokenDirectory, issue_token, list_tokens, revoke_token, rotate_token
from service.http import create_app

ADMIN = Metadata(actor="admin@wmp", source="cli")
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def issued(token_id="0123456789abcdef", secret="s3cret", role="editor", measures=None, name="desk"):
    event = rules.issue({}, token_id=token_id, secret=secret, name=name, role=role, measures=measures)
    return ("TokenIssued", event.model_dump(), "2026-01-05T09:00:00Z", "admin@wmp")


def test_issuing_a_token_records_only_the_hash_of_its_secret():
    event = rules.issue({}, token_id="0123456789abcdef", secret="s3cret", name="desk", role="editor", measures=None)
    assert event.secret_sha256 == rules.secret_sha256("s3cret")
    assert "s3cret" not in event.model_dump_json()


def test_a_token_of_an_unknown_role_is_refused_naming_the_roles():
    with pytest.raises(InvalidValue, match="role: expected one of data-owner, editor, auditor, admin, found 'root'"):
        rules.issue({}, token_id="0123456789abcdef", secret="s", name="desk", role="root", measures=None)


def test_only_a_data_owner_token_is_limited_to_named_measures():
    with pytest.raises(InvalidValue, match="only data-owner tokens are limited"):
        rules.issue({}, token_id="0123456789abcdef", secret="s", name="desk", role="editor", measures=["homicide"])
    event = rules.issue({}, token_id="0123456789abcdef", secret="s", name="desk", role="data-owner", measures=["homicide"])
    assert event.measures == ["homicide"]


def test_revoking_an_unknown_or_revoked_token_is_refused():
    tokens = rules.fold([issued()])
    with pytest.raises(UnknownToken, match="no token with id 'ffffffffffffffff'"):
        rules.revoke(tokens, "ffffffffffffffff", "lost")
    revoked = rules.fold([issued(), ("TokenRevoked", {"token_id": "0123456789abcdef", "reason": "lost"}, "2026-01-06T09:00:00Z", "a")])
    with pytest.raises(TokenAlreadyRevoked, match="already revoked at 2026-01-06T09:00:00Z"):
        rules.revoke(revoked, "0123456789abcdef", "lost again")


def test_revoking_needs_a_reason():
    with pytest.raises(InvalidValue, match="reason: expected a reason for revoking the token"):
        rules.revoke(rules.fold([issued()]), "0123456789abcdef", " ")


@pytest.mark.parametrize(
    "bearer",
    ["pm_0123456789abcdef_wrong", "pm_ffffffffffffffff_s3cret", "xx_0123456789abcdef_s3cret", "pm_0123456789abcdef", "s3cret", ""],
)
def test_a_bearer_with_a_wrong_secret_id_or_shape_names_no_token(bearer):
    with pytest.raises(TokenNotRecognised, match="unknown or revoked"):
        rules.authenticate(rules.fold([issued()]), bearer, NOW)


def test_a_bearer_names_its_token_until_the_token_is_revoked():
    tokens = rules.fold([issued()])
    assert rules.authenticate(tokens, "pm_0123456789abcdef_s3cret", NOW).name == "desk"
    revoked = rules.fold([issued(), ("TokenRevoked", {"token_id": "0123456789abcdef", "reason": "lost"}, "2026-01-06T09:00:00Z", "a")])
    with pytest.raises(TokenNotRecognised):
        rules.authenticate(revoked, "pm_0123456789abcdef_s3cret", NOW)


def test_a_token_issued_and_revoked_through_the_store_is_known_to_the_directory_at_once(store, clock):
    directory = TokenDirectory(store, clock)
    token, bearer = issue_token(store, name="analyst", role="data-owner", measures=["homicide"], metadata=ADMIN)
    assert directory.authenticate(bearer) == token
    assert token.issued_by == "admin@wmp" and token.measures == ("homicide",)
    revoke_token(store, token.token_id, "left the team", ADMIN)
    with pytest.raises(TokenNotRecognised):
        directory.authenticate(bearer)
    assert [t.active for t in list_tokens(store)] == [False]


# -- expiry and rotation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("90d", NOW + timedelta(days=90)),
        ("12h", NOW + timedelta(hours=12)),
        ("2026-03-31T17:00:00+01:00", datetime(2026, 3, 31, 16, 0, tzinfo=timezone.utc)),
    ],
)
def test_an_expiry_is_a_lifetime_or_a_time_with_its_offset(text, expected):
    assert rules.expiry(text, NOW) == expected


@pytest.mark.parametrize(
    "text, hint",
    [("soon", ""), ("2026-03-31T17:00:00", "give the time's offset"), ("2025-12-31T00:00:00Z", "not in the future"), ("0h", "not in the future")],
)
def test_an_expiry_that_is_not_a_future_moment_is_refused(text, hint):
    with pytest.raises(InvalidValue, match=f"expires: expected a lifetime such as 90d.*{hint}"):
        rules.expiry(text, NOW)


def test_a_token_is_refused_from_its_expiry_on_with_when_it_expired_and_what_to_do(store, clock):
    directory = TokenDirectory(store, clock)
    token, bearer = issue_token(store, name="panel", role="auditor", measures=None, metadata=ADMIN, expires_at=clock.now + timedelta(days=1))
    assert token.expires_at == "2026-01-06T09:00:00Z"
    clock.advance(hours=23, minutes=59)
    assert directory.authenticate(bearer) == token
    clock.advance(minutes=1)
    with pytest.raises(TokenExpired, match=f"expired at 2026-01-06T09:00:00Z: .*tokens rotate {token.token_id}"):
        directory.authenticate(bearer)


def test_rotating_gives_the_holder_a_new_secret_with_the_same_scope_and_revokes_the_old_in_one_append(store, clock):
    directory = TokenDirectory(store, clock)
    old, old_bearer = issue_token(store, name="analyst", role="data-owner", measures=["homicide"], metadata=ADMIN, expires_at=clock.now + timedelta(days=30))
    clock.advance(days=40)  # expired: rotating is how its holder gets going again
    new, new_bearer = rotate_token(store, old.token_id, ADMIN, now=clock.now)
    assert (new.name, new.role, new.measures, new.replaces) == ("analyst", "data-owner", ("homicide",), old.token_id)
    assert new.expires_at == "2026-03-16T09:00:00Z", "as long a life as the old one had"
    assert directory.authenticate(new_bearer) == new
    with pytest.raises(TokenNotRecognised):
        directory.authenticate(old_bearer)
    issued, revoked = store.read_stream("api-tokens")[1:]
    assert (issued.type, revoked.type, issued.position + 1) == ("TokenIssued", "TokenRevoked", revoked.position)
    assert revoked.data["reason"] == f"rotated: replaced by {new.token_id}"
    with pytest.raises(TokenAlreadyRevoked):
        rotate_token(store, old.token_id, ADMIN, now=clock.now)


def test_the_cli_creates_an_expiring_token_rotates_it_and_lists_both(database_url):
    runner = CliRunner()

    def run(*args):
        return runner.invoke(cli, ["--database-url", database_url, *args], catch_exceptions=False)

    assert run("db", "upgrade").exit_code == 0
    created = run("tokens", "create", "--role", "editor", "--name", "comms", "--expires", "30d")
    assert created.exit_code == 0, created.output
    bearer = created.stdout.strip().splitlines()[0]
    token_id = rules.token_id_of(bearer)
    assert "expires 20" in created.stderr
    rotated = run("tokens", "rotate", token_id)
    assert rotated.exit_code == 0, rotated.output
    assert rotated.stdout.strip() != bearer and rotated.stdout.startswith("pm_")
    listed = run("tokens", "list").stdout.splitlines()
    assert any(token_id in line and "revoked" in line for line in listed)
    assert any(token_id not in line and "active until 20" in line for line in listed)
    refused = run("tokens", "create", "--role", "editor", "--name", "x", "--expires", "yesterday")
    assert refused.exit_code == 2
    assert "expires: expected a lifetime such as 90d or 12h" in refused.output


# -- over HTTP ----------------------------------------------------------------------------------


@pytest.fixture
def api(store, database_url, clock):
    application = App(Settings(database_url=database_url, default_area="west-midlands", auth_failure_limit="3/minute"), clock)
    application.__dict__.update(engine=store.engine, store=store)
    with TestClient(create_app(application)) as client:
        yield client


def test_an_expired_token_gets_a_401_problem_saying_it_expired(api, store, clock):
    token, bearer = issue_token(store, name="panel", role="auditor", measures=None, metadata=ADMIN, expires_at=clock.now + timedelta(hours=1))
    assert api.get("/audit/head", headers={"Authorization": f"Bearer {bearer}"}).status_code == 200
    clock.advance(hours=1)
    response = api.get("/audit/head", headers={"Authorization": f"Bearer {bearer}"})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/token-expired")
    assert "expired at 2026-01-05T10:00:00Z" in response.json()["detail"]


def test_failed_authentication_from_one_client_is_limited_with_retry_after_even_for_a_good_token(api, store):
    _, good = issue_token(store, name="panel", role="auditor", measures=None, metadata=ADMIN)
    for attempt in range(3):
        assert api.get("/audit/head", headers={"Authorization": f"Bearer pm_{attempt:016x}_guess"}).status_code == 401
    limited = api.get("/audit/head", headers={"Authorization": "Bearer pm_ffffffffffffffff_guess"})
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert api.get("/audit/head", headers={"Authorization": f"Bearer {good}"}).status_code == 429
    assert api.get("/public/editions").status_code == 200, "the public, sending no token, is not limited"


def test_guessing_the_secret_of_one_token_is_limited_whatever_the_client_address(store, database_url, clock):
    application = App(Settings(database_url=database_url, auth_failure_limit="3/minute"), clock)
    application.__dict__.update(engine=store.engine, store=store)
    api = create_app(application)
    token, good = issue_token(store, name="panel", role="auditor", measures=None, metadata=ADMIN)
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        with TestClient(api, client=(address, 50000)) as client:
            assert client.get("/audit/head", headers={"Authorization": f"Bearer pm_{token.token_id}_guess"}).status_code == 401
    with TestClient(api, client=("192.0.2.4", 50000)) as client:
        assert client.get("/audit/head", headers={"Authorization": f"Bearer {good}"}).status_code == 429
        other, other_good = issue_token(store, name="desk", role="auditor", measures=None, metadata=ADMIN)
        assert client.get("/audit/head", headers={"Authorization": f"Bearer {other_good}"}).status_code == 200


def test_a_failed_authentication_is_logged_with_the_client_and_token_id_never_the_secret(api):
    from structlog.testing import capture_logs

    with capture_logs() as logs:
        api.get("/audit/head", headers={"Authorization": "Bearer pm_00000000000000aa_not-the-secret"})
    (failed,) = [entry for entry in logs if entry["event"] == "auth.failed"]
    assert (failed["token_id"], failed["why"], failed["client"]) == ("00000000000000aa", "token-not-recognised", "testclient")
    assert "not-the-secret" not in repr(logs)
