"""The parity check: a run is the stages called in order.

settle the range -> read online rows -> validate inputs -> recompute offline -> sample both sides ->
compare -> attribute (late arrival) -> diagnose (named defects) -> verdict -> `CheckResult`. `run_check` is the one call from Python; the CLI,
reports and alerts render what it returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.errors import DataError
from parity.frames import NULLABLE
from parity.result import Cause, CellDiff, CellStatus, CheckResult, GeohashCounts, Verdict, WhatIf, WindowCounts
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.units import HOUR_US, US, format_duration, iso
from parity.watermark import arrival_cutoff_us

if TYPE_CHECKING:
    from parity.events import EventRead
    from parity.quality import QualityReport
    from parity.served import ServedResult

ONLINE_COLUMNS = ("window_start", "window_end", "pane_timing", "pane_index")
ON_TIME = "ON_TIME"  # the `pane_timing` of a window's on-time pane (Beam's PaneInfoTiming name, `parity.realtime`)
WORST_CELLS = 20
T = TypeVar("T")
log = logging.getLogger("parity.check")


@contextmanager
def _stage(name: str, feature: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.info("stage_done stage=%s feature=%s seconds=%.2f", name, feature, time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class CheckRange:
    """Windows with `window_start` in [start_us, end_us). `unsettled` says what was cut off as not yet final."""

    start_us: int
    end_us: int
    unsettled: str | None


def new_run_id(feature: str, start_us: int, end_us: int) -> str:
    now = dt.datetime.now(tz=dt.UTC)
    digest = hashlib.sha1(f"{feature}:{start_us}:{end_us}:{now.timestamp()}".encode()).hexdigest()[:6]
    return f"{now:%Y%m%dT%H%M%S}Z-{digest}"


def settle(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int) -> CheckRange:
    """Keep only final windows: the newest arrival in the event log must have reached a window's arrival cutoff
    (`parity.watermark.arrival_cutoff_us`: `window_end + allowed_lateness` and one watermark tick)."""
    from parity.events import newest_arrival_us

    if end_us <= start_us:
        raise DataError("--end", f"end {iso(end_us)} must be after start {iso(start_us)}")
    grid = spec.window.slide_us
    start = -(-start_us // grid) * grid  # ceil to the grid, in integers
    end = -(-end_us // grid) * grid
    newest = newest_arrival_us(settings.event_log, spec.source)
    # Final once arrivals reached the window's arrival cutoff (window_end + lateness + one watermark tick):
    # the stream still counts an event arriving before it. With window_end = window_start + size,
    # cutoff(window_start + size) <= newest  <=>  window_start <= newest - cutoff(size).
    last_final = (newest - arrival_cutoff_us(spec.window.size_us, spec.allowed_lateness_us)) // grid * grid
    settled_end = min(end, last_final + grid)
    if settled_end <= start:
        final_after = format_duration(arrival_cutoff_us(0, spec.allowed_lateness_us))
        raise DataError(
            str(settings.event_log / spec.source),
            f"range {iso(start_us)}..{iso(end_us)} is not yet settled: the newest arrival is {iso(newest)}, and a "
            f"window is final once arrivals reach its end + {final_after} (lateness and one watermark tick); "
            "check an earlier range",
        )
    unsettled = None
    if settled_end < end:
        unsettled = f"windows starting {iso(settled_end)} or later are not final yet (newest arrival {iso(newest)})"
    return CheckRange(start, settled_end, unsettled)


# How far around the checked range the window-shift diagnosis looks for online windows (`parity.diagnose`).
AROUND_US = 15 * HOUR_US


@dataclass(frozen=True, slots=True)
class OnlineRead:
    """The realtime output rows with `window_start` in the range (every pane), and the `strays`: rows with a null
    `window_start` or one outside the windows their file claims (`parity.online.OnlinePart.claim`), in range or
    not, with the file they are in. Windows outside the checked range are normal; strays are not.
    `all_windows`: every row read, in the range or not (a window shift is seen in the windows around the range).
    Rows carry the file they were read from in `_file` (categorical)."""

    rows: pd.DataFrame
    strays: pd.DataFrame
    all_windows: pd.DataFrame


def read_online(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int, *, around_us: int = 0) -> OnlineRead:
    """The realtime output of a feature for windows starting in [start_us, end_us), and its strays.

    Read through the online source of `settings.online_log` (`parity.online`): on a filesystem, the hour
    folders holding the range (widened by `around_us` on both sides) and the old flat layout; hidden names,
    such as a stream's temporaries, are not output, and windows a newer stream replaced are left out. A file
    that cannot be read is a `DataError` naming it."""
    from parity.diagnose import FILE_COLUMN
    from parity.online import open_source
    from parity.sample import utc_timestamps

    parts = open_source(settings.online_log).read(spec.name, start_us - around_us, end_us + around_us)
    frames = []
    strays = []
    for part in parts:
        missing = [c for c in (*spec.keys, *spec.values, *ONLINE_COLUMNS) if c not in part.table.column_names]
        if missing:
            where = settings.online_log / spec.name / part.name
            raise DataError(str(where), f"online log lacks column(s) {', '.join(missing)}")
        for column in ("window_start", "window_end"):
            kind = part.table.schema.field(column).type
            if not pa.types.is_timestamp(kind):
                raise DataError(str(settings.online_log / spec.name / part.name),
                                f"online column {column!r} has type {kind}; expected timestamp[us, tz=UTC]")
        frame = part.table.to_pandas(types_mapper=NULLABLE.get)
        frame[FILE_COLUMN] = part.name
        starts = utc_timestamps(frame["window_start"])
        stray = starts.isna()
        if part.claim is not None:
            stray |= (starts < pd.Timestamp(part.claim[0], unit="us", tz="UTC")) | (
                starts >= pd.Timestamp(part.claim[1], unit="us", tz="UTC"))
        if stray.any():
            strays.append(pd.DataFrame({"window_start": starts[stray], "file": part.name}))
        frames.append(frame)
    online = pd.concat(frames, ignore_index=True) if frames else _no_rows(spec)
    online[FILE_COLUMN] = online[FILE_COLUMN].astype("category")
    for column in ("window_start", "window_end"):
        online[column] = utc_timestamps(online[column])
    lo = pd.Timestamp(start_us, unit="us", tz="UTC")
    hi = pd.Timestamp(end_us, unit="us", tz="UTC")
    rows = online[(online["window_start"] >= lo) & (online["window_start"] < hi)].reset_index(drop=True)
    no_strays = pd.DataFrame({"window_start": pd.Series([], dtype="datetime64[us, UTC]"), "file": pd.Series([], dtype=str)})
    return OnlineRead(rows, pd.concat([no_strays, *strays], ignore_index=True), online)


def _no_rows(spec: FeatureSpec) -> pd.DataFrame:
    """An online frame without rows: the feature has output, none of it in the hours read."""
    from parity.diagnose import FILE_COLUMN

    columns = {c: pd.Series([], dtype=object) for c in (*spec.keys, *spec.values)}
    columns |= {"window_start": pd.Series([], dtype="datetime64[us, UTC]"),
                "window_end": pd.Series([], dtype="datetime64[us, UTC]"),
                "pane_timing": pd.Series([], dtype=object), "pane_index": pd.Series([], dtype="Int64"),
                FILE_COLUMN: pd.Series([], dtype=str)}
    return pd.DataFrame(columns)


def run_check(
    spec: FeatureSpec,
    settings: Settings,
    start_us: int,
    end_us: int,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
    served: bool = False,
) -> CheckResult:
    """Check one feature over windows starting in [start_us, end_us). Raises ParityError when it cannot run.
    With `served`, also the served check of the reads the tap logged for those windows (`served_reads`)."""
    return check_cells(spec, settings, start_us, end_us, sample_rate=sample_rate, threshold=threshold,
                       served=served).result


@dataclass(frozen=True, slots=True, eq=False)
class CheckedCells:
    """A check's result and its cells: every sampled cell with its keys, `window_start` (µs), `status`, `cause`
    and `v_online`/`v_offline` per value (`parity.compare.Comparison.cells` after attribution and diagnosis)."""

    result: CheckResult
    cells: pd.DataFrame


def check_cells(
    spec: FeatureSpec,
    settings: Settings,
    start_us: int,
    end_us: int,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
    served: bool = False,
) -> CheckedCells:
    """`run_check`, keeping the compared cells (what `parity.replay` classifies)."""
    from parity.attribute import (
        CAUSE_COLUMN,
        AttributionMethod,
        attribute,
        lateness_what_if,
        one_pass_values,
        per_phase_values,
        what_if_ladder,
    )
    from parity.compare import compare
    from parity.confidence import cells_needed, wilson_interval
    from parity.diagnose import diagnose
    from parity.events import event_files, read_event_range
    from parity.in_time import in_time_query
    from parity.offline import event_range, recompute
    from parity.quality import validate_events, validate_online
    from parity.query import read_query
    from parity.sample import in_sample

    rate = sample_rate if sample_rate is not None else spec.sample_rate
    bar = threshold if threshold is not None else spec.threshold
    span = settle(spec, settings, start_us, end_us)
    # In-time values at the spec's lateness, in the recompute's own pass where provable (parity.in_time).
    tree = read_query(spec, settings.project)
    in_time = in_time_query(tree, spec.source, (spec.allowed_lateness_us,))
    run_id = new_run_id(spec.name, span.start_us, span.end_us)
    event_start, event_end = event_range(spec.window, span.start_us, span.end_us)
    # Reading the inputs and validating the events (Arrow and pandas, in this process) run while Spark recomputes
    # (in the JVM): neither waits for the other. The online suite needs the offline result (a key may be null
    # online where it is null offline): it runs after.
    no_events = DataError(str(settings.event_log / spec.source),
                          f"no events between {iso(event_start)} and {iso(event_end)}")
    if not event_files(settings.event_log, spec.source, event_start, event_end):
        raise no_events

    def read_and_validate() -> tuple[EventRead, OnlineRead, QualityReport]:
        with _stage("read_inputs", spec.name):
            read = read_event_range(settings.event_log, spec.source, event_start, event_end)
            if read.events.num_rows == 0:
                raise no_events
            online_read = read_online(spec, settings, span.start_us, span.end_us)
        with _stage("validate_events", spec.name):
            return read, online_read, validate_events(spec, settings, read.events, read.misplaced)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parity-read") as pool:
        reading = pool.submit(read_and_validate)
        with _stage("recompute", spec.name):
            offline = recompute(spec, settings, span.start_us, span.end_us, in_time=in_time)
        read, online_read, quality = reading.result()
    events, online = read.events, online_read.rows
    with _stage("validate_online", spec.name):
        quality += validate_online(spec, online, online_read.strays, offline)
    with _stage("compare", spec.name):
        sampled_offline = offline[in_sample(spec.name, offline, list(spec.keys), rate)]
        online = online[in_sample(spec.name, online, list(spec.keys), rate)]
        comparison = compare(sampled_offline, online, spec)
    with _stage("attribute", spec.name):
        if in_time is None:
            method = AttributionMethod.PER_PHASE
            values = per_phase_values(comparison.cells, spec, settings, events)
        else:
            method = AttributionMethod.ONE_PASS
            values = one_pass_values(comparison.cells, sampled_offline, spec, in_time)
        cells = attribute(comparison.cells, online, spec, values)
    with _stage("diagnose", spec.name):
        around = online_read.all_windows
        if (cells[CAUSE_COLUMN] == Cause.UNEXPLAINED.value).any():  # the window shift looks hours around the range
            around = read_online(spec, settings, span.start_us, span.end_us, around_us=AROUND_US).all_windows
        every_online = around[around["window_start"].notna()]
        cells, diagnoses = diagnose(cells, spec, offline, every_online, span.start_us, span.end_us)

    causes = {cause: int((cells[CAUSE_COLUMN] == cause.value).sum()) for cause in Cause}
    compared = comparison.compared
    explained = sum(count for cause, count in causes.items() if cause.explained)
    agreement = comparison.matched / compared if compared else 1.0
    net = (comparison.matched + explained) / compared if compared else 1.0
    what_if: list[tuple[int, float]] = []
    ladder = in_time_query(tree, spec.source, what_if_ladder(spec, settings)) if in_time is not None else None
    if ladder is not None and agreement < bar and causes[Cause.LATE_ARRIVAL]:
        # The what-if answers a late-data breach, so it is computed for one: every step of the ladder is one more
        # distinct aggregate per COUNT(DISTINCT), which Spark evaluates by copying each row once per distinct
        # aggregate (in the first pass, demand_supply's recompute took 16x the bare query at 4.8M events a day).
        with _stage("what_if", spec.name):
            stepped = recompute(spec, settings, span.start_us, span.end_us, in_time=ladder)
            stepped = stepped[in_sample(spec.name, stepped, list(spec.keys), rate)]
            what_if = lateness_what_if(stepped, spec, ladder, compared)
    served_figures = None
    if served:
        from parity.served import served_block

        with _stage("served", spec.name):
            served_result = served_reads(spec, settings, span, offline, online_read.all_windows, cells)
            served_figures = served_block(served_result, spec.keys, agreement, bar)
    low, high = wilson_interval(comparison.matched, compared)
    if not quality.passed or compared == 0:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASSED if agreement >= bar else Verdict.BREACHED
    counts = comparison.counts
    result = CheckResult(
        feature=spec.name,
        run_id=run_id,
        start=iso(span.start_us),
        end=iso(span.end_us),
        sample_rate=rate,
        compared=compared,
        matched=comparison.matched,
        value_mismatch=counts[CellStatus.VALUE_MISMATCH],
        missing_online=counts[CellStatus.MISSING_ONLINE],
        missing_offline=counts[CellStatus.MISSING_OFFLINE],
        duplicate_online=counts[CellStatus.DUPLICATE_ONLINE],
        agreement=agreement,
        threshold=bar,
        passed=verdict is Verdict.PASSED,
        causes=causes,
        agreement_net_of_explained=net,
        verdict=verdict,
        ci_low=low,
        ci_high=high,
        cells_needed=cells_needed(bar),
        worst_cells=_worst_cells(cells, spec),
        failed_expectations=tuple(f.to_json() for f in quality.failed),
        unsettled=span.unsettled,
        attribution_method=method.value,
        diagnoses=diagnoses,
        agreement_on_time_pane=_on_time_agreement(sampled_offline, online, spec, comparison.compared),
        lateness_what_if=tuple(WhatIf(format_duration(lateness), share) for lateness, share in what_if),
        lateness_needed=next((format_duration(lateness) for lateness, share in what_if if share >= bar), None),
        extra={"events_read": events.num_rows, "online_rows": len(online), "window": spec.window.describe(),
               "allowed_lateness": format_duration(spec.allowed_lateness_us)},
        description=spec.description,
        slide_s=spec.window.slide_us // US,
        windows=_window_counts(cells),
        geohash_cells=_geohash_counts(cells, spec),
        served=served_figures,
    )
    return CheckedCells(result, cells)


def served_span(spec: FeatureSpec, span: CheckRange) -> tuple[int, int]:
    """The reads whose due window (`parity.served`) starts in the checked range: `read_at` in
    [start + size + delay, end + size + delay)."""
    shift = spec.window.size_us + spec.served_rules.delay_us
    return span.start_us + shift, span.end_us + shift


def served_reads(spec: FeatureSpec, settings: Settings, span: CheckRange, offline: pd.DataFrame,
                 panes: pd.DataFrame, cells: pd.DataFrame) -> ServedResult:
    """The served check of the tap's reads due in `span` (`parity.served.served_check`), against the check's own
    offline rows, the stream's panes (`emitted_at` on the reads' clock: the log's for wall-clock reads, the
    replayed instant, `replayed_emission`, for simulated ones) and the emitted check's causes.

    A read that found a window newer than due and past the checked windows (a model reading just after a window
    closed, before `delay` ran out) has no offline truth in the check: it is left out, and counted by the check
    of the range that holds that window. With `served.empty: latest`, the latest window with a row is looked
    for within the checked windows only."""
    from parity.sample import window_micros
    from parity.served import replayed_emission, served_check
    from parity.served_log import Clock, clock_of, read_served

    lo, hi = served_span(spec, span)
    reads = read_served(settings.served_reads, spec, lo, hi)
    where = str(settings.served_reads / spec.name)
    if reads.empty:
        raise DataError(where, f"no served reads between {iso(lo)} and {iso(hi)} (due in the checked windows); "
                               f"tap the store first: `parity tap {spec.name} --store redis://...`")
    clock = clock_of(reads, where)
    beyond = span.end_us + spec.window.size_us  # the end of the first window starting after the checked range
    reads = reads[~(reads["present"] & (reads["window_end"] >= beyond)).to_numpy(dtype=bool)].reset_index(drop=True)
    truth = offline[[*spec.keys, *spec.values]].copy()
    truth["window_end"] = window_micros(offline["window_end"])
    stream = panes[[*spec.keys, *spec.values, "pane_index"]].copy()
    stream["window_end"] = window_micros(panes["window_end"])
    if clock is Clock.SIMULATED or "emitted_at" not in panes.columns:
        stream["emitted_at"] = replayed_emission(spec, stream)
    else:
        stream["emitted_at"] = window_micros(panes["emitted_at"])
    known = cells[[*spec.keys, "cause"]].copy()
    known["window_end"] = window_micros(cells["window_start"]) + spec.window.size_us
    return served_check(spec, spec.served_rules, reads, truth, stream, clock=clock.value, compute_causes=known)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _window_counts(cells: pd.DataFrame) -> tuple[WindowCounts, ...]:
    """Per window: compared, matched, and the divergent cells by cause (what the report's range chart stacks)."""
    from parity.sample import window_micros

    if cells.empty:
        return ()
    starts, index = np.unique(window_micros(cells["window_start"]), return_inverse=True)
    matched = np.bincount(index, weights=(cells["status"] == CellStatus.MATCH.value).to_numpy(), minlength=len(starts))
    by_cause = {
        cause.value: np.bincount(index, weights=(cells["cause"] == cause.value).to_numpy(), minlength=len(starts))
        for cause in Cause
    }
    compared = np.bincount(index, minlength=len(starts))
    return tuple(
        WindowCounts(iso(int(start)), int(compared[i]), int(matched[i]),
                     {cause: int(counts[i]) for cause, counts in by_cause.items()})
        for i, start in enumerate(starts.tolist())
    )


def _geohash_counts(cells: pd.DataFrame, spec: FeatureSpec) -> GeohashCounts | None:
    """Per geohash (over every window), for the report's drill-down, when the one key holds geohashes: every
    non-null value a geohash of one precision (a display choice made from the data, nothing depends on it)."""
    from parity.geo import BASE32

    if len(spec.keys) != 1 or cells.empty:
        return None
    key = spec.keys[0]
    values = cells[key].astype(object).where(cells[key].notna(), "")
    present = {v for v in values.unique().tolist() if v != ""}
    if not present or not all(isinstance(v, str) and set(v) <= BASE32 for v in present) or len({len(v) for v in present}) != 1:
        return None
    frame = pd.DataFrame({
        "key": values.astype(str).to_numpy(),
        "matched": (cells["status"] == CellStatus.MATCH.value).to_numpy(),
        "unexplained": (cells["cause"] == Cause.UNEXPLAINED.value).to_numpy(),
    })
    grouped = frame.groupby("key", sort=True).agg(cells=("matched", "size"), matched=("matched", "sum"),
                                                  unexplained=("unexplained", "sum"))
    return GeohashCounts(key, tuple(grouped.index.tolist()), tuple(grouped["cells"].astype(int).tolist()),
                         tuple(grouped["matched"].astype(int).tolist()),
                         tuple(grouped["unexplained"].astype(int).tolist()))


def _on_time_agreement(offline: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec, compared: int) -> float | None:
    """What a model reading at window close received: the share of the check's cells whose ON_TIME pane agrees
    with offline. A cell with neither an offline row nor an ON_TIME pane agrees (nothing was due, nothing came);
    a cell whose only panes are late has no ON_TIME pane and disagrees. None when no row is an ON_TIME pane."""
    from parity.compare import compare

    on_time = online["pane_timing"] == ON_TIME
    if compared == 0 or not on_time.any():
        return None
    closing = compare(offline, online[on_time.to_numpy(dtype=bool, na_value=False)], spec)
    return (closing.matched + compared - closing.compared) / compared


def _worst_cells(cells: pd.DataFrame, spec: FeatureSpec) -> tuple[CellDiff, ...]:
    """Divergent cells, those not explained away first, then by the largest relative difference of the first value."""
    from parity.sample import window_micros

    divergent = cells[cells["status"] != CellStatus.MATCH.value].copy()
    if divergent.empty:
        return ()
    first = spec.values[0]
    # As plain floats: a nullable Int64 column cannot take the 1e-12 floor below (an offline count of 0 would).
    online = pd.to_numeric(divergent[f"{first}_online"], errors="coerce").astype("float64")
    offline = pd.to_numeric(divergent[f"{first}_offline"], errors="coerce").astype("float64")
    divergent["_gap"] = ((online - offline).abs() / offline.abs().clip(lower=1e-12)).fillna(float("inf"))
    divergent["_unexplained"] = [not Cause(cause).explained for cause in divergent["cause"]]
    divergent = divergent.sort_values(["_unexplained", "_gap"], ascending=False).head(WORST_CELLS)
    return tuple(
        CellDiff(
            keys={k: _plain(row[k]) for k in spec.keys},
            window_start=iso(int(window_micros(pd.Series([row["window_start"]]))[0])),
            status=CellStatus(row["status"]),
            cause=Cause(row["cause"]),
            online={v: _plain(row[f"{v}_online"]) for v in spec.values},
            offline={v: _plain(row[f"{v}_offline"]) for v in spec.values},
        )
        for _, row in divergent.iterrows()
    )


def _plain(value: object) -> object:
    """A JSON-safe scalar: None for missing, float/int/str otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()  # numpy scalar
    return value

