"""`policing-metrics serve`: the HTTP API, the published site and (unless --no-scheduler) the release scheduler."""

from __future__ import annotations

from datetime import timedelta

import structlog
import typer

from .common import cli, ready


@cli.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", envvar="POLICING_METRICS_HOST", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", envvar="POLICING_METRICS_PORT", min=0, max=65535),
    scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler", help="Run the release scheduler in this process."),
    sweep_seconds: float = typer.Option(30.0, "--sweep-seconds", help="How often the scheduler looks for anything due."),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) and the published site at /."""
    import uvicorn

    from ..http import create_app
    from ..scheduler import ReleaseScheduler

    app = ready(ctx)
    api = create_app(app, site=app.settings.publish_to)
    log = structlog.get_logger()
    runner = None
    if scheduler:
        runner = ReleaseScheduler(
            app.store, app.publish, clock=app.clock, sweep_interval=timedelta(seconds=sweep_seconds),
            verify_interval=timedelta(hours=24),
        )

        @api.on_event("startup")
        def _start_scheduler() -> None:
            runner.start()
            log.info("serve.scheduler_started", jobs=len(runner.planned_jobs()))

        @api.on_event("shutdown")
        def _stop_scheduler() -> None:
            runner.stop()

    log.info("serve.listening", url=f"http://{host}:{port}/", api_docs=f"http://{host}:{port}/docs", scheduler=scheduler)
    uvicorn.run(api, host=host, port=port, log_config=None, access_log=False, server_header=False)
