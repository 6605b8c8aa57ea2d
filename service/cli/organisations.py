"""`policing-metrics organisations`: the forces and PCC offices a hub serves, and the areas each owns."""

from __future__ import annotations

import json
from typing import Optional

import typer

from ..handlers.organisations import define_organisation, load_organisations
from .common import cli, fail, ready
from .recording import actor_option, metadata, refusals

organisations_cli = typer.Typer(help="Organisations (a force, a PCC's office) and the areas each owns.", no_args_is_help=True)
cli.add_typer(organisations_cli, name="organisations")


@organisations_cli.command("define")
def define(
    ctx: typer.Context,
    organisation: str = typer.Argument(..., help="The organisation's id, e.g. kent-police."),
    name: str = typer.Option(..., "--name", help="As people write it, e.g. Kent Police."),
    areas: str = typer.Option(..., "--areas", help="Comma-separated areas it owns: ids, ONS codes or force names."),
    actor: Optional[str] = actor_option(),
) -> None:
    """Define an organisation and the areas it owns (an area belongs to one organisation)."""
    app = ready(ctx)
    with refusals():
        result = define_organisation(app.store, organisation, name, [a.strip() for a in areas.split(",") if a.strip()], metadata(app, actor))
    typer.echo(f"organisation {organisation} defined (position {result.last_position})")


@organisations_cli.command("list")
def list_(ctx: typer.Context, format: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """List the organisations and their areas."""
    app = ready(ctx)
    if format not in ("table", "json"):
        raise fail(f"--format: expected table or json, found {format!r}", 2)
    organisations = sorted(load_organisations(app.store)[0].values(), key=lambda o: o.organisation)
    if format == "json":
        typer.echo(json.dumps([{"organisation": o.organisation, "name": o.name, "areas": sorted(o.areas)} for o in organisations], indent=2))
        return
    for o in organisations:
        typer.echo(f"{o.organisation}  {o.name}  areas={','.join(sorted(o.areas))}")
