"""Commands that set a project up and port an offline query into a streaming job: init, port, new."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from parity.cli import ProjectOption, UsageError, app
from parity.errors import EXIT_ERROR, PortRefused


@app.command()
def init(
    event_log: Annotated[Path, typer.Option("--event-log", help="The existing event log: <source>/date=.../hour=.../*.parquet.")],
    source: Annotated[Optional[list[str]], typer.Option("--source", help="A source to declare (repeatable; default: every source found).")] = None,  # noqa: UP045
    project: ProjectOption = Path("."),
) -> None:
    """Set a project up around an existing Parquet event log. Example: `parity init --event-log data/events`.

    Writes [tool.parity] into pyproject.toml (event_log and each source's columns, read from its newest file) and
    creates offline_queries/, realtime_jobs/, alerts/ and reports/. Never overwrites [tool.parity] (exit 2).
    """
    from parity.port.project import init_project

    done = init_project(project, event_log, tuple(source or ()))
    for name, columns in done.sources:
        typer.echo(f"declared {name}: {columns} columns in {done.config} [tool.parity.event_schema.{name}]")
    typer.echo(f"made {', '.join(f.name + '/' for f in done.folders)}")
    typer.echo("next: write offline_queries/<feature>.sql, then `parity port offline_queries/<feature>.sql` and "
               "`parity verify <feature>`")


@app.command()
def port(
    query: Annotated[Path, typer.Argument(help="The offline query, offline_queries/<feature>.sql.")],
    lateness: Annotated[str, typer.Option("--lateness", help="The spec's allowed lateness, e.g. 2m.")] = "2m",
    source: Annotated[Optional[str], typer.Option("--source", help="The event source (default: the table the query reads).")] = None,  # noqa: UP045
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing realtime_jobs/<feature>.yaml.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Write realtime_jobs/<feature>.yaml from an offline query. Example: `parity port offline_queries/ride_requests.sql --lateness 2m`.

    What cannot be ported is refused, one line per construct, exit 2: never a silently wrong job.
    """
    from parity.port import port_query
    from parity.schema import event_schema
    from parity.settings import load_settings

    settings = load_settings(project)
    path = query if query.is_absolute() or query.exists() else settings.project / query
    if not path.is_file():
        raise UsageError(f"{query}: no such file; name an offline query such as offline_queries/<feature>.sql")
    try:
        ported = port_query(path, settings.project, source=source, lateness=lateness, force=force,
                            schema_of=lambda name: event_schema(settings.event_log, name, settings.declared_schemas))
    except PortRefused as exc:
        for refusal in exc.refusals:
            typer.echo(f"error: {exc.path}: {refusal}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    typer.echo(f"wrote {ported.spec_path} (values: {', '.join(ported.values)}); "
               f"next: parity stream {ported.feature} and parity check {ported.feature}")


@app.command()
def new(
    feature: Annotated[str, typer.Argument(help="The new feature's name (an identifier).")],
    source: Annotated[str, typer.Option("--source", help="The event source it reads.")] = "ride_events",
    lateness: Annotated[str, typer.Option("--lateness", help="The spec's allowed lateness, e.g. 2m.")] = "2m",
    project: ProjectOption = Path("."),
) -> None:
    """Scaffold a feature: offline_queries/F.sql (a commented template), realtime_jobs/F.yaml (ported from it) and tests/test_F_parity.py. Example: `parity new surge_requests --source ride_events`.

    Writes only new files: if any of the three exists, nothing is written (exit 2).
    """
    from parity.port.scaffold import scaffold
    from parity.schema import known_schema
    from parity.settings import load_settings

    settings = load_settings(project)
    made = scaffold(feature, source, settings.project, lateness,
                    schema_of=lambda name: known_schema(settings.event_log, name, settings.declared_schemas))
    for path in (made.query, made.spec, made.test):
        typer.echo(f"wrote {path}")
    typer.echo(f"next: edit {made.query.name}, then `parity port {made.query.relative_to(settings.project)} --force`, "
               f"and run `pytest {made.test.relative_to(settings.project)}`")
