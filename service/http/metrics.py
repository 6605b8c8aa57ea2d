"""ASGI middleware counting and timing every request by route template (never the raw path), and GET /metrics."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class RequestMetrics:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route, method = route_of(scope), scope["method"]
            metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
            metrics.HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
