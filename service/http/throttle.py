"""Rate limiting of failed authentication, counted by the `limits` library.

A client that keeps sending bad tokens, or anyone trying secrets for one token id, gets 429 with
Retry-After once `auth_failure_limit` failures are counted in the moving window, for that client
address or that token id alike; a good token from a blocked client is refused too, until the
window lets it in, so guessing cannot continue behind a lucky hit. Counts live in
`rate_limit_storage`: memory:// is per process (each replica counts on its own), a shared store
(redis://...) makes the limit hold across replicas.
"""

from __future__ import annotations

import math
import time

import structlog
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request

from .problems import Problem

log = structlog.get_logger("http.auth")


def client_address(request: Request) -> str:
    """The address failures are counted against: the connection's peer.

    Behind a proxy named in the forwarded_allow_ips setting, `serve` (uvicorn) has already put
    the client the proxy saw there, from X-Forwarded-For of that proxy's connections only. Never
    read X-Forwarded-For here, or any client could choose the address it is counted against."""
    return request.client.host if request.client else "unknown"


class FailedAuthentication:
    def __init__(self, limit: str = "10/minute", storage: str = "memory://") -> None:
        self.item = parse(limit)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))

    def _keys(self, request: Request, token_id: str | None) -> list[tuple[str, str]]:
        keys = [("client", client_address(request))]
        if token_id:
            keys.append(("token", token_id))
        return keys

    def check(self, request: Request, token_id: str | None) -> None:
        """429 if the client or the token id has used up its failures."""
        for kind, key in self._keys(request, token_id):
            if not self.limiter.test(self.item, "auth-failure", kind, key):
                reset = self.limiter.get_window_stats(self.item, "auth-failure", kind, key).reset_time
                wait = max(1, math.ceil(reset - time.time()))
                log.warning("auth.throttled", limited=kind, key=key, retry_after=wait)
                raise Problem(
                    429,
                    "Too many requests",
                    f"too many failed authentications from this {'client' if kind == 'client' else 'token id'}: "
                    f"try again in {wait} seconds",
                    headers={"Retry-After": str(wait)},
                )

    def failed(self, request: Request, token_id: str | None, why: str) -> None:
        log.warning("auth.failed", client=client_address(request), token_id=token_id, why=why)
        for kind, key in self._keys(request, token_id):
            self.limiter.hit(self.item, "auth-failure", kind, key)
