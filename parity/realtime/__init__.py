"""The realtime side: replay events to a feature's Beam job and keep every pane it emits.

Two modes (`Mode`), one output:
- `Mode.FAITHFUL` (`parity.realtime.faithful`): the events through a `TestStream` in arrival order on the
  streaming DirectRunner, the framework's windows, trigger and allowed lateness applied as in production, so
  Beam itself fires the panes and drops what arrives too late. The reference, and the default for small ranges.
- `Mode.FAST` (`parity.realtime.fast`): the job in batch on the FnApiRunner, the late-data rule of
  `parity.watermark` applied up front; the same ON_TIME and final values, without the intermediate late panes
  (its docstring says exactly what differs). The default from `FAST_FROM_EVENTS` events.

What the job sees: a schema'd PCollection of `Event` rows, windowed by the framework (`parity.realtime.job`).
It returns rows (or `(key, value)` tuples) holding the spec's key and value columns, still windowed.

What comes out: per pane, the key and value columns, `window_start`, `window_end`, `emitted_at`
(timestamp[us, UTC]), `pane_timing` (EARLY/ON_TIME/LATE) and `pane_index` (int64), written by
`parity.beam`'s writer, the one a production pipeline applies too. `emitted_at` is the wall-clock time at
which the pane was logged (processing time, as production records it); the replayed timeline itself is told
by the window, `pane_timing` and `pane_index`. The replay's pane files go to a hidden staging folder; the
stream then publishes them into the online log (`parity.online.files`): one file per hour of its windows under
`<online_log>/<feature>/date=.../hour=.../`, claiming the stream's range of windows as the newest generation
of writer `stream`, so replaying a range again replaces those windows instead of adding duplicate panes. Each
file is published atomically (`parity.publish`): a reader sees the whole file or the previous generation,
and a stream killed midway leaves only hidden leftovers, which the next stream into the folder removes.
"""

from __future__ import annotations

import enum
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from parity.errors import JobError
from parity.online import local_root
from parity.online.files import STREAM_WRITER, hours, migrate_flat, write_hours
from parity.online_store import StoreTarget
from parity.publish import clean_leftovers, scratch
from parity.realtime.faithful import (
    SEGMENT_EVENTS,
    Batch,
    Segment,
    replay,
    replay_batches,
    replay_faithful,
    replay_segments,
    segment_bounds,
    watermark_epoch,
)
from parity.realtime.fast import replay_fast
from parity.realtime.job import (
    REQUIRED_COLUMNS,
    check_columns,
    event_row_type,
    event_rows,
    load_job,
    pipeline_options,
    read_logged,
    window_into,
)
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.units import HOUR_US
from parity.watermark import TICK_US

__all__ = [
    "FAST_FROM_EVENTS", "REQUIRED_COLUMNS", "SEGMENT_EVENTS", "STREAM_CHUNK_US", "Batch", "Mode", "Segment", "StreamResult",
    "default_mode", "event_row_type", "event_rows", "late_events", "load_job", "pipeline_options", "replay",
    "replay_batches", "replay_segments", "run_stream", "segment_bounds", "watermark_epoch", "window_into",
]

_STAGING = "staging"  # the hidden folder of a stream in progress: `.staging-<host>-<pid>-<random>`
# From this many events `parity stream` replays in the fast mode unless told otherwise: the faithful mode
# takes about 10-20 s for 20k events here, the fast mode a few seconds.
FAST_FROM_EVENTS = 20_000
# `parity stream` replays a range an hour of windows at a time: memory follows the hour, not the range.
STREAM_CHUNK_US = HOUR_US


class Mode(enum.Enum):
    """How `run_stream` replays: the TestStream reference, or the batch run with the late-data rule up front."""

    FAITHFUL = "faithful"
    FAST = "fast"


def default_mode(events: int) -> Mode:
    """The faithful replay for small ranges, the fast one from `FAST_FROM_EVENTS` events."""
    return Mode.FAST if events >= FAST_FROM_EVENTS else Mode.FAITHFUL


@dataclass(frozen=True, slots=True)
class StreamResult:
    """What one replay produced: the feature's folder in the online log (`path`), the files it published there
    (one per hour of its windows), and how many rows and events it involved."""

    path: Path
    files: tuple[Path, ...]
    rows: int
    events_in: int
    # Events that reached none of their windows: the replay's watermark had passed the end plus allowed
    # lateness of all of them on arrival (Beam's drop rule, which tests/realtime checks against Beam).
    events_dropped: int | None
    elapsed_s: float
    mode: Mode = Mode.FAITHFUL
    into: StoreTarget | None = None  # the online store its panes (all `rows`) were written into, if any

    def panes(self) -> pa.Table:
        """The rows this stream published, in hour order."""
        tables = [pq.read_table(file) for file in self.files]
        return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def run_stream(
    spec: FeatureSpec,
    settings: Settings,
    events: pa.Table,
    *,
    mode: Mode = Mode.FAITHFUL,
    out_dir: Path | None = None,
    segment_events: int = SEGMENT_EVENTS,
    windows: tuple[int, int] | None = None,
    writer: str = STREAM_WRITER,
    workers: int = 1,
    into: StoreTarget | None = None,
) -> StreamResult:
    """Replay `events` to the feature's job (in `mode`); write every emitted pane to Parquet.

    `windows=(start_us, end_us)` keeps only the panes of windows with `window_start` in [start, end): the
    windows this stream owns. Given the events `parity.offline.event_range` picks for that range, those
    windows are complete; the windows at either edge that the events only partly cover are left to the
    streams of the neighbouring ranges, so that consecutive streams never write two rows for one cell.
    The faithful replay runs as one pipeline per segment of about `segment_events` events; the fast one as
    one batch pipeline on `workers` FnApiRunner workers. Raises `JobError` when the events cannot be passed
    to Beam or the job cannot be loaded or fails while running (a failed job never leaves output behind in
    the online log), and `ConfigError` for a runner that would download Prism.

    `into` also writes the panes of the windows it owns into an online store (`parity.beam.WriteToStore`), as
    the job emits them, beside the online log: the served check compares the two. Unlike the log, the store
    is written while the job runs, so a job that fails midway leaves the panes it had written there.
    """
    started = time.perf_counter()
    check_columns(spec, events)
    if mode is Mode.FAITHFUL:
        pipeline_options(settings)  # a runner that would download Prism stops the stream before anything is written
    try:
        event_type = event_row_type(events.schema)
    except ValueError as exc:
        raise JobError(spec.name, str(exc)) from exc
    target = Path(out_dir) if out_dir is not None else local_root(settings.online_log) / spec.name
    target.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target, _STAGING)  # what a killed stream left: its staging folder, its temporary file
    migrate_flat(target)  # the flat layout of earlier versions, once, so this stream can replace it
    staging = scratch(target, _STAGING)
    event_us = pc.cast(events.column("event_time"), pa.int64()).to_numpy()
    try:
        if mode is Mode.FAST:
            replay_fast(spec, settings, events, event_type, staging, writer, workers, into, windows)
        else:
            replay_faithful(spec, settings, events, event_type, staging, writer, segment_events, into, windows)
        table = read_logged(staging / spec.name, spec)
        claim = windows if windows is not None else _windows_of(event_us, spec)
        if windows is not None:
            starts = pc.cast(table.column("window_start"), pa.int64())
            owned = pc.and_(pc.greater_equal(starts, windows[0]), pc.less(starts, windows[1]))
            table = table.filter(owned)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if windows is None and claim is not None and table.num_rows:
        # Without a range of its own, the stream claims the windows of its events and whatever windows its job
        # put out beyond them (a shifted job's): every row is written, and only hours it touches are claimed.
        row_starts = pc.cast(table.column("window_start"), pa.int64())
        bounds = pc.min_max(row_starts).as_py()
        touched = set(hours(*claim)) | {s - s % HOUR_US for s in row_starts.to_pylist()}
        claim = min(claim[0], bounds["min"]), max(claim[1], bounds["max"] + 1)
        files = write_hours(target, writer, table, claim, only_hours=touched)
    else:
        files = write_hours(target, writer, table, claim) if claim is not None else []
    return StreamResult(
        path=target,
        files=tuple(files),
        rows=table.num_rows,
        events_in=events.num_rows,
        events_dropped=late_events(event_us, pc.cast(events.column("ingest_time"), pa.int64()).to_numpy(), spec),
        elapsed_s=time.perf_counter() - started,
        mode=mode,
        into=into,
    )


def _windows_of(event_us: np.ndarray[Any, Any], spec: FeatureSpec) -> tuple[int, int] | None:
    """The window starts `[first, end)` of every window holding one of the events (None without events)."""
    if not len(event_us):
        return None
    slide, size = spec.window.slide_us, spec.window.size_us
    low, high = int(event_us.min()), int(event_us.max())
    return low - low % slide - size + slide, high - high % slide + slide


def late_events(event_us: np.ndarray[Any, Any], ingest_us: np.ndarray[Any, Any], spec: FeatureSpec) -> int:
    """How many events every window they belong to drops: they arrive once the replay's watermark (their
    arrival tick) has passed their last window's end plus the allowed lateness, Beam's drop rule."""
    slide, size, lateness = spec.window.slide_us, spec.window.size_us, spec.allowed_lateness_us
    times, arrivals = np.asarray(event_us, dtype=np.int64), np.asarray(ingest_us, dtype=np.int64)
    ticks = arrivals - arrivals % TICK_US
    return int(np.count_nonzero(ticks > times - times % slide + size + lateness))
