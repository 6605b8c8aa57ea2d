"""For auditors: the log paged by position, the chain's verification, and the head."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Iterator, Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from events import Head
from events.projections import ProjectionError

from events.domain.rules import access as access_rules

from ...handlers import access
from ...handlers.tokens import Token
from ..auth import requires
from ..problems import Problem

Auditor = Annotated[Token, Depends(requires("audit:read"))]


def recorded(request: Request, token: Auditor) -> Token:
    """An auditor's read of the log or a projection of it: on the pre-release access list."""
    what = f"{request.method} {request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
    access.record_read(
        request.app.state.store,
        token,
        access_rules.read_log(token),
        what=what,
        clock=request.app.state.app.clock,
        request_id=request.state.request_id,
    )
    return token


router = APIRouter(prefix="/audit", tags=["auditors"])
Reading = Annotated[Token, Depends(recorded)]


class HeadOut(BaseModel):
    position: int
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    head: HeadOut
    first_bad_position: int | None = None
    problem: str | None = None
    approvals: int = 0  # approvals naming their content, each re-folded from the log at its frozen position


@router.get(
    "/log",
    summary="The event log from a position, as JSON lines",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One event per line, in position order."}},
)
def read_log(
    request: Request,
    _: Reading,
    from_position: Annotated[int, Query(alias="from", ge=1, le=2**62)] = 1,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
    as_of: Annotated[datetime | None, Query(description="Only events recorded at or before this time (with zone).")] = None,
    position: Annotated[int | None, Query(ge=0, le=2**62, description="Only events at or before this position.")] = None,
) -> StreamingResponse:
    store = request.app.state.store
    if as_of is not None and as_of.tzinfo is None:
        raise Problem(422, "Invalid request", "as_of needs a time zone, e.g. 2022-02-01T09:30:00Z")
    next_position = from_position + limit

    def lines() -> Iterator[bytes]:
        sent = 0
        for event in store.read_all(
            from_position, as_of_position=position, as_of_time=as_of, batch_size=min(limit, 1000)
        ):
            yield (json.dumps(event.as_dict(), ensure_ascii=False) + "\n").encode()
            sent += 1
            if sent >= limit:
                break

    headers = {"Link": f'<{request.url.path}?from={next_position}&limit={limit}>; rel="next"'}
    return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)


@router.get("/head", response_model=HeadOut, summary="The log's head position and hash")
def head(request: Request, _: Auditor) -> HeadOut:
    current = request.app.state.store.head()
    return HeadOut(position=current.position, hash=current.hash)


@router.get("/verify", response_model=VerifyOut, summary="Walk the hash chain")
async def verify(
    request: Request,
    _: Auditor,
    expect_head: Annotated[str | None, Query(description="POSITION:HASH noted earlier: detects a truncated tail.")] = None,
) -> VerifyOut:
    expected = None
    if expect_head is not None:
        try:
            expected = Head.parse(expect_head)
        except ValueError as exc:
            raise Problem(422, "Invalid request", f"expect_head: {exc}")
    store = request.app.state.store
    report = await run_in_threadpool(store.verify, expected)
    approvals, wrong = 0, []
    if report.ok:  # then every approval names what the log held at its frozen position (docs/proofs.md)
        from service.handlers.editions_published import approval_disagreements

        approvals, wrong = await run_in_threadpool(lambda: approval_disagreements(store, _projections(request)))
    return VerifyOut(
        ok=report.ok and not wrong,
        checked=report.checked,
        head=HeadOut(position=report.head.position, hash=report.head.hash),
        first_bad_position=report.breach.position if report.breach else None,
        problem=report.breach.problem if report.breach else (f"approval disagrees with the log: {wrong[0]}" if wrong else None),
        approvals=approvals,
    )


Moment = Annotated[
    Optional[str],
    Query(max_length=40, description="A log position (1200) or an ISO 8601 time (2022-02-01T09:30:00Z); the head when omitted."),
]
AreaQuery = Annotated[Optional[str], Query(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
PeriodQuery = Annotated[Optional[str], Query(max_length=40, examples=["2021-01/2021-12"])]
MeasurePath = Annotated[str, Path(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]


def _projections(request: Request):
    return request.app.state.reads.current()


def _at(projections, moment: Optional[str]) -> int:
    try:
        return projections.position_of(moment)
    except ProjectionError as exc:
        raise Problem(422, "Invalid request", str(exc))


@router.get("/scorecard", summary="The scorecard as of any time or position, released or not")
def scorecard_as_of(request: Request, _: Reading, at: Moment = None, area: AreaQuery = None) -> dict:
    projections = _projections(request)
    position = _at(projections, at)
    lines = projections.scorecard_lines(position, area=area)
    return {"position": position, "scorecard": [line._asdict() | {"series": list(line.series)} for line in lines]}


@router.get("/history/{measure}", summary="Every value of a measure's figures, with time, actor, reason and kind")
def history_of(
    request: Request, _: Reading, measure: MeasurePath, area: AreaQuery = None, period: PeriodQuery = None, at: Moment = None
) -> dict:
    projections = _projections(request)
    position = _at(projections, at)
    changes = projections.history_of(measure, area, period, position)
    return {"measure": measure, "position": position, "changes": [change.as_json() | {"position": change.position} for change in changes]}


@router.get(
    "/triangle/{measure}",
    summary="The revision triangle of a measure in an area, with mean revision and mean absolute revision",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def triangle(
    request: Request,
    _: Reading,
    measure: MeasurePath,
    area: Annotated[str, Query(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)],
    columns: Annotated[Optional[Literal["editions", "times"]], Query()] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    at: Moment = None,
):
    projections = _projections(request)
    result = projections.triangle(measure, area, columns, _at(projections, at))
    if format == "csv":
        return Response(result.to_csv(), media_type="text/csv; charset=utf-8")
    return result.as_json()


@router.get("/diff", summary="Every figure and paragraph that changed between two moments, with old and new values")
def diff(
    request: Request,
    _: Reading,
    from_: Annotated[str, Query(alias="from", max_length=40)],
    to: Annotated[str, Query(max_length=40)],
) -> dict:
    projections = _projections(request)
    start, end = _at(projections, from_), _at(projections, to)
    try:
        result = projections.diff(start, end)
    except ProjectionError as exc:
        raise Problem(422, "Invalid request", str(exc))
    return result.as_json()


@router.get("/pre-release-access", summary="The pre-release access list: every grant and every read of unreleased material (who, what, when, on what basis)")
def pre_release_access(request: Request, _: Auditor, edition: AreaQuery = None) -> list[dict]:
    return access.access_list(request.app.state.store, edition)
