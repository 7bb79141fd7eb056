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
from typing import TYPE_CHECKING, Annotated, Optional, Self

import typer

from parity.errors import EXIT_BREACH, EXIT_ERROR, EXIT_OK, ParityError, describe

if TYPE_CHECKING:
    from parity.schedule import FeatureRun, HourChecked, Plan

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
    from parity.report import failure_json, summary_json, text_table
    from parity.result import CheckFailure, CheckResult, Verdict
    from parity.schedule import check_and_report
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
        outcome, files = check_and_report(spec, settings, start_us, end_us, sample_rate=sample_rate,
                                          threshold=threshold, debug=_DEBUG["on"])
        outcomes.append(outcome)
        if isinstance(outcome, CheckFailure):
            typer.echo(f"error: {outcome.error}", err=True)
            if output == "json":
                typer.echo(failure_json(outcome))
        elif output == "json":
            typer.echo(summary_json(outcome))
        elif files is not None:
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
def run(
    features: Annotated[Optional[list[str]], typer.Argument(help="Feature names.")] = None,  # noqa: UP045
    all_: Annotated[bool, typer.Option("--all", help="Every feature.")] = False,
    since: Annotated[str, typer.Option(help="How far back from the newest arrival in the event log, e.g. 24h.")] = "24h",
    step: Annotated[str, typer.Option(help="One check covers this much, e.g. 1h.")] = "1h",
    alert: Annotated[bool, typer.Option("--alert", help="Evaluate alert rules after each check.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Check every settled hour not yet checked under the feature's current spec and SQL; the scheduled job.
    Example: `parity run --all --since 24h --alert` (hourly, from cron or Airflow).

    Safe to start twice (a lock per feature) and to kill (the next run checks what is left).
    Exit 0 when every hour checked passes (or none was due), 1 when any breaches, 2 when any could not be checked.
    """
    from parity.schedule import grid_hours, run_feature, since_range
    from parity.settings import load_settings

    settings = load_settings(project)
    since_us, step_us = _duration(since, "--since"), _duration(step, "--step")
    specs = _scheduled(settings.project, features, all_, step_us)
    runs: list[FeatureRun | str] = []
    for spec in specs:
        try:
            lo, hi = since_range(spec, settings, since_us, step_us)
        except ParityError as exc:
            typer.echo(f"error: {exc}", err=True)
            runs.append(f"{spec.name}: {exc}")
            continue
        runs.append(run_feature(spec, settings, grid_hours(lo, hi, step_us), alert=alert, debug=_DEBUG["on"],
                                on_hour=_echo_hour))
    raise typer.Exit(_ran(runs, f"the last {since}"))


@app.command()
def backfill(
    features: Annotated[Optional[list[str]], typer.Argument(help="Feature names.")] = None,  # noqa: UP045
    start: Annotated[str, typer.Option(help="First window start, ISO-8601 UTC.")] = "",
    end: Annotated[str, typer.Option(help="End of the range (exclusive), ISO-8601 UTC.")] = "",
    all_: Annotated[bool, typer.Option("--all", help="Every feature.")] = False,
    step: Annotated[str, typer.Option(help="One check covers this much, e.g. 1h.")] = "1h",
    force: Annotated[bool, typer.Option("--force", help="Check again hours already checked.")] = False,
    alert: Annotated[bool, typer.Option("--alert", help="Evaluate alert rules after each check.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Check every hour of a past range not yet checked under the current spec and SQL (all of them with --force).
    Example: `parity backfill ride_requests --start 2026-11-01T00:00Z --end 2026-11-26T00:00Z`.

    Resumable: a killed backfill, started again, checks only what is left. Exit codes as `parity run`.
    """
    from parity.schedule import grid_hours, run_feature
    from parity.settings import load_settings

    settings = load_settings(project)
    start_us, end_us = _range(start, end)
    step_us = _duration(step, "--step")
    specs = _scheduled(settings.project, features, all_, step_us)
    hours = grid_hours(start_us, end_us, step_us)
    if not hours:
        raise UsageError(f"--start {start} --end {end}: no whole --step {step} fits in the range")
    runs: list[FeatureRun | str] = []
    with _BackfillProgress(sys.stdout.isatty()) as progress:
        for spec in specs:
            runs.append(run_feature(spec, settings, hours, force=force, alert=alert, debug=_DEBUG["on"],
                                    on_plan=progress.planned, on_hour=progress.advance))
    raise typer.Exit(_ran(runs, f"{start} .. {end}"))


@app.command()
def history(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    since: Annotated[str, typer.Option(help="How far back from the feature's newest checked hour, e.g. 7d.")] = "7d",
    output: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    project: ProjectOption = Path("."),
) -> None:
    """Agreement per checked hour from the ledger, with a sparkline. Example: `parity history ride_requests --since 7d`."""
    import json

    from parity import history as past
    from parity import ledger
    from parity.settings import load_settings
    from parity.spec import load_feature

    if output not in ("text", "json"):
        raise UsageError(f"--format: {output!r} is not one of text, json")
    since_us = _duration(since, "--since")
    settings = load_settings(project)
    load_feature(feature, settings.project)  # an unknown name is an error naming the known ones
    engine = ledger.connect(settings.database)
    try:
        with engine.connect() as conn:
            found = past.history(feature, ledger.hours(conn, feature), since_us)
    finally:
        engine.dispose()
    typer.echo(json.dumps(past.to_json(found), indent=2) if output == "json" else past.to_text(found))


@app.command()
def metrics(
    output: Annotated[Optional[Path], typer.Option("--output", help="Write here (node_exporter textfile).")] = None,  # noqa: UP045
    serve: Annotated[Optional[int], typer.Option("--serve", help="Serve /metrics on 127.0.0.1:PORT.")] = None,  # noqa: UP045
    project: ProjectOption = Path("."),
) -> None:
    """Prometheus metrics per feature (agreement, cells, causes, last check, open incidents).
    Example: `parity metrics --output /var/lib/node_exporter/textfile/parity.prom`, or `parity metrics --serve 9464`.
    """
    from parity import metrics as exposition
    from parity.settings import load_settings

    if output is not None and serve is not None:
        raise UsageError("--output and --serve: pick one")
    if serve is not None and not 0 < serve < 65536:
        raise UsageError(f"--serve: {serve} is not a TCP port (1-65535)")
    settings = load_settings(project)

    def scrape() -> str:
        from parity import ledger
        from parity.alerts import store
        from parity.alerts.incidents import IncidentStatus

        engine = ledger.connect(settings.database)
        try:
            with engine.connect() as conn:
                return exposition.render(ledger.hours(conn), store.list_incidents(conn, IncidentStatus.OPEN))
        finally:
            engine.dispose()

    if serve is not None:
        try:
            server = exposition.serve(serve, scrape)
        except OSError as exc:
            raise UsageError(f"--serve: cannot listen on 127.0.0.1:{serve} ({exc.strerror})") from None
        typer.echo(f"serving http://127.0.0.1:{server.server_port}/metrics (Ctrl-C stops)", err=True)
        try:
            server.serve_forever()
        finally:
            server.server_close()
        return
    text = scrape()
    if output is None:
        typer.echo(text, nl=False)
    else:
        exposition.write(text, output)
        typer.echo(str(output), err=True)


def _duration(text: str, option: str) -> int:
    from parity.spec import parse_duration

    try:
        value = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None
    if value <= 0:
        raise UsageError(f"{option}: {text!r} must be longer than zero")
    return value


def _scheduled(project: Path, names: list[str] | None, all_: bool, step_us: int) -> list:  # type: ignore[type-arg]
    """The features to run, each of whose windows tiles the step (a check of a step owns whole windows)."""
    from parity.spec import format_duration

    specs = _features(project, names, all_)
    for spec in specs:
        if step_us % spec.window.slide_us:
            raise UsageError(f"--step {format_duration(step_us)}: not a multiple of {spec.name}'s window slide "
                             f"{format_duration(spec.window.slide_us)}")
    return specs


def _echo_hour(done: HourChecked) -> None:
    from parity.check import iso
    from parity.result import CheckFailure

    outcome = done.outcome
    if isinstance(outcome, CheckFailure):
        typer.echo(f"{done.feature:<20} {iso(done.hour.start_us)}  ERROR  {outcome.error}")
    else:
        report = f"  {done.files.html}" if done.files is not None else ""
        typer.echo(f"{done.feature:<20} {iso(done.hour.start_us)}  {outcome.verdict.value:<12} "
                   f"{outcome.agreement:>8.3%} of {outcome.compared} cells{report}")
    for change in done.alerts:
        typer.echo(change, err=True)


def _ran(runs: list[FeatureRun | str], span: str) -> int:
    """Say what each feature's run did; the exit code of them all (as `check`: 2 > 1 > 0)."""
    from parity.result import CheckFailure, Verdict

    checked = [hour for r in runs if not isinstance(r, str) for hour in r.checked]
    for r in runs:
        if isinstance(r, str):
            continue
        if r.held_by is not None:
            typer.echo(f"{r.feature}: skipped, another run is checking it ({r.held_by}) and checks its hours")
        elif r.plan is not None:
            p = r.plan
            typer.echo(f"{p.feature}: checked {len(r.checked)} hours; {p.done} already checked under config "
                       f"{p.config_hash}; {p.unsettled} not settled yet; {p.empty} without events"
                       + ("; LOST its lock to another run and stopped" if r.lost_lock else ""))
    if not checked and not any(isinstance(r, str) for r in runs):
        typer.echo(f"nothing to do: every settled hour of {span} is checked under the current configuration")
    outcomes = [hour.outcome for hour in checked]
    if any(isinstance(r, str) for r in runs) or any(
            isinstance(o, CheckFailure) or o.verdict is Verdict.INCONCLUSIVE for o in outcomes):
        return EXIT_ERROR
    return EXIT_BREACH if any(not o.passed for o in outcomes if not isinstance(o, CheckFailure)) else EXIT_OK


class _BackfillProgress:
    """A rich progress bar per feature (hours done, ETA, running agreement) when stdout is a terminal; plain lines
    per hour otherwise."""

    def __init__(self, terminal: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("hours"),
                            TimeRemainingColumn(), TextColumn("{task.fields[agreement]}")) if terminal else None
        self.task: object = None
        self.compared = 0
        self.matched = 0

    def __enter__(self) -> Self:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def planned(self, plan: Plan) -> None:
        self.compared = self.matched = 0
        if self.bar is not None:
            self.task = self.bar.add_task(plan.feature, total=len(plan.due), agreement="")

    def advance(self, done: HourChecked) -> None:
        from parity.result import CheckResult

        if isinstance(done.outcome, CheckResult):
            self.compared += done.outcome.compared
            self.matched += done.outcome.matched
        if self.bar is None or self.task is None:
            _echo_hour(done)
            return
        running = f"agreement {self.matched / self.compared:.3%}" if self.compared else ""
        self.bar.update(self.task, advance=1, agreement=running)  # type: ignore[arg-type]
        if not isinstance(done.outcome, CheckResult):
            self.bar.console.print(f"{done.feature} {done.outcome.start}: ERROR {done.outcome.error}")


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


if __name__ == "__main__":
    main()
