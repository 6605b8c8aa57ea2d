"""API tokens: issued with a role, revoked with a reason, and a bearer names an active token only."""

from __future__ import annotations

import pytest

from events import Metadata
from events.domain.errors import InvalidValue, TokenAlreadyRevoked, UnknownToken
from events.domain.rules import tokens as rules
from service.handlers.tokens import TokenDirectory, issue_token, list_tokens, revoke_token

ADMIN = Metadata(actor="admin@wmp", source="cli")


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
    assert rules.authenticate(rules.fold([issued()]), bearer) is None


def test_a_bearer_names_its_token_until_the_token_is_revoked():
    tokens = rules.fold([issued()])
    assert rules.authenticate(tokens, "pm_0123456789abcdef_s3cret").name == "desk"
    revoked = rules.fold([issued(), ("TokenRevoked", {"token_id": "0123456789abcdef", "reason": "lost"}, "2026-01-06T09:00:00Z", "a")])
    assert rules.authenticate(revoked, "pm_0123456789abcdef_s3cret") is None


def test_a_token_issued_and_revoked_through_the_store_is_known_to_the_directory_at_once(store):
    directory = TokenDirectory(store)
    token, bearer = issue_token(store, name="analyst", role="data-owner", measures=["homicide"], metadata=ADMIN)
    assert directory.authenticate(bearer) == token
    assert token.issued_by == "admin@wmp" and token.measures == ("homicide",)
    revoke_token(store, token.token_id, "left the team", ADMIN)
    assert directory.authenticate(bearer) is None
    assert [t.active for t in list_tokens(store)] == [False]
