"""GET /metrics, and the route template a request is counted under (never the raw path: see middleware.RequestContext)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import Scope

from .. import metrics

UNMATCHED = "<unmatched>"  # a 404 outside every route: one label value, whatever was asked for

router = APIRouter()


@router.get("/metrics", tags=["health"], summary="Prometheus metrics (text exposition format)", include_in_schema=False)
async def scrape(request: Request) -> Response:
    body = await run_in_threadpool(metrics.exposition, request.app.state.app)
    return Response(body, media_type=metrics.CONTENT_TYPE)


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        return UNMATCHED
    if isinstance(route, Mount):
        return (route.path or "") + "/{path}"  # the static site: every file is one label value
    return getattr(route, "path", UNMATCHED)
