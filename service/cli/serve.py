"""`policing-metrics serve`: the HTTP API, the published site and (unless --no-scheduler) the release scheduler."""

from __future__ import annotations

import signal
from datetime import timedelta
from typing import Optional

import structlog
import typer

from .common import cli, ready


@cli.command()
def serve(
    ctx: typer.Context,
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on.", show_default="POLICING_METRICS_HOST, 127.0.0.1"),
    port: Optional[int] = typer.Option(None, "--port", min=0, max=65535, show_default="POLICING_METRICS_PORT, 8000"),
    forwarded_allow_ips: Optional[str] = typer.Option(
        None,
        "--forwarded-allow-ips",
        help="Proxies (addresses or networks, comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed.",
        show_default="POLICING_METRICS_FORWARDED_ALLOW_IPS, 127.0.0.1,::1",
    ),
    shutdown_timeout: Optional[int] = typer.Option(
        None,
        "--shutdown-timeout",
        min=0,
        help="Seconds requests in flight may take to finish after SIGTERM.",
        show_default="POLICING_METRICS_SHUTDOWN_TIMEOUT, 25",
    ),
    scheduler: bool = typer.Option(True, "--scheduler/--no-scheduler", help="Run the release scheduler in this process."),
    sweep_seconds: float = typer.Option(30.0, "--sweep-seconds", help="How often the scheduler looks for anything due."),
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json, docs at /docs) and the published site at /."""
    import uvicorn

    from ..http import create_app

    app = ready(ctx)
    settings = app.settings
    host = settings.host if host is None else host
    port = settings.port if port is None else port
    api = create_app(app, site=app.settings.publish_to)
    log = structlog.get_logger()
    runner = None
    if scheduler:
        runner = app.scheduler(sweep_interval=timedelta(seconds=sweep_seconds), verify_interval=timedelta(hours=24))

        @api.on_event("startup")
        def _start_scheduler() -> None:
            runner.start()
            log.info("serve.scheduler_started", jobs=len(runner.planned_jobs()))

        @api.on_event("shutdown")
        def _stop_scheduler() -> None:
            runner.stop()

    # uvicorn raises SIGTERM again once its graceful shutdown is done; a stop that was asked for and done is a success.
    signal.signal(signal.SIGTERM, _stopped)
    log.info("serve.listening", url=f"http://{host}:{port}/", api_docs=f"http://{host}:{port}/docs", scheduler=scheduler)
    uvicorn.run(
        api,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips,
        timeout_graceful_shutdown=settings.shutdown_timeout if shutdown_timeout is None else shutdown_timeout,
    )


def _stopped(signum: int, frame: object) -> None:
    raise SystemExit(0)
