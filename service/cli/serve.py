"""`policing-metrics serve`: the HTTP API (and, later, the published site and the scheduler)."""

from __future__ import annotations

import typer

from .common import cli, ready


@cli.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", envvar="POLICING_METRICS_HOST", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", envvar="POLICING_METRICS_PORT", min=0, max=65535),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (PostgreSQL only for more than one)."),
) -> None:
    """Serve the HTTP API: OpenAPI at /openapi.json, interactive docs at /docs."""
    import uvicorn

    from ..http import create_app

    app = ready(ctx)
    uvicorn.run(create_app(app), host=host, port=port, log_config=None, access_log=False, server_header=False)
