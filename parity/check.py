"""The parity check: a run is the stages called in order.

settle the range -> read online rows -> validate inputs -> recompute offline -> sample both sides ->
compare -> attribute -> verdict -> `CheckResult`. `run_check` is the one call from Python; the CLI,
reports and alerts render what it returns.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from parity.errors import DataError
from parity.result import Cause, CellDiff, CellStatus, CheckResult, Verdict
from parity.settings import Settings
from parity.spec import US, FeatureSpec, format_duration
from parity.watermark import arrival_cutoff_us

ONLINE_COLUMNS = ("window_start", "window_end", "pane_timing", "pane_index")
# Nullable pandas dtypes keep a null value distinct from NaN (a plain float64 column cannot).
_NULLABLE = {
    pa.float64(): pd.Float64Dtype(), pa.float32(): pd.Float64Dtype(), pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
}
WORST_CELLS = 20
T = TypeVar("T")
log = logging.getLogger("parity.check")


@contextmanager
def _stage(name: str, feature: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log.info("stage_done stage=%s feature=%s seconds=%.2f", name, feature, time.perf_counter() - started)


def _staged(name: str, feature: str, work: Callable[[], T]) -> T:
    with _stage(name, feature):
        return work()


@dataclass(frozen=True, slots=True)
class CheckRange:
    """Windows with `window_start` in [start_us, end_us). `unsettled` says what was cut off as not yet final."""

    start_us: int
    end_us: int
    unsettled: str | None


def iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / US, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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


def read_online(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int) -> pd.DataFrame:
    """The realtime output rows of a feature with `window_start` in the range (every pane)."""
    from parity.sample import utc_timestamps

    root = settings.online_log / spec.name
    files = sorted(root.rglob("*.parquet")) if root.is_dir() else []
    if not files:
        raise DataError(str(root), f"no realtime output for {spec.name}; run `parity stream {spec.name}` first")
    tables = []
    for file in files:
        try:
            table = pq.read_table(file)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(str(file), f"unreadable Parquet file: {str(exc).splitlines()[0]}") from exc
        missing = [c for c in (*spec.keys, *spec.values, *ONLINE_COLUMNS) if c not in table.column_names]
        if missing:
            raise DataError(str(file), f"online log lacks column(s) {', '.join(missing)}")
        for column in ("window_start", "window_end"):
            kind = table.schema.field(column).type
            if not pa.types.is_timestamp(kind):
                raise DataError(str(file), f"online column {column!r} has type {kind}; expected timestamp[us, tz=UTC]")
        tables.append(table.to_pandas(types_mapper=_NULLABLE.get))
    online = pd.concat(tables, ignore_index=True)
    for column in ("window_start", "window_end"):
        online[column] = utc_timestamps(online[column])
    lo = pd.Timestamp(start_us, unit="us", tz="UTC")
    hi = pd.Timestamp(end_us, unit="us", tz="UTC")
    return online[(online["window_start"] >= lo) & (online["window_start"] < hi)].reset_index(drop=True)


def run_check(
    spec: FeatureSpec,
    settings: Settings,
    start_us: int,
    end_us: int,
    *,
    sample_rate: float | None = None,
    threshold: float | None = None,
) -> CheckResult:
    """Check one feature over windows starting in [start_us, end_us). Raises ParityError when it cannot run."""
    from parity.alerts import cells_needed, wilson_interval
    from parity.attribute import CAUSE_COLUMN, attribute
    from parity.compare import compare
    from parity.events import read_events
    from parity.offline import event_range, recompute
    from parity.quality import validate_inputs
    from parity.sample import in_sample

    rate = sample_rate if sample_rate is not None else spec.sample_rate
    bar = threshold if threshold is not None else spec.threshold
    span = settle(spec, settings, start_us, end_us)
    run_id = new_run_id(spec.name, span.start_us, span.end_us)
    event_start, event_end = event_range(spec.window, span.start_us, span.end_us)
    with _stage("read_inputs", spec.name):
        events = read_events(settings.event_log, spec.source, event_start, event_end)
        if events.num_rows == 0:
            raise DataError(str(settings.event_log / spec.source),
                            f"no events between {iso(event_start)} and {iso(event_end)}")
        online = read_online(spec, settings, span.start_us, span.end_us)
    # Validation (pandas, in this process) runs while Spark recomputes (in the JVM): neither waits for the other.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parity-validate") as pool:
        validating = pool.submit(
            _staged, "validate_inputs", spec.name,
            lambda: validate_inputs(spec, settings, events, online, span.start_us, span.end_us, event_start, event_end),
        )
        with _stage("recompute", spec.name):
            offline = recompute(spec, settings, span.start_us, span.end_us)
        quality = validating.result()
    with _stage("compare", spec.name):
        offline = offline[in_sample(spec.name, offline, list(spec.keys), rate)]
        online = online[in_sample(spec.name, online, list(spec.keys), rate)]
        comparison = compare(offline, online, spec)
    with _stage("attribute", spec.name):
        cells = attribute(comparison.cells, online, spec, settings, events)

    causes = {cause.value: int((cells[CAUSE_COLUMN] == cause.value).sum()) for cause in Cause}
    compared = comparison.compared
    explained = compared - comparison.matched - causes[Cause.UNEXPLAINED.value]
    agreement = comparison.matched / compared if compared else 1.0
    net = (comparison.matched + explained) / compared if compared else 1.0
    low, high = wilson_interval(comparison.matched, compared)
    if not quality.passed or compared == 0:
        verdict = Verdict.INCONCLUSIVE
    else:
        verdict = Verdict.PASSED if agreement >= bar else Verdict.BREACHED
    counts = comparison.counts
    return CheckResult(
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
        extra={"events_read": events.num_rows, "online_rows": len(online), "window": spec.window.describe()},
    )


def _worst_cells(cells: pd.DataFrame, spec: FeatureSpec) -> tuple[CellDiff, ...]:
    """Divergent cells, unexplained first, then by the largest relative difference of the first value."""
    from parity.sample import window_micros

    divergent = cells[cells["status"] != CellStatus.MATCH.value].copy()
    if divergent.empty:
        return ()
    first = spec.values[0]
    # As plain floats: a nullable Int64 column cannot take the 1e-12 floor below (an offline count of 0 would).
    online = pd.to_numeric(divergent[f"{first}_online"], errors="coerce").astype("float64")
    offline = pd.to_numeric(divergent[f"{first}_offline"], errors="coerce").astype("float64")
    divergent["_gap"] = ((online - offline).abs() / offline.abs().clip(lower=1e-12)).fillna(float("inf"))
    divergent["_unexplained"] = divergent["cause"] == Cause.UNEXPLAINED.value
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

