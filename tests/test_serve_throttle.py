"""`serve` behind a proxy limits failed authentication per real client: the forwarded address from a
trusted proxy, the connection's own otherwise (so no client can pick the address it is counted as)."""

from __future__ import annotations

import itertools

import httpx
import pytest

from .serving import Serving, cli

pytestmark = pytest.mark.slow
_ids = itertools.count(1)


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    env = {
        "POLICING_METRICS_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}",
        "POLICING_METRICS_PUBLISH_TO": str(tmp_path / "site"),
        "POLICING_METRICS_AUTH_FAILURE_LIMIT": "2/minute",
    }
    assert cli(env, "db", "upgrade").returncode == 0
    return env


def bad_token_from(server: Serving, client: str) -> int:
    """One failed authentication, each with a new token id, so only the client's count grows."""
    headers = {"Authorization": f"Bearer pm_{next(_ids):016x}_guess", "X-Forwarded-For": client}
    return httpx.get(f"{server.base}/audit/head", headers=headers, timeout=10).status_code


def test_failures_are_counted_per_forwarded_client_behind_a_trusted_proxy(tmp_path, env):
    with Serving(tmp_path, env) as server:  # the default trusts 127.0.0.1, where these requests come from
        assert [bad_token_from(server, "203.0.113.7") for _ in range(3)] == [401, 401, 429]
        assert bad_token_from(server, "203.0.113.8") == 401, "another client behind the proxy is not blocked"


def test_a_forwarded_address_from_an_untrusted_peer_does_not_escape_the_limit(tmp_path, env):
    with Serving(tmp_path, {**env, "POLICING_METRICS_FORWARDED_ALLOW_IPS": "192.0.2.1"}) as server:
        assert [bad_token_from(server, "203.0.113.7") for _ in range(2)] == [401, 401]
        assert bad_token_from(server, "203.0.113.8") == 429, "a new X-Forwarded-For does not make a new client"
