"""The FastAPI application: middleware, problem details, routers, health.

`create_app(app)` takes the composition root's App, so tests and `serve` wire it the same way.
"""

from __future__ import annotations

import gc

from fastapi import FastAPI

from .. import __version__
from ..bootstrap import App
from ..handlers.tokens import TokenDirectory
from . import auth, docs, problems
from .metrics import router as metrics_router
from .middleware import BodyLimit, RequestContext
from .reads import ReadModels
from .security import SecurityHeaders
from .throttle import FailedAuthentication
from .routes import audit, health, public, recording

MAX_BODY_BYTES = 16 * 1024 * 1024
# At startup every object then alive (modules, the app, its routes and models: ~150,000) moves to
# the collector's permanent generation, so a full collection no longer walks them: on a busy
# server that walk stalled every request in flight for ~100 ms about every half minute.
# Shutdown hands them back, so an app started and stopped in a test leaves nothing frozen.


def create_app(app: App, *, max_body_bytes: int = MAX_BODY_BYTES, site: str | None = None) -> FastAPI:
    api = FastAPI(
        title="policing-metrics",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        description=(
            "Statutory policing performance statements from an append-only, verifiable log. "
            "The public reads released editions without a token; data owners, editors, auditors "
            "and admins send `Authorization: Bearer <token>`. Errors are RFC 9457 problem details."
        ),
    )
    api.state.app = app
    api.state.store = app.store
    api.state.tokens = TokenDirectory(app.store, app.clock)
    api.state.failed_authentication = FailedAuthentication(app.settings.auth_failure_limit, app.settings.rate_limit_storage)
    api.state.reads = ReadModels(app.store, lambda: app.published, app.projections)
    # At start-up, not at the first read: a projection whose stored format changed is rebuilt here.
    api.router.add_event_handler("startup", api.state.reads.current)
    api.router.add_event_handler("startup", gc.freeze)
    api.router.add_event_handler("shutdown", gc.unfreeze)
    problems.install(api)
    auth.install(api)
    api.add_middleware(BodyLimit, limit=max_body_bytes)
    api.add_middleware(RequestContext)
    api.add_middleware(SecurityHeaders)
    docs.install(api)

    api.include_router(health.router)
    api.include_router(metrics_router)
    api.include_router(audit.router)
    api.include_router(recording.router)
    api.include_router(public.router)
    if site is not None:
        _mount_site(api, site)
    return api


def _mount_site(api: FastAPI, destination: str) -> None:
    """Serve the published site at / when it is a local directory (an S3 site is served by S3)."""
    from fastapi.staticfiles import StaticFiles

    from publishers.stores import LocalDirectory, open_store

    class SiteFiles(StaticFiles):
        """405 only for a file that is there: a POST to a path neither the API nor the site has is a 404."""

        async def get_response(self, path: str, scope):
            if scope["method"] not in ("GET", "HEAD"):
                from starlette.concurrency import run_in_threadpool
                from starlette.exceptions import HTTPException

                try:
                    _, found = await run_in_threadpool(self.lookup_path, path)
                except (OSError, ValueError):
                    found = None
                if found is None:
                    raise HTTPException(404)
                raise HTTPException(405, headers={"Allow": "GET, HEAD"})
            return await super().get_response(path, scope)

    store = open_store(destination)
    if isinstance(store, LocalDirectory):
        store.root.mkdir(parents=True, exist_ok=True)
        api.mount("/", SiteFiles(directory=store.root, html=True, check_dir=False), name="site")
