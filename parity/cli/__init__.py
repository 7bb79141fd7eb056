"""The `parity` command. Each command: load settings -> call the library -> render -> exit code.

The commands live by topic: `features` (list, lint, generate, stream, check, report), `service` (run,
backfill, history, metrics, replay), `alerts`; this module holds the app, the shared options and `main`.

Errors map to exit codes in one place (`main`): 0 all passed, 1 a feature breached, 2 could not run.
`--debug` shows the traceback instead of the one-line message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from parity.errors import EXIT_ERROR, ParityError, describe

if TYPE_CHECKING:
    from parity.offline import SparkEngine
    from parity.settings import Settings

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Keep real-time ML features honest: check Beam streaming features against their offline Spark SQL.",
)

ProjectOption = Annotated[Path, typer.Option("--project", help="Feature project directory (holds pyproject.toml).")]
DEBUG = {"on": False, "verbose": False}  # the global options, set once by `_root` before any command runs


class UsageError(ParityError):
    """A command-line value is wrong."""


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr, and Spark's own log too "
                                                                  "(else in data/spark.log).")] = False,
) -> None:
    DEBUG["on"] = debug
    DEBUG["verbose"] = verbose or debug
    logging.basicConfig(level=logging.INFO if verbose or debug else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    if not (verbose or debug):
        # Beam warns at import about optional extras (openai, tensorflow, GCP clients) this tool never uses;
        # parity's own warnings (an unreadable event file skipped) still show.
        logging.getLogger().setLevel(logging.ERROR)
        logging.getLogger("parity").setLevel(logging.WARNING)


def parse_time(text: str, option: str) -> int:
    """ISO-8601 (`2026-11-26T10:00:00Z`, `2026-11-26 10:00`) -> microseconds UTC; naive times are UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: {text!r} is not an ISO-8601 time such as 2026-11-26T10:00:00Z") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def features_named(project: Path, names: list[str] | None, all_: bool) -> list:  # type: ignore[type-arg]
    from parity.spec import feature_names, load_feature

    if all_:
        names = feature_names(project)
    if not names:
        raise UsageError("name at least one feature, or pass --all")
    return [load_feature(name, project) for name in names]


FORMAT_HELP = "text, or a report format: json, markdown, html, or one registered (parity.report.formats)."


def output_format(value: str) -> str:
    """A `--format` value: `text` (the command's own lines) or a name in the report-format registry."""
    from parity.report.formats import output_choices

    if value not in output_choices():
        raise UsageError(f"--format: {value!r} is not one of {', '.join(output_choices())}")
    return value


def offline_engine(settings: Settings) -> SparkEngine:
    """The offline side of a command: Spark over the project's event log, its own log on the terminal only
    with `--verbose`."""
    from parity.offline import SparkEngine

    return SparkEngine(settings, verbose=DEBUG["verbose"])


def window_range(start: str, end: str) -> tuple[int, int]:
    if not start or not end:
        raise UsageError("--start and --end are required")
    start_us, end_us = parse_time(start, "--start"), parse_time(end, "--end")
    if end_us <= start_us:
        raise UsageError(f"--end {end} must be after --start {start}")
    return start_us, end_us


def duration(text: str, option: str) -> int:
    from parity.units import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if value <= 0:
        raise UsageError(f"{option}: {text!r} must be longer than zero")
    return value


def main() -> None:
    """Entry point: the one place errors become exit codes."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    debug = "--debug" in sys.argv
    try:
        app()
    except ParityError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug:
            raise
        typer.echo(f"error: {describe(exc)}", err=True)
        sys.exit(EXIT_ERROR)


# The commands register themselves on `app` when imported.
from parity.cli import alerts, features, porting, service, tap, verify  # noqa: F401
