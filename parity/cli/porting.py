"""Commands that port an offline query into a streaming job: port, new."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from parity.cli import ProjectOption, UsageError, app
from parity.errors import EXIT_ERROR, PortRefused


@app.command()
def port(
    query: Annotated[Path, typer.Argument(help="The offline query, offline_queries/<feature>.sql.")],
    lateness: Annotated[str, typer.Option("--lateness", help="The spec's allowed lateness, e.g. 2m.")] = "2m",
    source: Annotated[str, typer.Option("--source", help="The event source the query reads.")] = "ride_events",
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing realtime_jobs/<feature>.yaml.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Write realtime_jobs/<feature>.yaml from an offline query. Example: `parity port offline_queries/ride_requests.sql --lateness 2m`.

    What cannot be ported is refused, one line per construct, exit 2: never a silently wrong job.
    """
    from parity.port import port_query
    from parity.settings import load_settings

    settings = load_settings(project)
    path = query if query.is_absolute() or query.exists() else settings.project / query
    if not path.is_file():
        raise UsageError(f"{query}: no such file; name an offline query such as offline_queries/<feature>.sql")
    try:
        ported = port_query(path, settings.project, source=source, lateness=lateness, force=force)
    except PortRefused as exc:
        for refusal in exc.refusals:
            typer.echo(f"{exc.path}: {refusal}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    typer.echo(f"wrote {ported.spec_path} (values: {', '.join(ported.values)}); "
               f"next: parity stream {ported.feature} and parity check {ported.feature}")
