"""Commands a scheduler runs: run, backfill, history, metrics, replay."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional, Self

import typer

from parity.cli import DEBUG, ProjectOption, UsageError, app, duration, features_named, offline_engine, window_range
from parity.errors import EXIT_BREACH, EXIT_ERROR, EXIT_OK, ParityError

if TYPE_CHECKING:
    from parity.schedule import FeatureRun, HourChecked, Plan


@app.command()
def run(
    features: Annotated[Optional[list[str]], typer.Argument(help="Feature names.")] = None,  # noqa: UP045
    all_: Annotated[bool, typer.Option("--all", help="Every feature.")] = False,
    since: Annotated[str, typer.Option(help="How far back from the newest arrival in the event log, e.g. 24h.")] = "24h",
    step: Annotated[str, typer.Option(help="One check covers this much, e.g. 1h.")] = "1h",
    alert: Annotated[bool, typer.Option("--alert", help="Evaluate alert rules after each check.")] = False,
    served: Annotated[bool, typer.Option("--served", help="Also check what the tap read from the online store.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Check every settled hour not yet checked under the feature's current spec and SQL; the scheduled job.
    Example: `parity run --all --since 24h --alert` (hourly, from cron or Airflow).

    Safe to start twice (a lock per feature) and to kill (the next run checks what is left).
    Exit 0 when every hour checked passes (or none was due), 1 when any breaches, 2 when any could not be checked.
    """
    from parity.feature import load
    from parity.online import open_source
    from parity.schedule import grid_hours, run_feature, since_range
    from parity.settings import load_settings

    settings = load_settings(project)
    since_us, step_us = duration(since, "--since"), duration(step, "--step")
    specs = _scheduled(settings.project, features, all_, step_us)
    online, offline = open_source(settings.online_log), offline_engine(settings)  # an unknown scheme stops here
    runs: list[FeatureRun | str] = []
    for spec in specs:
        try:
            feature = load(spec, settings)  # the query validated before Spark starts; a broken one fails alone
            lo, hi = since_range(spec, settings, since_us, step_us)
            runs.append(run_feature(feature, settings, grid_hours(lo, hi, step_us), alert=alert, debug=DEBUG["on"],
                                    on_hour=_echo_hour, online=online, offline=offline, served=served))
        except (ParityError, OSError) as exc:  # this feature stops; the others still run
            if DEBUG["on"]:
                raise
            runs.append(_feature_error(spec.name, exc))
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
    served: Annotated[bool, typer.Option("--served", help="Also check what the tap read from the online store.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Check every hour of a past range not yet checked under the current spec and SQL (all of them with --force).
    Example: `parity backfill ride_requests --start 2026-11-01T00:00Z --end 2026-11-26T00:00Z`.

    Resumable: a killed backfill, started again, checks only what is left. Exit codes as `parity run`.
    """
    from parity.feature import load
    from parity.online import open_source
    from parity.schedule import grid_hours, run_feature
    from parity.settings import load_settings

    settings = load_settings(project)
    start_us, end_us = window_range(start, end)
    step_us = duration(step, "--step")
    specs = _scheduled(settings.project, features, all_, step_us)
    hours = grid_hours(start_us, end_us, step_us)
    if not hours:
        raise UsageError(f"--start {start} --end {end}: no whole --step {step} fits in the range")
    online, offline = open_source(settings.online_log), offline_engine(settings)  # an unknown scheme stops here
    runs: list[FeatureRun | str] = []
    with _BackfillProgress(sys.stdout.isatty()) as progress:
        for spec in specs:
            try:
                feature = load(spec, settings)  # the query validated before Spark starts; a broken one fails alone
                runs.append(run_feature(feature, settings, hours, force=force, alert=alert, debug=DEBUG["on"],
                                        on_plan=progress.planned, on_hour=progress.advance, online=online,
                                        offline=offline, served=served))
            except (ParityError, OSError) as exc:  # this feature stops; the others still run
                if DEBUG["on"]:
                    raise
                runs.append(_feature_error(spec.name, exc))
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
    since_us = duration(since, "--since")
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
        from parity.alerts import outbox
        from parity.alerts.incidents import IncidentStatus

        engine = ledger.connect(settings.database)
        try:
            with engine.connect() as conn:
                return exposition.render(ledger.hours(conn), outbox.list_incidents(conn, IncidentStatus.OPEN))
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


def _scheduled(project: Path, names: list[str] | None, all_: bool, step_us: int) -> list:  # type: ignore[type-arg]
    """The features to run, each of whose windows tiles the step (a check of a step owns whole windows)."""
    from parity.units import format_duration

    specs = features_named(project, names, all_)
    for spec in specs:
        if step_us % spec.window.slide_us:
            raise UsageError(f"--step {format_duration(step_us)}: not a multiple of {spec.name}'s window slide "
                             f"{format_duration(spec.window.slide_us)}")
    return specs


def _feature_error(feature: str, exc: BaseException) -> str:
    """One line for a feature the run could not go through (said on stderr at once); the run goes on."""
    from parity.errors import describe

    said = describe(exc) if not isinstance(exc, OSError) or not exc.filename else f"{exc.filename}: {exc.strerror}"
    typer.echo(f"error: {feature}: {said}", err=True)
    return f"{feature}: {said}"


def _echo_hour(done: HourChecked) -> None:
    from parity.result import CheckFailure
    from parity.units import iso

    if done.rechecked is not None:
        typer.echo(f"{done.feature}: {iso(done.hour.start_us)} re-checked: {done.rechecked}")
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
            rechecked = f" ({len(p.changed)} re-checked: inputs changed)" if p.changed else ""
            typer.echo(f"{p.feature}: checked {len(r.checked)} hours{rechecked}; {p.done} already checked under config "
                       f"{p.config_hash}; {p.unsettled} not settled yet; {p.empty} without events"
                       + ("; LOST its lock to another run and stopped" if r.lost_lock else ""))
    plans = [r.plan for r in runs if not isinstance(r, str) and r.plan is not None]
    if not checked and not any(isinstance(r, str) for r in runs):
        if any(p.done for p in plans) or not plans:
            typer.echo(f"nothing to do: every settled hour with events in {span} is checked under the current "
                       "configuration")
        else:
            typer.echo(f"nothing to check: no settled hour with events in {span}")
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

    from parity.feature import load
    from parity.replay import replay_json, replay_text, run_replay
    from parity.settings import load_settings
    from parity.spec import load_feature

    if output not in ("text", "json"):
        raise UsageError(f"--format: {output!r} is not one of text, json")
    if sample_rate is not None and not 0 < sample_rate <= 1:
        raise UsageError(f"--sample-rate: {sample_rate} must be in (0, 1]")
    settings = load_settings(project)
    start_us, end_us = window_range(start, end)
    result = run_replay(load(load_feature(feature, settings.project), settings), settings, start_us, end_us,
                        sample_rate=sample_rate, offline=offline_engine(settings))
    typer.echo(json.dumps(replay_json(result)) if output == "json" else replay_text(result))
