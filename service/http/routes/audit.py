"""For auditors: the log paged by position, the chain's verification, and the head."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Iterator

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from events import Head

from ...tokens import Token
from ..auth import requires
from ..problems import Problem

router = APIRouter(prefix="/audit", tags=["auditors"])
Auditor = Annotated[Token, Depends(requires("audit:read"))]


class HeadOut(BaseModel):
    position: int
    hash: str


class VerifyOut(BaseModel):
    ok: bool
    checked: int
    head: HeadOut
    first_bad_position: int | None = None
    problem: str | None = None


@router.get(
    "/log",
    summary="The event log from a position, as JSON lines",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "One event per line, in position order."}},
)
def read_log(
    request: Request,
    _: Auditor,
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
    report = await run_in_threadpool(request.app.state.store.verify, expected)
    return VerifyOut(
        ok=report.ok,
        checked=report.checked,
        head=HeadOut(position=report.head.position, hash=report.head.hash),
        first_bad_position=report.breach.position if report.breach else None,
        problem=report.breach.problem if report.breach else None,
    )
