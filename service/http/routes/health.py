"""Health for load balancers and orchestrators: /healthz (the process answers; no I/O) and /readyz (it can serve).

Liveness never touches the database, so a database outage takes replicas out of rotation instead of restarting them.
"""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from events import EventStoreError

from ...bootstrap import App
from ..problems import Problem

router = APIRouter(tags=["health"])
# Longer than this and the balancer's own check (3 s in deploy/haproxy) would give up first.
READY_TIMEOUT_SECONDS = 2.5
# A key that need not exist: listing it proves the store (bucket, credentials, directory) answers.
PROBE_KEY = "index.html"


@router.get("/healthz", summary="The process is up (no database or store is asked)")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database and the site's object store answer, and the schema is one this software works with")
async def readyz(request: Request) -> dict[str, str]:
    app: App = request.app.state.app
    checks = {"database": lambda: _database(app), "schema": app.check_schema, "object store": lambda: _store(app)}
    answers = {}
    for name, check in checks.items():
        try:
            answers[name] = await asyncio.wait_for(run_in_threadpool(check), READY_TIMEOUT_SECONDS)
        except EventStoreError as exc:  # the schema's own message says what to run, and hides the password
            raise Problem(503, "Service unavailable", f"not ready: {exc}", check=name)
        except Exception as exc:  # the cause goes to the log, not to an anonymous caller
            failure = "timed out" if isinstance(exc, TimeoutError) else type(exc).__name__
            structlog.get_logger().warning("readyz.failed", check=name, error=str(exc) or failure)
            raise Problem(503, "Service unavailable", f"not ready: the {name} did not answer ({failure})", check=name)
    # "compatible": a newer schema whose migrations declare they work with this software (a rolling upgrade).
    return {"status": "ready", "database": "ok", "schema": answers["schema"], "object_store": "ok"}


def _database(app: App) -> None:
    with app.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _store(app: App) -> None:
    app.published.list(PROBE_KEY)
