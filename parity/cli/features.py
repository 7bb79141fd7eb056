"""Commands over features: list, lint, generate, stream, check, report."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Optional

import typer

from parity.cli import DEBUG, ProjectOption, UsageError, app, duration, features_named, parse_time, window_range
from parity.errors import EXIT_BREACH, EXIT_ERROR, EXIT_OK, ParityError
from parity.online_store import ConflictRule, StoreTarget, redact


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
def lint(
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a porting trap is found.")] = False,
    project: ProjectOption = Path("."),
) -> None:
    """Validate every spec, parse every offline query and warn about porting traps. Example: `parity lint`.

    Problems (a spec or query that cannot be used) go to stderr and exit 2. Porting traps (a job and its SQL
    that can be seen to mean different things: parity.traps) are warnings on stdout, one per line naming the
    SQL line and the job step; they leave the exit code at 0 unless `--strict`, which exits 1.
    """
    from parity.query import lint_query
    from parity.settings import load_settings
    from parity.spec import feature_names, load_feature
    from parity.traps import find_traps

    settings = load_settings(project)
    problems: list[str] = []
    warnings = []
    names = feature_names(settings.project)
    for name in names:
        try:
            spec = load_feature(name, settings.project)
        except ParityError as exc:
            problems.append(str(exc))
            continue
        found = lint_query(spec, settings.project)
        problems.extend(found)
        if not found:  # traps compare a usable query with the job; a broken one is reported above
            try:
                warnings.extend(find_traps(spec, settings.project))
            except ParityError as exc:
                problems.append(str(exc))
    for warning in warnings:
        typer.echo(str(warning))
    for problem in problems:
        typer.echo(problem, err=True)
    if problems:
        raise typer.Exit(EXIT_ERROR)
    trapped = f"; {len(warnings)} porting-trap warning{'s' * (len(warnings) != 1)}" if warnings else ""
    typer.echo(f"{len(names)} features ok{trapped}")
    if strict and warnings:
        raise typer.Exit(EXIT_BREACH)


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
    from parity.units import parse_duration

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
    mode: Annotated[str, typer.Option(help="fast (batch, late-data rule up front) or faithful (TestStream); "
                                           "default: faithful below 20,000 events, fast from there.")] = "",
    into: Annotated[str, typer.Option("--into", help="Also write every pane into this online store, "
                                                     "e.g. redis://127.0.0.1:6379/0.")] = "",
    store_rule: Annotated[str, typer.Option("--store-rule", help="newest-window (a late pane of an older window "
                                                                 "never overwrites a newer one) or last-arrival.")] = "newest-window",
    ttl: Annotated[str, typer.Option("--ttl", help="Expire a stored key this long after its last write, e.g. 2h "
                                                   "(default: never).")] = "",
    project: ProjectOption = Path("."),
) -> None:
    """Replay the event log to a feature's Beam job; writes the windows starting in [start, end). Example: `parity stream ride_requests --start 2026-11-26T08:00Z --end 2026-11-26T10:00Z --mode fast`.

    The range is replayed an hour of windows at a time (each hour reads only the events its windows need), so
    memory follows the hour, not the range. With `--into redis://host:port/db` every pane of those windows
    is also written into the online store as it fires (`parity.beam.WriteToStore`), beside the online log.
    """
    from parity.realtime import FAST_FROM_EVENTS, STREAM_CHUNK_US, Mode, default_mode
    from parity.settings import load_settings

    modes = {m.value: m for m in Mode}
    if mode and mode not in modes:
        raise UsageError(f"--mode: {mode!r} is not one of {', '.join(modes)}")
    target = _store_target(into, store_rule, ttl)
    settings = load_settings(project)
    start_us, end_us = window_range(start, end)
    specs = features_named(settings.project, features, all_)
    import pyarrow.parquet as pq

    from parity.events import event_files, read_events
    from parity.offline import event_range
    from parity.realtime import run_stream

    for spec in specs:
        lo, hi = event_range(spec.window, start_us, end_us)
        chosen = modes.get(mode)
        if chosen is None:
            about = sum(pq.read_metadata(file).num_rows for file in event_files(settings.event_log, spec.source, lo, hi))
            chosen = default_mode(about)
            typer.echo(f"{spec.name}: about {about} events: {chosen.value} mode (faithful below "
                       f"{FAST_FROM_EVENTS:,} events, fast from there; choose with --mode)", err=True)
        events_in = rows = 0
        elapsed = 0.0
        path = settings.online_log / spec.name
        bounds = [start_us, *range(start_us - start_us % STREAM_CHUNK_US + STREAM_CHUNK_US, end_us, STREAM_CHUNK_US), end_us]
        for chunk in itertools.pairwise(bounds):
            # This chunk owns the windows starting in it; edge windows it only partly replays are not written.
            result = run_stream(spec, settings, read_events(settings.event_log, spec.source, *event_range(spec.window, *chunk)),
                                windows=chunk, mode=chosen, into=target)
            events_in, rows, elapsed, path = events_in + result.events_in, rows + result.rows, elapsed + result.elapsed_s, result.path
        into_store = f"; each pane into {redact(target.url)} ({target.rule.value})" if target is not None else ""
        typer.echo(f"{spec.name}: {events_in} events -> {rows} rows in {elapsed:.1f}s ({chosen.value} mode, {path}){into_store}")


def _store_target(into: str, rule: str, ttl: str) -> StoreTarget | None:
    """`--into`, `--store-rule` and `--ttl` as the replay's store target; the store is opened once here, so an
    unknown scheme or an unreachable store stops the stream before anything runs."""
    from parity.online_store import open_store

    rules = {r.value: r for r in ConflictRule}
    if rule not in rules:
        raise UsageError(f"--store-rule: {rule!r} is not one of {', '.join(rules)}")
    if not into:
        if ttl or rule != ConflictRule.NEWEST_WINDOW.value:
            raise UsageError("--store-rule and --ttl apply to a store: name it with --into redis://host:port")
        return None
    ttl_s = None
    if ttl:
        ttl_us = duration(ttl, "--ttl")
        if ttl_us % 1_000_000:
            raise UsageError(f"--ttl: {ttl!r} must be a whole number of seconds")
        ttl_s = ttl_us // 1_000_000
    open_store(into).close()
    return StoreTarget(into, rules[rule], ttl_s)


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
    served: Annotated[bool, typer.Option("--served", help="Also check what the tap (`parity tap`) read from the "
                                                          "online store: served agreement, freshness, store causes.")] = False,
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
    start_us, end_us = window_range(start, end)
    from parity.alerts import validate_store

    validate_store(settings)  # results are stored with or without --alert: a broken store stops the check first
    outcomes: list[CheckResult | CheckFailure] = []
    for spec in features_named(settings.project, features, all_):
        outcome, files = check_and_report(spec, settings, start_us, end_us, sample_rate=sample_rate,
                                          threshold=threshold, debug=DEBUG["on"], served=served)
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
