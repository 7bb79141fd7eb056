"""`parity alerts`: open incidents, and a test notification through a rule's channels."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from parity.cli import ProjectOption, app
from parity.errors import EXIT_ERROR

alerts_app = typer.Typer(help="Open incidents and alert rules.", invoke_without_command=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback()
def alerts_list(ctx: typer.Context, project: ProjectOption = Path(".")) -> None:
    """List open incidents. Example: `parity alerts`."""
    ctx.obj = project  # `parity alerts --project DIR test RULE`: the subcommand runs in DIR too
    if ctx.invoked_subcommand is not None:
        return
    from parity.alerts import open_incidents
    from parity.settings import load_settings

    incidents = open_incidents(load_settings(project))
    if not incidents:
        typer.echo("no open incidents")
    for incident in incidents:
        typer.echo(str(incident))


@alerts_app.command("test")
def alerts_test(
    ctx: typer.Context,
    rule: str,
    project: Annotated[Optional[Path], typer.Option("--project", help="Feature project directory.")] = None,  # noqa: UP045
) -> None:
    """Send a test notification through a rule's channels. Example: `parity alerts --project DIR test page_on_breach`.

    Exit 0 when every channel took it, 2 when any did not (failed, or its secret is unset): a channel test in a
    deploy script fails the deploy.
    """
    from parity.alerts import send_test
    from parity.settings import load_settings

    settings = load_settings(project if project is not None else ctx.obj)
    deliveries = send_test(rule, settings)
    for delivery in deliveries:
        typer.echo(str(delivery))
    failed = [delivery for delivery in deliveries if not delivery.sent]
    if failed:
        from parity.alerts.rules import load_rules

        path = next(r.path for r in load_rules(settings.alerts) if r.name == rule)
        typer.echo(f"error: {path}: {len(failed)} of {len(deliveries)} channels of rule "
                   f"{rule} did not take the test notification (see above)", err=True)
        raise typer.Exit(EXIT_ERROR)
