"""The check's core: one function of (feature, online source, offline engine, span) that returns the result.

read the inputs (events, online rows) while the offline engine recomputes -> validate the inputs -> sample both
sides -> compare -> attribute (late arrival) -> diagnose (named defects) -> the lateness what-if -> verdict.
`check_feature` is that core; the CLI, the service (`run`, `backfill`, `replay`) and `parity.testing` build
the sides and call it. `run_check` and `check_cells` build the real sides from the settings, for a caller
holding only a spec.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from parity.check.online import OnlineRead, read_online
from parity.check.settle import CheckRange, new_run_id, settle
from parity.check.verdict import Judged, agreement_of, causes_of, verdict
from parity.errors import DataError
from parity.feature import Feature, as_feature, event_range
from parity.result import Cause, CheckResult
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.units import HOUR_US, iso

if TYPE_CHECKING:
    from parity.attribute import InTimeValues
    from parity.compare import Comparison
    from parity.events import EventRead
    from parity.offline import OfflineEngine
    from parity.online import OnlineSource
    from parity.quality import QualityReport
    from parity.result import Diagnosis

log = logging.getLogger("parity.check")
# How far around the checked range the window-shift diagnosis looks for online windows (`parity.diagnose`).
AROUND_US = 15 * HOUR_US


@dataclass(frozen=True, slots=True, eq=False)
class CheckedCells:
    """A check's result and its cells: every sampled cell with its keys, `window_start` (µs), `status`, `cause`
    and `v_online`/`v_offline` per value (`parity.compare.Comparison.cells` after attribution and diagnosis)."""

    result: CheckResult
    cells: pd.DataFrame


@dataclass(frozen=True, slots=True, eq=False)
class _Inputs:
    """Both sides read for one span: the events, the online rows, the event suite's report, the recompute."""

    events: EventRead
    online: OnlineRead
    quality: QualityReport
    offline: pd.DataFrame


@contextmanager
def _stage(name: str, feature: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.info("stage_done stage=%s feature=%s seconds=%.2f", name, feature, time.perf_counter() - started)


def check_feature(
    feature: Feature,
    online: OnlineSource,
    offline: OfflineEngine,
    span: CheckRange,
    settings: Settings,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
    served_log: str | Path | None = None,
) -> CheckedCells:
    """Check `feature` over the settled `span`: `online` is where its realtime rows are read, `offline` the
    engine recomputing it. `settings` name the event log the inputs are validated from and the project's
    defaults (clock skew, the what-if ladder). With `served_log` (a tap's served log), also the served check of
    the reads due in the span (`parity.check.served`). Raises ParityError when it cannot run."""
    from parity.attribute import what_if_ladder
    from parity.in_time import in_time_query
    from parity.quality import validate_online
    from parity.sample import in_sample

    spec = feature.spec
    rate = sample_rate if sample_rate is not None else spec.sample_rate
    bar = threshold if threshold is not None else spec.threshold
    run_id = new_run_id(spec.name, span.start_us, span.end_us)
    inputs = _read_inputs(feature, online, offline, span, settings)
    with _stage("validate_online", spec.name):
        quality = inputs.quality + validate_online(spec, inputs.online.rows, inputs.online.strays, inputs.offline)
    with _stage("compare", spec.name):
        sampled_offline = inputs.offline[in_sample(spec.name, inputs.offline, list(spec.keys), rate)]
        sampled_online = inputs.online.rows[in_sample(spec.name, inputs.online.rows, list(spec.keys), rate)]
        from parity.compare import compare

        comparison = compare(sampled_offline, sampled_online, spec)
    cells, method, in_time = _attribute(feature, offline, comparison, sampled_offline, sampled_online, inputs.events)
    cells, diagnoses = _diagnose(feature, online, span, cells, inputs, in_time)
    what_if: tuple[tuple[int, float], ...] = ()
    ladder = in_time_query(feature.query, spec.source, what_if_ladder(spec, settings)) if feature.in_time else None
    if ladder is not None and agreement_of(comparison) < bar and causes_of(cells)[Cause.LATE_ARRIVAL]:
        # The what-if answers a late-data breach, so it is computed for one: every step of the ladder is one more
        # distinct aggregate per COUNT(DISTINCT), which Spark evaluates by copying each row once per distinct
        # aggregate (in the first pass, demand_supply's recompute took 16x the bare query at 4.8M events a day).
        from parity.attribute import lateness_what_if

        with _stage("what_if", spec.name):
            stepped = offline.recompute(feature, span.start_us, span.end_us, in_time=ladder)
            stepped = stepped[in_sample(spec.name, stepped, list(spec.keys), rate)]
            what_if = tuple(lateness_what_if(stepped, spec, ladder, comparison.compared))
    judged = Judged(comparison, cells, quality, sampled_offline, sampled_online, diagnoses, what_if, method,
                    inputs.events.events.num_rows, inputs.events.skewed)
    result = verdict(spec, run_id, span, rate, bar, judged)
    if served_log is not None:
        from parity.check.served import served_reads
        from parity.served import served_block

        with _stage("served", spec.name):
            served = served_reads(spec, served_log, span, inputs.offline, inputs.online.all_windows, cells)
            result = dataclasses.replace(result, served=served_block(served, spec.keys, result.agreement, bar))
    return CheckedCells(result, cells)


def _read_inputs(feature: Feature, online: OnlineSource, offline: OfflineEngine, span: CheckRange,
                 settings: Settings) -> _Inputs:
    """Reading the inputs and validating the events (Arrow and pandas, in this process) run while the engine
    recomputes (Spark, in the JVM): neither waits for the other. The online suite needs the offline result (a
    key may be null online where it is null offline): it runs after, in `check_feature`."""
    from parity.events import event_files, read_event_range
    from parity.quality import validate_events

    spec = feature.spec
    event_start, event_end = event_range(spec.window, span.start_us, span.end_us)
    no_events = DataError(str(settings.event_log / spec.source),
                          f"no events between {iso(event_start)} and {iso(event_end)}")
    if not event_files(settings.event_log, spec.source, event_start, event_end):
        raise no_events

    def read_and_validate() -> tuple[EventRead, OnlineRead, QualityReport]:
        with _stage("read_inputs", spec.name):
            read = read_event_range(settings.event_log, spec.source, event_start, event_end,
                                    skew_bound_us=settings.clock_skew_bound_us)
            if read.events.num_rows == 0:
                raise no_events
            online_read = read_online(spec, online, span.start_us, span.end_us)
        with _stage("validate_events", spec.name):
            return read, online_read, validate_events(spec, settings, read.events, read.misplaced)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parity-read") as pool:
        reading = pool.submit(read_and_validate)
        with _stage("recompute", spec.name):
            recomputed = offline.recompute(feature, span.start_us, span.end_us, in_time=feature.in_time)
        events, online_read, quality = reading.result()
    return _Inputs(events, online_read, quality, recomputed)


def _attribute(feature: Feature, offline: OfflineEngine, comparison: Comparison, sampled_offline: pd.DataFrame,
               sampled_online: pd.DataFrame, events: EventRead) -> tuple[pd.DataFrame, str, InTimeValues]:
    """The compared cells with their cause (late arrival or not yet explained), how in-time values were found
    (in the recompute's own pass where the query allows it, else by a second query per window phase) and those."""
    from parity.attribute import AttributionMethod, attribute, one_pass_values, per_phase_values

    spec = feature.spec
    with _stage("attribute", spec.name):
        if feature.in_time is None:
            method = AttributionMethod.PER_PHASE
            values = per_phase_values(comparison.cells, spec, lambda cells: offline.recompute_in_time(feature, cells),
                                      events.events)
        else:
            method = AttributionMethod.ONE_PASS
            values = one_pass_values(comparison.cells, sampled_offline, spec, feature.in_time)
        return attribute(comparison.cells, sampled_online, spec, values), method.value, values


def _diagnose(feature: Feature, online: OnlineSource, span: CheckRange, cells: pd.DataFrame,
              inputs: _Inputs, in_time: InTimeValues) -> tuple[pd.DataFrame, tuple[Diagnosis, ...]]:
    """The named defects among the unexplained cells (`parity.diagnose`); a window shift is looked for in the
    online windows hours around the range, read only when a cell is left unexplained."""
    from parity.attribute import CAUSE_COLUMN
    from parity.diagnose import diagnose

    spec = feature.spec
    with _stage("diagnose", spec.name):
        around = inputs.online.all_windows
        if (cells[CAUSE_COLUMN] == Cause.UNEXPLAINED.value).any():
            around = read_online(spec, online, span.start_us, span.end_us, around_us=AROUND_US).all_windows
        every_online = around[around["window_start"].notna()]
        return diagnose(cells, spec, inputs.offline, every_online, span.start_us, span.end_us, in_time=in_time)


# --- for a caller holding a spec and the settings --------------------------------------------------------------


def check_cells(
    spec: FeatureSpec | Feature,
    settings: Settings,
    start_us: int,
    end_us: int,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
    online: OnlineSource | None = None,
    offline: OfflineEngine | None = None,
    served: bool = False,
) -> CheckedCells:
    """Check one feature over windows starting in [start_us, end_us), keeping the compared cells (what
    `parity.replay` classifies): the range settled, the sides built from the settings unless given (the online
    log through `parity.online.open_source`, Spark), then `check_feature`; with `served`, over the project's
    served log too."""
    from parity.online import open_source

    feature = as_feature(spec, settings)
    if online is None:
        online = open_source(settings.online_log)
    if offline is None:
        from parity.offline import SparkEngine

        offline = SparkEngine(settings)
    span = settle(feature.spec, settings, start_us, end_us)
    return check_feature(feature, online, offline, span, settings, sample_rate=sample_rate, threshold=threshold,
                         served_log=settings.served_reads if served else None)


def run_check(
    spec: FeatureSpec | Feature,
    settings: Settings,
    start_us: int,
    end_us: int,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
    online: OnlineSource | None = None,
    offline: OfflineEngine | None = None,
    served: bool = False,
) -> CheckResult:
    """`check_cells`' result: the one call from Python. Raises ParityError when it cannot run."""
    return check_cells(spec, settings, start_us, end_us, sample_rate=sample_rate, threshold=threshold,
                       online=online, offline=offline, served=served).result
