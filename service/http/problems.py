"""RFC 9457 problem details: every 4xx and 5xx the service answers is application/problem+json."""

from __future__ import annotations

import math
from typing import Any

import structlog
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from events import (
    EventStoreError,
    IdempotencyKeyReused,
    InvalidEvent,
    UnknownEventType,
    WrongExpectedVersion,
)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://policing-metrics.readthedocs.io/problems/"


class Problem(Exception):
    """Raise to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        type: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type
        self.headers = headers or {}
        self.extensions = extensions


class ProblemDetails(BaseModel):
    """RFC 9457 problem details; `errors` lists each bad field or row where there are several."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[Any] | None = None
    current_version: int | None = None


def document(app: FastAPI) -> None:
    """Make the OpenAPI document say what the API does: every 4xx and 5xx is problem+json."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas["ProblemDetails"] = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
        problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                responses = operation.setdefault("responses", {})
                for code, response in list(responses.items()):
                    if code[0] in "45":
                        response["content"] = problem
                        if code == "422":
                            response["description"] = "Invalid input: each bad field or row is listed"
                responses.setdefault("4XX", {"description": "A problem with the request", "content": problem})
                responses.setdefault("5XX", {"description": "The server could not answer", "content": problem})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    body = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.url.path,
        **problem.extensions,
    }
    return JSONResponse(_echoable(body), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def _echoable(value: Any) -> Any:
    """`value` as JSON can carry it: a problem echoes what it was sent, and what it was sent may be a
    non-finite number (NaN, 1e400) or a lone surrogate ("\\ud800"), which JSON text cannot hold."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # 'nan', 'inf', '-inf'
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_echoable(key): _echoable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_echoable(item) for item in value]
    return value


_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    428: "Precondition required",
    500: "Internal server error",
    503: "Service unavailable",
}


def from_store_error(exc: EventStoreError) -> Problem:
    """The problem a store refusal becomes."""
    if isinstance(exc, WrongExpectedVersion):
        return Problem(
            412,
            "Precondition failed",
            str(exc),
            type=PROBLEM_BASE + "stale-version",
            current_version=exc.actual,
            headers={"ETag": f'"{exc.actual}"'},
        )
    if isinstance(exc, IdempotencyKeyReused):
        return Problem(422, "Idempotency key reused", str(exc), type=PROBLEM_BASE + "idempotency-key-reused")
    if isinstance(exc, InvalidEvent):
        errors = [{"field": field, "message": message} for field, message in exc.problems]
        return Problem(422, "Invalid data", str(exc), type=PROBLEM_BASE + "invalid-data", errors=errors)
    if isinstance(exc, UnknownEventType):
        return Problem(422, "Unknown event type", str(exc), type=PROBLEM_BASE + "unknown-event-type")
    return Problem(400, "Refused", str(exc), type=PROBLEM_BASE + "refused")


def from_domain_error(request: Request, exc: Exception) -> Problem:
    """The problem a refused command becomes: 404 for a missing target, 422 for bad input, 409 for state."""
    from events.domain import errors as domain
    from ..handlers.imports import ImportRefused

    detail = str(exc)
    name = type(exc).__name__
    kebab = "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")
    if isinstance(exc, ImportRefused):
        rows = [{"line": p.line, "column": p.column, "message": p.message, "unit": p.unit} for p in exc.problems]
        return Problem(422, "Bad rows, nothing written", detail, type=PROBLEM_BASE + kebab, errors=rows)
    if isinstance(exc, domain.InvalidValue):
        errors = [{"field": exc.field, "message": exc.detail if not isinstance(exc, domain.BadPlaceholders) else "; ".join(exc.problems)}]
        return Problem(422, "Invalid data", detail, type=PROBLEM_BASE + kebab, errors=errors)
    missing_target = (domain.UnknownFigure, domain.UnknownEdition, domain.UnknownParagraph, domain.ReleaseNotAnnounced)
    if isinstance(exc, missing_target) or (
        isinstance(exc, domain.UnknownMeasure) and request.url.path.startswith("/measures/")
    ):
        return Problem(404, "Not found", detail, type=PROBLEM_BASE + kebab)
    bad_input = (
        domain.UnknownMeasure,
        domain.InvalidReleaseTime,
        domain.ReleaseTimeInPast,
        domain.WeekendRelease,
        domain.BankHolidayRelease,
        domain.TooLittleNotice,
        domain.ReasonRequired,
        domain.TitleRequired,
    )
    if isinstance(exc, bad_input):
        return Problem(422, "Refused", detail, type=PROBLEM_BASE + kebab)
    extensions = {}
    if isinstance(exc, domain.NotReadyToApprove):
        extensions["errors"] = [str(problem) for problem in exc.problems]
    return Problem(409, "Conflict", detail, type=PROBLEM_BASE + kebab, **extensions)


def install(app: FastAPI) -> None:
    document(app)
    from events.domain.errors import DomainError

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem_response(request, from_domain_error(request, exc))

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(request, exc)

    @app.exception_handler(EventStoreError)
    async def _store(request: Request, exc: EventStoreError):
        return problem_response(request, from_store_error(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = [
            {"field": ".".join(str(part) for part in error["loc"]), "message": _message(error), "found": _found(error)}
            for error in exc.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(
            request, Problem(422, "Invalid request", detail, type=PROBLEM_BASE + "invalid-request", errors=errors)
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        title = _TITLES.get(exc.status_code, "Error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem_response(request, Problem(exc.status_code, title, detail, headers=dict(exc.headers or {})))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        structlog.get_logger().exception("http.unhandled", path=request.url.path)
        return problem_response(
            request,
            Problem(500, "Internal server error", "The server failed to answer; the error is logged with this request's id."),
        )


def _message(error: dict) -> str:
    if error.get("type") == "string_unicode" and isinstance(error.get("input"), str):  # a lone surrogate
        from events.domain.errors import UnpublishableText

        return str(UnpublishableText("", error["input"]))
    return error["msg"]


def _found(error: dict) -> Any:
    value = error.get("input")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return type(value).__name__
