"""The `parity` command. Each command: load settings -> call the library -> render -> exit code.

Errors map to exit codes in one place (`main`): 0 all passed, 1 a feature breached, 2 could not run.
`--debug` shows the traceback instead of the one-line message.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from parity.errors import EXIT_BREACH, EXIT_ERROR, EXIT_OK, ParityError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Keep real-time ML features honest: check Beam streaming features against their offline Spark SQL.",
)
alerts_app = typer.Typer(help="Open incidents and alert rules.", invoke_without_command=True)
app.add_typer(alerts_app, name="alerts")

ProjectOption = Annotated[Path, typer.Option("--project", help="Feature project directory (holds pyproject.toml).")]
_DEBUG = {"on": False}


class UsageError(ParityError):
    """A command-line value is wrong."""


@app.callback()
def _root(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
) -> None:
    _DEBUG["on"] = debug
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


def _features(project: Path, names: list[str] | None, all_: bool) -> list:  # type: ignore[type-arg]
    from parity.spec import feature_names, load_feature

    if all_:
        names = feature_names(project)
    if not names:
        raise UsageError("name at least one feature, or pass --all")
    return [load_feature(name, project) for name in names]


@app.command("list")
def list_features(project: ProjectOption = Path(".")) -> None:
    """Show the features of a project. Example: `parity list`."""
    from parity.settings import load_settings
    from parity.spec import load_features

    settings = load_settings(project)
    for spec in load_features(settings.project):
        values = ", ".join(spec.values)
        kind = "yaml" if spec.transform_yaml else spec.transform_ref
        typer.echo(f"{spec.name:<20} keys={','.join(spec.keys):<10} window={spec.window.describe():<18} "
                   f"values={values}  job={kind}")


@app.command()
def lint(project: ProjectOption = Path(".")) -> None:
    """Validate every spec and parse every offline query. Example: `parity lint`."""
    from parity.query import lint_query
    from parity.settings import load_settings
    from parity.spec import feature_names, load_feature

    settings = load_settings(project)
    problems: list[str] = []
    names = feature_names(settings.project)
    for name in names:
        try:
            spec = load_feature(name, settings.project)
        except ParityError as exc:
            problems.append(str(exc))
            continue
        problems.extend(lint_query(spec, settings.project))
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    typer.echo(f"{len(names)} features ok")


@app.command()
def generate(
    start: Annotated[str, typer.Option(help="First event time, ISO-8601 UTC.")],
    duration: Annotated[str, typer.Option(help="How long, e.g. 2h.")] = "2h",
    rate: Annotated[int, typer.Option(help="Events per minute.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same data).")] = 7,
    project: ProjectOption = Path("."),
) -> None:
    """Write realistic ride-hailing events to the event log. Example: `parity generate --start 2026-11-26T08:00Z --duration 2h --rate 2000`."""
    from parity.events import write_events
    from parity.generate import generate_rides
    from parity.settings import load_settings
    from parity.spec import parse_duration

    settings = load_settings(project)
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise UsageError(f"--duration: {exc}") from None
    if rate <= 0:
        raise UsageError(f"--rate: must be a positive number of events per minute, got {rate}")
    table = generate_rides(parse_time(start, "--start"), length, rate, seed=seed)
    written = write_events(table, settings.event_log, "ride_events", settings.quarantine)
    typer.echo(f"wrote {written.rows_written} events to {settings.event_log / 'ride_events'}; "
               f"quarantined {written.rows_quarantined}" + (f" into {written.quarantine_file}" if written.quarantine_file else ""))


@app.command()
def stream(
    features: Annotated[Optional[list[str]], typer.Argument(help="Feature names.")] = None,  # noqa: UP045
    start: Annotated[str, typer.Option(help="First window start, ISO-8601 UTC.")] = "",
    end: Annotated[str, typer.Option(help="End of the range (exclusive), ISO-8601 UTC.")] = "",
    all_: Annotated[bool, typer.Option("--all", help="Every feature.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Replay the event log to a feature's Beam job in streaming mode; writes the windows starting in [start, end). Example: `parity stream ride_requests --start 2026-11-26T08:00Z --end 2026-11-26T10:00Z`."""
    from parity.settings import load_settings

    settings = load_settings(project)
    start_us, end_us = _range(start, end)
    specs = _features(settings.project, features, all_)
    from parity.events import read_events
    from parity.offline import event_range
    from parity.realtime import run_stream

    for spec in specs:
        lo, hi = event_range(spec.window, start_us, end_us)
        events = read_events(settings.event_log, spec.source, lo, hi)
        # This range owns the windows starting in it; edge windows it only partly replays are not written.
        result = run_stream(spec, settings, events, windows=(start_us, end_us))
        typer.echo(f"{spec.name}: {result.events_in} events -> {result.rows} rows "
                   f"in {result.elapsed_s:.1f}s ({result.path})")


def _range(start: str, end: str) -> tuple[int, int]:
    if not start or not end:
        raise UsageError("--start and --end are required")
    start_us, end_us = parse_time(start, "--start"), parse_time(end, "--end")
    if end_us <= start_us:
        raise UsageError(f"--end {end} must be after --start {start}")
    return start_us, end_us


@app.command()
def check(
    features: Annotated[Optional[list[str]], typer.Argument(help="Feature names.")] = None,  # noqa: UP045
    start: Annotated[str, typer.Option(help="First window start, ISO-8601 UTC.")] = "",
    end: Annotated[str, typer.Option(help="End of the range (exclusive), ISO-8601 UTC.")] = "",
    all_: Annotated[bool, typer.Option("--all", help="Every feature.")] = False,
    sample_rate: Annotated[Optional[float], typer.Option(help="Share of cells to check, 0 < r <= 1.")] = None,  # noqa: UP045
    threshold: Annotated[Optional[float], typer.Option(help="Agreement bar (default: the spec's).")] = None,  # noqa: UP045
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    alert: Annotated[bool, typer.Option("--alert", help="Evaluate alert rules after checking.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Compare realtime output with the offline recompute. Example: `parity check --all --start 2026-11-26T08:00Z --end 2026-11-26T09:00Z`.

    Exit 0 when every feature passes, 1 when any breaches, 2 when any could not be checked.
    """
    from parity.check import iso, new_run_id, run_check
    from parity.report import context_for, failure_json, summary_json, text_table, write_reports
    from parity.result import CheckFailure, CheckResult, Verdict
    from parity.settings import load_settings

    if output not in ("text", "json"):
        raise UsageError(f"--format: {output!r} is not one of text, json")
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise UsageError(f"--sample-rate: {sample_rate} must be in (0, 1]")
    if threshold is not None and not 0 < threshold <= 1:
        raise UsageError(f"--threshold: {threshold} must be in (0, 1]")
    settings = load_settings(project)
    start_us, end_us = _range(start, end)
    from parity.alerts import validate_store

    validate_store(settings)  # results are stored with or without --alert: a broken store stops the check first
    outcomes: list[CheckResult | CheckFailure] = []
    for spec in _features(settings.project, features, all_):
        try:
            result = run_check(spec, settings, start_us, end_us, sample_rate=sample_rate, threshold=threshold)
        except Exception as exc:  # one feature's failure, whatever it is, never stops the others' checks
            if _DEBUG["on"]:
                raise
            failure = CheckFailure(spec.name, new_run_id(spec.name, start_us, end_us), iso(start_us),
                                   iso(end_us), _message(exc),
                                   exc.exit_code if isinstance(exc, ParityError) else EXIT_ERROR)
            outcomes.append(failure)
            typer.echo(f"error: {exc}", err=True)
            if output == "json":
                typer.echo(failure_json(failure))
            continue
        files = write_reports(result, settings.reports, context_for(settings, spec.name))
        outcomes.append(result)
        if output == "json":
            typer.echo(summary_json(result))
        else:
            typer.echo(f"{spec.name}: report {files.html} ({files.markdown.name}, {files.json.name})", err=True)
    if output == "text":
        typer.echo(text_table(outcomes))
    from parity.alerts import evaluate_alerts, record_results

    if alert:
        for change in evaluate_alerts(outcomes, settings):
            typer.echo(str(change), err=output == "json")
    else:
        record_results(outcomes, settings)
    if any(isinstance(o, CheckFailure) or o.verdict is Verdict.INCONCLUSIVE for o in outcomes):
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_OK if all(o.passed for o in outcomes if isinstance(o, CheckResult)) else EXIT_BREACH)


@app.command()
def replay(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    start: Annotated[str, typer.Option(help="First window start, ISO-8601 UTC.")] = "",
    end: Annotated[str, typer.Option(help="End of the range (exclusive), ISO-8601 UTC.")] = "",
    sample_rate: Annotated[Optional[float], typer.Option(help="Share of cells to compare, 0 < r <= 1.")] = None,  # noqa: UP045
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    project: ProjectOption = Path("."),
) -> None:
    """Rerun the feature's job over a range into a replay log and tell, per divergent cell, whether the job's code
    or the production run is at fault. Example: `parity replay ride_requests --start 2026-11-26T08:00Z --end 2026-11-26T09:00Z`.

    Classes: late_arrival, job_logic (recorded = replay != offline), runtime (replay = offline != recorded),
    nondeterminism (recorded != replay, the replay off too). Exit 0 once it ran, 2 when it could not.
    """
    import json

    from parity.replay import replay_json, replay_text, run_replay
    from parity.settings import load_settings
    from parity.spec import load_feature

    if output not in ("text", "json"):
        raise UsageError(f"--format: {output!r} is not one of text, json")
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise UsageError(f"--sample-rate: {sample_rate} must be in (0, 1]")
    settings = load_settings(project)
    start_us, end_us = _range(start, end)
    result = run_replay(load_feature(feature, settings.project), settings, start_us, end_us, sample_rate=sample_rate)
    typer.echo(json.dumps(replay_json(result)) if output == "json" else replay_text(result))


@app.command()
def report(
    feature: Annotated[Optional[str], typer.Argument(help="Feature name (default: only the index).")] = None,  # noqa: UP045
    run: Annotated[Optional[str], typer.Option("--run", help="Run id (default: the latest report).")] = None,  # noqa: UP045
    open_: Annotated[bool, typer.Option("--open", help="Open it in a browser.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Render a check's HTML and Markdown again from its JSON and print the HTML path. Example: `parity report ride_requests --open`.

    Without FEATURE, refresh `reports/index.html`.
    """
    from parity.report import rerender, write_index
    from parity.settings import load_settings

    settings = load_settings(project)
    if feature is None and run is not None:
        raise UsageError("--run: name the feature of the run too, e.g. `parity report ride_requests --run RUN_ID`")
    path = rerender(settings, feature, run).html if feature is not None else write_index(settings.reports)
    typer.echo(str(path))
    if open_:
        import webbrowser

        try:
            opened = webbrowser.get().open(path.as_uri())
        except webbrowser.Error:
            opened = False
        if not opened:
            typer.echo("no browser found to open it; open the path above", err=True)


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
    """Send a test notification through a rule's channels. Example: `parity alerts --project DIR test page_on_breach`."""
    from parity.alerts import send_test
    from parity.settings import load_settings

    for line in send_test(rule, load_settings(project if project is not None else ctx.obj)):
        typer.echo(str(line))


def _message(exc: Exception) -> str:
    """One line for an error: a ParityError's message, or the gist of an unexpected one."""
    if isinstance(exc, ParityError):
        return str(exc)
    first = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {first} (rerun with --debug for the traceback)"


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
        typer.echo(f"error: {_message(exc)}", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
