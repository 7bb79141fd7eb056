"""The fast replay: the job run in batch on Beam's FnApiRunner, with the late-data rule applied up front.

The streaming replay (`parity.realtime.faithful`) feeds the streaming DirectRunner batch after batch of
arrivals, segment after segment. What a window's panes hold depends only on when its events arrived relative to the
window's end, and that is known in advance: `parity.watermark` says which events the ON_TIME pane holds
(arrived before the window's end, `on_time_cutoff_us`) and which the last pane holds (arrived before the
window's cutoff, `arrival_cutoff_us`). So the fast mode reads the events from Parquet in Arrow record
batches, windows them as the spec says, and after `WindowInto` a step that sees each element's window keeps
the events that arrived before that window's cutoff; the job, unchanged, runs on each of the two filtered
inputs in one batch pipeline, and each cell's two outputs become its pane rows, written by the same writer
as the faithful mode's (`parity.beam.WritePanes`).

What it writes, per cell (keys and window) the job outputs:
- the ON_TIME pane (`pane_index` 0), the job's output over the events that arrived before the window's end,
  as the faithful mode's ON_TIME pane;
- a LATE pane holding the job's output over every event that arrived before the window's cutoff, the value
  of the faithful mode's last pane, when it differs from the ON_TIME pane or there is none: `pane_index` 1
  after an ON_TIME pane, 0 without one (the faithful mode's index when the cell's late events came in one
  late pane).

What differs from the faithful mode: (1) it writes no intermediate LATE panes, only the last value: where the
faithful mode fires n late panes (one per batch of late arrivals reaching the cell), the fast mode writes one,
with `pane_index` 1 (0 without ON_TIME pane) instead of n (n - 1); (2) a late pane that repeats the ON_TIME
value (a late duplicate delivery, a late event the job filters out after the cell fired) is not written;
(3) `emitted_at` is when the batch run logged the pane, not a replayed moment. Final and ON_TIME values are
the same (tests/realtime/test_fast_replay*.py check them against the faithful mode; floats to 1e-12, as a
mean's sum may add in another order). The events go in arrival order, and while the pipeline runs, the
framework's windows are grouped by `WindowsFireOnce` (Beam's batch semantics, without its streaming trigger
machinery). A job that re-windows
its elements (re-stamps them and applies its own `WindowInto`) replaces the framework's windows; the fast
mode's cutoffs follow the framework's windows, so its late data may then differ from the faithful mode's.
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems
from apache_beam.io.parquetio import ReadFromParquetBatched
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.transforms import trigger, window
from apache_beam.transforms.window import TimestampCombiner
from apache_beam.utils.timestamp import Timestamp
from apache_beam.utils.windowed_value import PaneInfo, PaneInfoTiming, WindowedValue

from parity.beam import StorePanes, WritePanes, columns
from parity.errors import JobError, OnlineStoreError
from parity.online_store import StoreTarget
from parity.realtime.job import ARRIVAL_ORDER, event_rows, load_job, one_line, owned_windows, window_fn
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.watermark import arrival_cutoff_us, on_time_cutoff_us

# Rows per Arrow record batch read from the events' Parquet file (and per row group written to it).
BATCH_EVENTS = 20_000
_ON_TIME, _FINAL = "on_time", "final"


def fast_options(settings: Settings, workers: int = 1) -> PipelineOptions:
    """Batch options for the FnApiRunner; the project's `beam_options` pass through, its runner does not."""
    passthrough = [o for o in settings.beam_options if not o.startswith("--runner")]
    options = PipelineOptions([*passthrough, "--runner=FnApiRunner"])
    options.view_as(StandardOptions).streaming = False
    if workers > 1:
        direct = options.view_as(DirectOptions)
        direct.direct_num_workers = workers
        direct.direct_running_mode = "multi_processing"
    return options


def replay_fast(
    spec: FeatureSpec, settings: Settings, events: pa.Table, event_type: type[tuple[Any, ...]], staging: Path,
    writer: str, workers: int = 1, store: StoreTarget | None = None, windows: tuple[int, int] | None = None,
) -> None:
    """Run the job in batch on `events` (written to `staging` as Parquet first); log its panes under `staging`
    and, with a `store`, write those of the `windows` starting in [start, end) (None: all) into it. A batch run
    has no arrival order across cells: each cell's ON_TIME pane is written before its LATE pane, but the cells
    of one key come in no particular order (under `LAST_ARRIVAL`, use the faithful mode to see the order a
    stream writes in)."""
    source = staging / "events.parquet"
    # In arrival order, as a stream meets them: a job's float sums then add in about the faithful replay's order.
    pq.write_table(events.sort_by(ARRIVAL_ORDER), source, row_group_size=BATCH_EVENTS)
    lateness = spec.allowed_lateness_us
    cutoffs: dict[str, Callable[[int], int]] = {
        _ON_TIME: on_time_cutoff_us,
        _FINAL: lambda end: arrival_cutoff_us(end, lateness),
    }
    try:
        pipeline = beam.Pipeline(options=fast_options(settings, workers))
        windowed = (
            pipeline
            | "Read" >> ReadFromParquetBatched(str(source))
            | "Events" >> beam.FlatMap(_stamped, event_type).with_output_types(event_type)
            | "Window" >> beam.WindowInto(window_fn(spec))
        )
        outputs = {}
        job = load_job(spec, settings.project)  # loaded once: a second import would make its classes differ
        for side, cutoff in cutoffs.items():
            arrived = windowed | f"Arrived_{side}" >> beam.ParDo(ArrivedBy(cutoff)).with_output_types(event_type)
            outputs[side] = (
                arrived
                | f"Job_{side}" >> job
                | f"Cells_{side}" >> beam.ParDo(CellValues(spec.name, spec.keys, spec.values, spec.window.size_us))
                | f"Global_{side}" >> beam.WindowInto(window.GlobalWindows())
            )
        panes = outputs | "ByCell" >> beam.CoGroupByKey() | "Panes" >> beam.ParDo(Panes(spec.keys, spec.values))
        panes | "Log" >> WritePanes(FileSystems.join(str(staging), spec.name), writer, spec.keys, spec.values, batch=True)
        keep = owned_windows(None, windows)
        if store is not None:
            owned = panes | "Owned" >> beam.Filter(lambda row: keep is None or keep(row["window_start"]))
            owned | "Store" >> beam.ParDo(StorePanes(spec.name, spec.keys, spec.values, store.url, rule=store.rule,
                                                     ttl_s=store.ttl_s))
        with _windows_fire_once():
            pipeline.run().wait_until_finish()
    except (JobError, OnlineStoreError):
        raise
    except Exception as exc:
        raise JobError(spec.name, one_line(exc)) from exc
    finally:
        source.unlink(missing_ok=True)


class WindowsFireOnce(trigger.TriggerDriver):
    """Beam's batch semantics of the default trigger over non-merging windows, directly: each window of a key
    fires once, ON_TIME, with every value of the key in it, stamped at the window's end (OUTPUT_AT_EOW).

    Beam's FnApiRunner drives such a grouping through its general streaming trigger machinery (state, timers
    and a class built per state access for every key and window): half of a profiled fast replay's time went there.
    """

    # `_windows_fire_once` installs this driver for batch groupings only, where Beam calls `process_entire_key`;
    # the streaming entry points are never reached, and say so if they ever are.
    def process_elements(self, state: Any, windowed_values: Any, output_watermark: Any, input_watermark: Any = None) -> Any:
        raise RuntimeError("WindowsFireOnce drives batch groupings only (Beam called its streaming entry point)")

    def process_timer(self, window_id: Any, name: Any, time_domain: Any, timestamp: Any, state: Any,
                      input_watermark: Any = None) -> Any:
        raise RuntimeError("WindowsFireOnce drives batch groupings only (Beam called its timer entry point)")

    def process_entire_key(self, key: Any, windowed_values: Any) -> Iterator[WindowedValue]:
        by_window: dict[Any, list[Any]] = {}
        for value in windowed_values:
            for win in value.windows:
                by_window.setdefault(win, []).append(value.value)
        for win, values in by_window.items():
            yield WindowedValue((key, values), win.max_timestamp(), (win,), _ONLY_FIRING)


_ONLY_FIRING = PaneInfo(is_first=True, is_last=True, timing=PaneInfoTiming.ON_TIME, index=0, nonspeculative_index=0)


@contextlib.contextmanager
def _windows_fire_once() -> Iterator[None]:
    """While a fast replay runs, batch groupings under the default trigger and non-merging windows (the
    framework's windows) use `WindowsFireOnce`; every other grouping keeps Beam's driver."""
    original = trigger.create_trigger_driver

    def create(windowing: Any, is_batch: bool = False, phased_combine_fn: Any = None, clock: Any = None) -> Any:
        if (is_batch and phased_combine_fn is None and windowing.triggerfn == trigger.DefaultTrigger()
                and not windowing.windowfn.is_merging() and not isinstance(windowing.windowfn, window.GlobalWindows)
                and windowing.timestamp_combiner == TimestampCombiner.OUTPUT_AT_EOW):
            return WindowsFireOnce()
        return original(windowing, is_batch, phased_combine_fn, clock)

    trigger.create_trigger_driver = create
    try:
        yield
    finally:
        trigger.create_trigger_driver = original


def _stamped(batch: pa.Table, event_type: type[tuple[Any, ...]]) -> Iterator[window.TimestampedValue[Any]]:
    """One Arrow record batch of events -> `Event` rows stamped with their event time."""
    for row in event_rows(batch, event_type):
        yield window.TimestampedValue(row, Timestamp(micros=row.event_time))  # type: ignore[attr-defined]


class ArrivedBy(beam.DoFn):
    """Keeps an event in a window when it arrived before `cutoff(window end)`: run once per window of a
    sliding-windowed event, so each window applies its own cutoff."""

    def __init__(self, cutoff: Callable[[int], int]) -> None:
        self._cutoff = cutoff

    def process(self, event: Any, win: Any = beam.DoFn.WindowParam) -> Iterator[Any]:
        if event.ingest_time < self._cutoff(win.end.micros):
            yield event


class CellValues(beam.DoFn):
    """One job output in its window -> ((keys..., window_start), (values..., window_end))."""

    def __init__(self, feature: str, keys: tuple[str, ...], values: tuple[str, ...], window_size_us: int) -> None:
        self._feature, self._keys, self._values, self._size = feature, keys, values, window_size_us

    def process(self, element: Any, win: Any = beam.DoFn.WindowParam) -> Iterator[Any]:
        if not isinstance(win, window.IntervalWindow) or win.end.micros - win.start.micros != self._size:
            raise JobError(self._feature, f"output is not in the spec's windows (window {win}); do not re-window or globalize in the job")
        cell = columns(element, self._keys, self._values, self._feature)
        split = len(self._keys)
        yield (*cell[:split], win.start.micros), (*cell[split:], win.end.micros)


class Panes(beam.DoFn):
    """A cell's ON_TIME pane and, when its final value differs or it has no ON_TIME pane, its last LATE pane."""

    def __init__(self, keys: tuple[str, ...], values: tuple[str, ...]) -> None:
        self._keys, self._values = keys, values

    def process(self, item: tuple[tuple[Any, ...], dict[str, Any]]) -> Iterator[dict[str, Any]]:
        cell, sides = item
        on_time, final = list(sides[_ON_TIME]), list(sides[_FINAL])
        emitted_at = time.time_ns() // 1_000
        panes: list[tuple[str, int, list[tuple[Any, ...]]]] = []
        if on_time:
            panes.append((PaneInfoTiming.to_string(PaneInfoTiming.ON_TIME), 0, on_time))
        if final and (not on_time or _comparable(final) != _comparable(on_time)):
            panes.append((PaneInfoTiming.to_string(PaneInfoTiming.LATE), 1 if on_time else 0, final))
        *key, start = cell
        for timing, index, outputs in panes:
            for output in outputs:
                *value, end = output
                yield {**dict(zip(self._keys, key, strict=True)), **dict(zip(self._values, value, strict=True)),
                       "window_start": start, "window_end": end, "pane_timing": timing, "pane_index": index,
                       "emitted_at": emitted_at}


def _comparable(outputs: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A cell's outputs in a stable order, NaN equal to NaN (a NaN value did not change)."""
    return sorted((tuple("NaN" if isinstance(v, float) and math.isnan(v) else v for v in output) for output in outputs), key=repr)
