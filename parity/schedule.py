"""Scheduled runs and backfills: which hours are due, and checking them one by one into the ledger.

plan the hours (settled, with events, not yet checked under the feature's configuration hash, or checked
before their inputs changed: late events, late online rows) -> take the feature's lock -> for each hour: note
what it reads (`hour_inputs`) -> `check_and_report` (the same call `parity check` makes) -> record the result
and evaluate alerts -> write the hour and its inputs into the ledger (`parity.ledger`) -> renew the lock. A
feature's failure (Spark, a report that cannot be written, missing output) is that hour's `CheckFailure`: it
is recorded and alerted on like any outcome, and the run goes on.

`parity run` plans the hours back `--since` from the newest arrival in the event log (a replayed or historical log
behaves like a live one); `parity backfill` plans a given range. Both skip hours already done unless forced.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sqlalchemy as sa

from parity.errors import EXIT_ERROR, DataError, ParityError, describe
from parity.feature import Feature, as_feature
from parity.report import ReportFiles
from parity.result import CheckFailure, CheckResult
from parity.settings import Settings
from parity.spec import FeatureSpec

if TYPE_CHECKING:
    from parity.ledger import Inputs
    from parity.offline import OfflineEngine
    from parity.online import OnlineSource

Outcome = CheckResult | CheckFailure
log = logging.getLogger("parity.schedule")


@dataclass(frozen=True, slots=True)
class Hour:
    """The windows of one feature starting in [start_us, end_us) (one `--step`, an hour by default)."""

    start_us: int
    end_us: int


@dataclass(frozen=True, slots=True)
class Plan:
    """The hours of a feature in a requested range: `due` to check now; how many were `done` already under the
    current configuration, `unsettled` (windows not final yet) and `empty` (no events in the log).
    `changed`: the due hours checked before whose inputs changed since, with what changed ("1 new event file")."""

    feature: str
    config_hash: str
    due: tuple[Hour, ...]
    done: int
    unsettled: int
    empty: int
    changed: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class HourChecked:
    """One hour a run checked: what the check gave and, for a result, its reports."""

    feature: str
    hour: Hour
    outcome: Outcome
    files: ReportFiles | None
    alerts: tuple[str, ...] = ()  # the incident changes it caused, as `parity check --alert` prints them
    rechecked: str | None = None  # checked before: what changed in its inputs since ("1 new event file")


@dataclass(frozen=True, slots=True)
class FeatureRun:
    """What a run did for one feature: the plan, the hours it checked, or who held the feature's lock."""

    feature: str
    plan: Plan | None
    checked: tuple[HourChecked, ...]
    held_by: str | None = None
    lost_lock: bool = False


def check_and_report(
    spec: FeatureSpec | Feature,
    settings: Settings,
    start_us: int,
    end_us: int,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
    run_id: str | None = None,
    debug: bool = False,
    online: OnlineSource | None = None,
    offline: OfflineEngine | None = None,
    served: bool = False,
) -> tuple[Outcome, ReportFiles | None]:
    """`run_check` (the sides as given, else built from the settings), then its reports. Whatever stops the
    check, a query the feature's loading refuses included, becomes a `CheckFailure` (one feature's failure never
    stops the others), unless `debug`. `run_id` replaces the check's own (the ledger names hours itself)."""
    from parity.check import new_run_id, run_check
    from parity.report import context_for, write_reports
    from parity.units import iso

    try:
        result = run_check(spec, settings, start_us, end_us, sample_rate=sample_rate, threshold=threshold,
                           online=online, offline=offline, served=served)
    except Exception as exc:
        if debug:
            raise
        # A failure's id is never a result's: a later success of the same hour must still be recorded.
        failed_id = new_run_id(spec.name, start_us, end_us) if run_id is None else f"{run_id}-failed-{uuid.uuid4().hex[:6]}"
        return CheckFailure(spec.name, failed_id, iso(start_us), iso(end_us), describe(exc),
                            exc.exit_code if isinstance(exc, ParityError) else EXIT_ERROR), None
    if run_id is not None:
        result = dataclasses.replace(result, run_id=run_id)
    try:
        return result, write_reports(result, settings.reports, context_for(settings, spec.name))
    except (OSError, ParityError) as exc:
        if debug:
            raise
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else f"{settings.reports / spec.name}: "
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        error = f"{where}cannot write the report of {result.verdict.value} {result.start}: {problem}"
        return CheckFailure(spec.name, f"{result.run_id}-failed-{uuid.uuid4().hex[:6]}", result.start, result.end,
                            error, EXIT_ERROR), None


def grid_hours(start_us: int, end_us: int, step_us: int) -> list[Hour]:
    """The steps on the epoch-aligned grid that lie inside [start_us, end_us)."""
    first = -(-start_us // step_us) * step_us
    return [Hour(h, h + step_us) for h in range(first, end_us - step_us + 1, step_us)]


def since_range(spec: FeatureSpec, settings: Settings, since_us: int, step_us: int) -> tuple[int, int]:
    """`run --since`: the steps from the one containing `newest arrival - since` to the one containing the newest
    arrival (`plan` keeps the settled ones). Rows whose clock is off (`parity.events.clock_skewed`) are not
    arrivals: one event stamped 2027 does not move the range to hours without events."""
    from parity.events import newest_arrival_us

    newest = newest_arrival_us(settings.event_log, spec.source, settings.clock_skew_bound_us)
    return (newest - since_us) // step_us * step_us, newest // step_us * step_us + step_us


def hour_inputs(spec: FeatureSpec, settings: Settings, hour: Hour, online: OnlineSource | None = None) -> Inputs:
    """What a check of `hour` reads, as the ledger keeps it: the event files of its event range and the online
    files of its windows (of `online`, the settings' online log by default), each with its size and modification
    time."""
    from parity.events import event_files
    from parity.offline import event_range
    from parity.online import open_source

    source = settings.event_log / spec.source
    events = {}
    for file in event_files(settings.event_log, spec.source, *event_range(spec.window, hour.start_us, hour.end_us)):
        stat = file.stat()
        events[file.relative_to(source).as_posix()] = [stat.st_size, stat.st_mtime_ns]
    source_of_online = online if online is not None else open_source(settings.online_log)
    return {"events": events, "online": source_of_online.versions(spec.name, hour.start_us, hour.end_us)}


def plan(spec: FeatureSpec, settings: Settings, candidates: Sequence[Hour], done: Mapping[int, Inputs | None],
         config: str, *, force: bool = False) -> Plan:
    """Of `candidates`, the hours to check: settled (`parity.check.settle`), with events, not in `done` (unless
    `force`), or in `done` with inputs that changed since (`parity.ledger.input_changes`)."""
    from parity.check import settle
    from parity.events import event_files
    from parity.ledger import input_changes

    if not candidates:
        return Plan(spec.name, config, (), 0, 0, 0)
    try:
        settled_end = settle(spec, settings, candidates[0].start_us, candidates[-1].end_us).end_us
    except DataError:
        settled_end = candidates[0].start_us  # nothing final yet
    settled = [hour for hour in candidates if hour.end_us <= settled_end]
    # The hour's own partitions: a sliding window starting late in an hour before the log begins reaches into
    # it, but holds only part of its events (the stream never saw the rest either); such an hour is not due.
    with_events = [hour for hour in settled if event_files(settings.event_log, spec.source, hour.start_us, hour.end_us)]
    changed: dict[int, str] = {}
    for hour in with_events:
        if hour.start_us in done and (change := input_changes(done[hour.start_us], hour_inputs(spec, settings, hour))):
            changed[hour.start_us] = change
    due = tuple(hour for hour in with_events if force or hour.start_us not in done or hour.start_us in changed)
    return Plan(spec.name, config, due, len(with_events) - len(due), len(candidates) - len(settled),
                len(settled) - len(with_events), tuple(changed.items()))


def run_feature(
    spec: FeatureSpec | Feature,
    settings: Settings,
    candidates: Sequence[Hour],
    *,
    force: bool = False,
    alert: bool = False,
    debug: bool = False,
    served: bool = False,
    on_plan: Callable[[Plan], None] = lambda plan: None,
    on_hour: Callable[[HourChecked], None] = lambda hour: None,
    online: OnlineSource | None = None,
    offline: OfflineEngine | None = None,
) -> FeatureRun:
    """Check the due hours of one feature under its lock, recording each in the ledger when done.

    A run that finds the lock held skips the feature (`held_by`): the holder checks those hours. A run killed
    mid-hour has recorded nothing for that hour; the next run checks it again under the same run id. The
    feature is loaded (its query validated) once, before anything runs; the sides are built once for every hour.
    """
    from parity import ledger
    from parity.alerts import evaluate_alerts, record_results
    from parity.alerts.delivery import now_us

    feature = as_feature(spec, settings)
    spec = feature.spec
    if online is None:
        from parity.online import open_source

        online = open_source(settings.online_log)
    if offline is None:
        from parity.offline import SparkEngine

        offline = SparkEngine(settings)
    engine = ledger.connect(settings.database)
    owner = ledger.owner_name()
    checked: list[HourChecked] = []
    try:
        with ledger.feature_lock(engine, spec.name, owner, now_us()) as holder:
            if holder is not None:
                return FeatureRun(spec.name, None, (), held_by=holder)
            config = ledger.config_hash(spec)
            with engine.connect() as conn:
                done = ledger.done_hours(conn, spec.name, config)
            hours = plan(spec, settings, candidates, done, config, force=force)
            on_plan(hours)
            changed = dict(hours.changed)
            for hour in hours.due:
                with engine.connect() as conn:
                    earlier = ledger.checks_of_hour(conn, spec.name, hour.start_us)
                run_id = ledger.hour_run_id(spec.name, hour.start_us, config, earlier)
                inputs = hour_inputs(spec, settings, hour, online)  # before the check: a file landing during it is new next time
                outcome, files = check_and_report(feature, settings, hour.start_us, hour.end_us, run_id=run_id,
                                                  debug=debug, online=online, offline=offline, served=served)
                changes: tuple[str, ...] = ()
                if alert:
                    changes = tuple(str(change) for change in evaluate_alerts([outcome], settings))
                else:
                    record_results([outcome], settings)
                if isinstance(outcome, CheckResult) and files is not None:
                    try:
                        with engine.begin() as conn:
                            ledger.record_hour(conn, outcome, hour.start_us, hour.end_us, config, str(files.html),
                                               now_us(), inputs)
                    except sa.exc.IntegrityError:  # a run that took over our expired lease recorded it first
                        log.warning("hour_already_recorded feature=%s run_id=%s", spec.name, outcome.run_id)
                done_now = HourChecked(spec.name, hour, outcome, files, changes, changed.get(hour.start_us))
                checked.append(done_now)
                on_hour(done_now)
                if not ledger.renew_lock(engine, spec.name, owner, now_us()):
                    return FeatureRun(spec.name, hours, tuple(checked), lost_lock=True)
            return FeatureRun(spec.name, hours, tuple(checked))
    finally:
        engine.dispose()
