"""Who may do what: bearer tokens, roles, and the permission each endpoint needs."""

from __future__ import annotations

from typing import Callable

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from events.domain.errors import TokenExpired, TokenRefused
from events.domain.rules.access import ReadRefused
from events.domain.rules.tokens import token_id_of

from ..handlers.tokens import Token
from .problems import PROBLEM_BASE, Problem, problem_response

# One line per permission: the roles that hold it. Auditors read everything and write nothing.
PERMISSIONS: dict[str, frozenset[str]] = {
    "figures:write": frozenset({"data-owner"}),
    "statements:write": frozenset({"editor"}),
    "releases:write": frozenset({"editor"}),
    "measures:write": frozenset({"admin"}),
    "audit:read": frozenset({"auditor"}),
    # Reading measures, figures and editions as they stand: any token holder gets past the door;
    # what each may see before release is decided per read (events/domain/rules/access.py).
    "internal:read": frozenset({"data-owner", "editor", "auditor", "admin"}),
}

_bearer = HTTPBearer(auto_error=False, description="An API token from `policing-metrics tokens create`.")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="policing-metrics"'}


def requires(permission: str) -> Callable[..., Token]:
    roles = PERMISSIONS[permission]

    def dependency(request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> Token:
        if credentials is None:
            raise Problem(401, "Unauthorized", "this endpoint needs an API token: send `Authorization: Bearer <token>`", headers=_CHALLENGE)
        claimed = token_id_of(credentials.credentials)
        throttle = request.app.state.failed_authentication
        throttle.check(request, claimed)
        try:
            token = request.app.state.tokens.authenticate(credentials.credentials)
        except TokenRefused as exc:
            kind = "token-expired" if isinstance(exc, TokenExpired) else "token-not-recognised"
            throttle.failed(request, claimed, kind)
            raise Problem(401, "Unauthorized", str(exc), type=PROBLEM_BASE + kind, headers=_CHALLENGE)
        if token.role not in roles:
            raise Problem(
                403,
                "Forbidden",
                f"{'an' if token.role[0] in 'aeiou' else 'a'} {token.role} token may not do this: "
                f"it needs the role {' or '.join(sorted(roles))}",
            )
        request.state.actor = f"token:{token.token_id}:{token.name}"
        return token

    dependency.__name__ = f"requires_{permission.replace(':', '_')}"
    return dependency


def check_measure(token: Token, measure: str) -> None:
    if not token.may_submit_for(measure):
        raise Problem(403, "Forbidden", f"this token may submit figures only for: {', '.join(token.measures or ())}; not {measure!r}")


def install(api: FastAPI) -> None:
    """A read of unreleased material the token may not see is a 403 (a more specific handler than
    the domain errors' 409, which Starlette picks by the exception's class)."""

    @api.exception_handler(ReadRefused)
    async def _refused(request: Request, exc: ReadRefused):
        structlog.get_logger("http.auth").warning("access.refused", path=request.url.path, actor=getattr(request.state, "actor", None))
        return problem_response(request, Problem(403, "Forbidden", str(exc), type=PROBLEM_BASE + "read-refused"))
