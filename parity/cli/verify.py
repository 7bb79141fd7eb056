"""`parity verify`: what a porting engineer runs before shipping a job. One command for the most recent settled
hours of the event log: find them -> stream them through the job (as `parity stream`) -> check them (as
`parity check`) -> say the verdict, the causes and where the report is."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Self

import typer

from parity.cli import DEBUG, FORMAT_HELP, ProjectOption, UsageError, app, output_format
from parity.errors import EXIT_BREACH, EXIT_ERROR, EXIT_OK, DataError
from parity.units import HOUR_US

if TYPE_CHECKING:
    import pyarrow as pa
    from rich.progress import Progress, TaskID

    from parity.schedule import Outcome
    from parity.settings import Settings
    from parity.spec import FeatureSpec



@dataclass(frozen=True, slots=True)
class Span:
    """The windows to verify, starting in [start_us, end_us): the last `hours` before the newest final window."""

    start_us: int
    end_us: int
    asked_start_us: int  # `hours` before the end; `start_us` is later when the log begins later
    newest_arrival_us: int


@app.command()
def verify(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    hours: Annotated[int, typer.Option(help="How many of the most recent settled hours to stream and check.")] = 1,
    output: Annotated[str, typer.Option("--format", help=FORMAT_HELP)] = "text",
    project: ProjectOption = Path("."),
) -> None:
    """Stream the most recent settled hours of the event log through the feature's job and check them against its
    SQL, in one command. Example: `parity verify ride_requests --hours 1`.

    Exit 0 when the feature passes, 1 when it breaches, 2 when it could not be checked (as `parity check`).
    """
    from parity.alerts import record_results, validate_store
    from parity.cli import offline_engine
    from parity.events import read_events
    from parity.feature import event_range, load
    from parity.realtime import run_stream
    from parity.result import CheckFailure, Verdict
    from parity.schedule import check_and_report
    from parity.settings import load_settings
    from parity.spec import load_feature
    from parity.units import format_duration, iso

    output = output_format(output)
    if hours < 1:
        raise UsageError(f"--hours: {hours} must be a whole number of hours, at least 1")
    settings = load_settings(project)
    loaded = load(load_feature(feature, settings.project), settings)  # the query validated before Beam or Spark
    spec = loaded.spec
    validate_store(settings)
    span = recent_span(spec, settings, hours)
    with _Stages(sys.stdout.isatty() and output == "text") as stages:
        stages.start(f"reading {spec.source} events for windows {iso(span.start_us)} .. {iso(span.end_us)}")
        lo, hi = event_range(spec.window, span.start_us, span.end_us)
        events = read_events(settings.event_log, spec.source, lo, hi)
        if events.num_rows == 0:
            raise _nothing_final(spec, settings, span)
        span = _from_first_event(span, spec, events)
        stages.done(f"read {events.num_rows} events")
        stages.start(f"streaming {events.num_rows} events through {spec.name}'s job (Beam)")
        streamed = run_stream(spec, settings, events, windows=(span.start_us, span.end_us))
        stages.done(f"streamed {streamed.events_in} events -> {streamed.rows} rows in {streamed.elapsed_s:.1f}s")
        stages.start(f"checking against offline_queries/{spec.name}.sql (Spark)")
        outcome, files = check_and_report(loaded, settings, span.start_us, span.end_us, debug=DEBUG["on"],
                                          offline=offline_engine(settings))
        stages.done("checked" if isinstance(outcome, CheckFailure) else f"checked {outcome.compared} cells")
    record_results([outcome], settings)
    report = str(files.html) if files is not None else None
    if output == "json":
        typer.echo(json.dumps(_as_json(outcome, report, streamed.events_in, streamed.rows)))
    elif output != "text" and files is not None:  # another report format: the file just written
        typer.echo(files.written[output].read_text())
    else:
        typer.echo(_as_text(outcome, report))
        if span.start_us > span.asked_start_us:
            typer.echo(f"the event log starts at {iso(span.start_us)}: {format_duration(span.end_us - span.start_us)} "
                       f"of the {hours}h asked")
    if isinstance(outcome, CheckFailure) or outcome.verdict is Verdict.INCONCLUSIVE:
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_OK if outcome.passed else EXIT_BREACH)


def recent_span(spec: FeatureSpec, settings: Settings, hours: int) -> Span:
    """The last `hours` of windows that are final (`parity.check.settle`: the newest arrival in the log is past
    their end plus the allowed lateness), counted back from the newest final window, on the window grid."""
    from parity.check import settle
    from parity.events import newest_arrival_us
    from parity.watermark import arrival_cutoff_us

    newest = newest_arrival_us(settings.event_log, spec.source, settings.clock_skew_bound_us)
    length = hours * HOUR_US
    reach = arrival_cutoff_us(spec.window.size_us, spec.allowed_lateness_us) + spec.window.slide_us
    end_us = settle(spec, settings, newest - length - reach, newest).end_us
    slide = spec.window.slide_us
    start_us = -(-(end_us - length) // slide) * slide
    return Span(start_us, end_us, start_us, newest)


def _nothing_final(spec: FeatureSpec, settings: Settings, span: Span) -> DataError:
    """No event in the windows final so far: the log holds only windows that are not final yet (or none)."""
    from parity.units import format_duration, iso
    from parity.watermark import arrival_cutoff_us

    wait = format_duration(arrival_cutoff_us(0, spec.allowed_lateness_us))
    return DataError(str(settings.event_log / spec.source),
                     f"no events in the windows of {spec.name} final so far ({iso(span.start_us)} .. "
                     f"{iso(span.end_us)}): the newest arrival is {iso(span.newest_arrival_us)}, and a window is final "
                     f"once arrivals reach its end + {wait}; verify again when more events have arrived")


def _from_first_event(span: Span, spec: FeatureSpec, events: pa.Table) -> Span:
    """The span from the first window holding an event, when the log begins after the hours asked for."""
    import pyarrow.compute as pc

    first = pc.min(events["event_time"]).value if events.num_rows else None
    if first is None:
        return span
    slide = spec.window.slide_us
    first_window = first // slide * slide - spec.window.size_us + slide
    return replace(span, start_us=min(max(span.start_us, first_window), span.end_us - slide))


def _as_text(outcome: Outcome, report: str | None) -> str:
    from parity.report.words import pct
    from parity.result import CheckFailure

    if isinstance(outcome, CheckFailure):
        return f"{outcome.feature}: ERROR, the check could not run: {outcome.error}"
    causes = ", ".join(f"{cause.value} {n}" for cause, n in outcome.causes.items() if n) or "none"
    lines = [
        (f"{outcome.feature}: {outcome.verdict.value.upper()}  agreement {pct(outcome.agreement)} of "
         f"{outcome.compared} cells (threshold {pct(outcome.threshold)}; net of late data "
         f"{pct(outcome.agreement_net_of_explained)})"),
        f"windows: {outcome.start} .. {outcome.end}",
        f"causes of divergent cells: {causes}",
    ]
    if outcome.lateness_needed is not None:
        lines.append(f"allowed lateness that would pass: {outcome.lateness_needed}")
    lines += [f"  {diagnosis.cause.value}: {diagnosis.detail}" for diagnosis in outcome.diagnoses]
    if outcome.failed_expectations:
        lines.append(f"failed data expectations: {len(outcome.failed_expectations)} (see the report)")
    if report is not None:
        lines.append(f"report: {report}")
    return "\n".join(lines)


def _as_json(outcome: Outcome, report: str | None, events: int, rows: int) -> dict[str, object]:
    from parity.report.text import failure_json, summary_json
    from parity.result import CheckFailure

    line = failure_json(outcome) if isinstance(outcome, CheckFailure) else summary_json(outcome)
    summary: dict[str, object] = json.loads(line)
    return {**summary, "report": report, "streamed_events": events, "streamed_rows": rows}


class _Stages:
    """One spinner line per stage (what it does, how long it has taken), ticked off when done; only on a terminal."""

    def __init__(self, terminal: bool) -> None:
        from rich.progress import Progress as RichProgress
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar: Progress | None = RichProgress(SpinnerColumn(finished_text="[green]✓"), TextColumn("{task.description}"),
                                                 TimeElapsedColumn()) if terminal else None
        self.task: TaskID | None = None

    def __enter__(self) -> Self:
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def start(self, what: str) -> None:
        if self.bar is not None:
            self.task = self.bar.add_task(what, total=1)

    def done(self, what: str) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.update(self.task, description=what, completed=1)
