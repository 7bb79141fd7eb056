"""The realtime side: replay events to a feature's Beam job in streaming mode and keep every pane it emits.

`run_stream` delivers the events in arrival (`ingest_time`) order through a `TestStream`, grouped into
ticks of `parity.watermark.TICK_US`: before a tick's events the watermark advances to the tick's start,
and each event carries its `event_time` as its Beam timestamp. The framework, not the job, windows the
events as the spec says, with an on-time pane, a late pane per late element, ACCUMULATING panes and the
spec's allowed lateness, so Beam itself drops what arrives too late, exactly as in production. The
replay runs as one pipeline per segment of consecutive windows (`replay_segments`), each emitting the
panes of its own windows only: the same panes as one pipeline, without the streaming DirectRunner slowing
down with every window it has seen.

What the job sees: a schema'd PCollection of `Event` rows (a `typing.NamedTuple` built from the Arrow
schema of the events, encoded with Beam's `RowCoder`). Timestamp columns (`event_time`, `ingest_time`, and
any other) arrive as int microseconds since the epoch (UTC), the unit parity uses everywhere; the Beam
element timestamp is `event_time`. A job is Beam YAML (`transform:` in the spec, run with `YamlTransform`)
or a `beam.PTransform` class (`transform_ref: path/to/module.py:ClassName`). It returns rows (or
`(key, value)` tuples) holding the spec's key and value columns, still windowed.

What comes out: one Parquet file under `<online_log>/<feature>/` with the key and value columns,
`window_start`, `window_end`, `emitted_at` (timestamp[us, UTC]), `pane_timing` (EARLY/ON_TIME/LATE) and
`pane_index` (int64), one row per emitted pane. `emitted_at` is the wall-clock time at which the runner
emitted the pane (processing time, as production records it); the replayed timeline itself is told by
the window, `pane_timing` and `pane_index`. The file is named after the first and last `event_time` of
the events, so replaying the same range again replaces it instead of adding duplicate panes.
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import bisect
import datetime as dt
import importlib.util
import pickle
import re
import shutil
import sys
import time
import typing
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.coders import RowCoder
from apache_beam.coders.typecoders import registry as coder_registry
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.pvalue import Row
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration, Timestamp
from apache_beam.utils.windowed_value import PaneInfoTiming

from parity.errors import ConfigError, JobError
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.watermark import TICK_US, arrival_tick

REQUIRED_COLUMNS = ("event_id", "event_time", "ingest_time")
PANE_COLUMNS = ("window_start", "window_end", "pane_timing", "pane_index", "emitted_at")
# Runners that would fetch the Prism binary from the network before running (none is reachable here).
_DOWNLOADING_RUNNERS = {"DirectRunner", "SwitchingDirectRunner", "PrismRunner"}
# Events per pipeline (see `replay_segments`). 60k events of available_drivers took 39-42 CPU s in segments of
# 4k-15k, 60 s in segments of 30k; YAML jobs cost ~1-2 s more per pipeline, so not much smaller.
SEGMENT_EVENTS = 10_000


@dataclass(frozen=True, slots=True)
class StreamResult:
    """What one replay produced: the Parquet file of panes and how many rows and events it involved."""

    path: Path
    rows: int
    events_in: int
    # Events that reached none of their windows: the replay's watermark had passed the end plus allowed
    # lateness of all of them on arrival (Beam's drop rule, which tests/realtime checks against Beam).
    events_dropped: int | None
    elapsed_s: float


def run_stream(
    spec: FeatureSpec,
    settings: Settings,
    events: pa.Table,
    *,
    out_dir: Path | None = None,
    segment_events: int = SEGMENT_EVENTS,
    windows: tuple[int, int] | None = None,
) -> StreamResult:
    """Replay `events` to the feature's job in streaming mode; write every emitted pane to Parquet.

    `windows=(start_us, end_us)` keeps only the panes of windows with `window_start` in [start, end): the
    windows this stream owns. Given the events `parity.offline.event_range` picks for that range, those
    windows are complete; the windows at either edge that the events only partly cover are left to the
    streams of the neighbouring ranges, so that consecutive streams never write two rows for one cell.
    The replay runs as one pipeline per segment of about `segment_events` events (see `replay_segments`).
    Raises `JobError` when the events cannot be passed to Beam or the job cannot be loaded or fails while
    running (a failed job never leaves output behind), and `ConfigError` for a runner that would download Prism.
    """
    started = time.perf_counter()
    _check_columns(spec, events)
    options = pipeline_options(settings)
    try:
        event_type = event_row_type(events.schema)
    except ValueError as exc:
        raise JobError(spec.name, str(exc)) from exc
    target = Path(out_dir) if out_dir is not None else settings.online_log / spec.name
    target.mkdir(parents=True, exist_ok=True)
    staging = target / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        job = load_job(spec, settings.project)
        ordered = events.sort_by([("ingest_time", "ascending"), ("event_time", "ascending"), ("event_id", "ascending")])
        event_us = pc.cast(ordered.column("event_time"), pa.int64()).to_pylist()
        ingest_us = pc.cast(ordered.column("ingest_time"), pa.int64()).to_pylist()
        batches = replay_batches(_rows(ordered, event_type), event_us, ingest_us, spec)
        for segment in replay_segments(list(batches), spec, segment_events):
            try:
                pipeline = beam.Pipeline(options=options)
                rows = pipeline | "Replay" >> replay(segment, event_type) | "Window" >> window_into(spec)
                rows | "Job" >> job | "Panes" >> beam.ParDo(_SpoolPanes(spec, segment, str(staging)))
                # Without the test round trip through the runner API protos that `with Pipeline` makes:
                # the same pipeline runs, without encoding and decoding every replayed event first.
                pipeline.run(test_runner_api=False).wait_until_finish()
            except JobError:
                raise
            except Exception as exc:
                raise JobError(spec.name, _one_line(exc)) from exc
        table = _read_spool(staging, spec)
        if windows is not None:
            starts = pc.cast(table.column("window_start"), pa.int64())
            owned = pc.and_(pc.greater_equal(starts, windows[0]), pc.less(starts, windows[1]))
            table = table.filter(owned)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    path = target / _file_name(events, windows)
    partial = path.with_suffix(".parquet.tmp")
    pq.write_table(table, partial)
    partial.replace(path)
    return StreamResult(
        path=path,
        rows=table.num_rows,
        events_in=events.num_rows,
        events_dropped=late_events(event_us, ingest_us, spec),
        elapsed_s=time.perf_counter() - started,
    )


# --- the pipeline pieces -------------------------------------------------------------------------------


def pipeline_options(settings: Settings) -> PipelineOptions:
    """The project's Beam options, with the runner pinned and streaming on."""
    runner = settings.beam_runner
    passthrough = list(settings.beam_options)
    if runner in _DOWNLOADING_RUNNERS and not any(o.startswith("--prism_location") for o in passthrough):
        raise ConfigError(
            str(settings.project / "pyproject.toml"),
            "beam_runner",
            f"{runner} first downloads the Prism runner; use BundleBasedDirectRunner "
            "(or give --prism_location in beam_options)",
        )
    options = PipelineOptions([*passthrough, f"--runner={runner}"])
    options.view_as(StandardOptions).streaming = True
    return options


def window_into(spec: FeatureSpec) -> beam.WindowInto:
    """The spec's windows with production's trigger: on time, then a pane per late element, accumulating."""
    size = Duration(micros=spec.window.size_us)
    if spec.window.sliding:
        windows: window.WindowFn = window.SlidingWindows(size, Duration(micros=spec.window.slide_us))
    else:
        windows = window.FixedWindows(size)
    return beam.WindowInto(
        windows,
        trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
        accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
        allowed_lateness=Duration(micros=spec.allowed_lateness_us),
    )


def event_row_type(schema: pa.Schema) -> type[tuple[Any, ...]]:
    """A `typing.NamedTuple` named `Event` mirroring the Arrow schema, registered with Beam's RowCoder.

    Timestamps become int microseconds (UTC). Required columns are non-null; every other column is Optional.
    Raises ValueError for a column type it cannot map (lists, structs, decimals).
    """
    fields: list[tuple[str, Any]] = []
    for field in schema:
        python_type = _python_type(field)
        fields.append((field.name, python_type if field.name in REQUIRED_COLUMNS else python_type | None))
    row_type = typing.NamedTuple("Event", fields)  # type: ignore[misc]
    coder_registry.register_coder(row_type, RowCoder)
    return row_type


Batch = tuple[int | None, list[window.TimestampedValue[Any]]]


@dataclass(frozen=True, slots=True)
class Segment:
    """One pipeline's share of a replay: the windows it owns and the batches holding their events.

    It owns the windows starting in `[first_start, end_start)` (None: unbounded) and keeps only their
    panes. `batches` are the replay's batches in order, each cut to the events of those windows; a batch
    left without events is left out, as its watermark advance is subsumed by the next one's.
    """

    first_start: int | None
    end_start: int | None
    batches: tuple[Batch, ...]

    def owns(self, window_start_us: int) -> bool:
        return (self.first_start is None or window_start_us >= self.first_start) and (
            self.end_start is None or window_start_us < self.end_start
        )


def replay(segment: Segment, event_type: type[tuple[Any, ...]]) -> beam.PTransform[Any, Any]:
    """A TestStream of the segment's batches: before each batch the watermark advances to its tick's start."""
    stream = TestStream(coder=RowCoder.from_type_hint(event_type, None))
    for watermark, batch in segment.batches:
        if watermark is not None:
            stream.advance_watermark_to(Timestamp(micros=watermark))
        stream.add_elements(batch)
    stream.advance_watermark_to_infinity()
    typed: beam.PTransform[Any, Any] = stream.with_output_types(event_type)
    return typed


def replay_segments(batches: Sequence[Batch], spec: FeatureSpec, segment_events: int) -> list[Segment]:
    """Cut the replay into segments of consecutive windows holding about `segment_events` events each.

    Why: the streaming DirectRunner never frees a key's window state (its trigger driver has no garbage
    collection), and copies a key's whole state for each bundle it touches, so one pipeline slows down
    with every window it has seen: 200k events in one pipeline take several times as long as in 20.
    A window's panes depend only on its own events and the watermark before each of their batches
    (the output watermark equals the input watermark once on-time panes fired, so no window holds
    another back), and a segment replays exactly those; a sliding window's event goes to every segment
    owning one of its windows. Segment bounds are window starts, so the segments are the same whatever
    order the events came in.
    """
    slide, size = spec.window.slide_us, spec.window.size_us
    last_starts = sorted(value.timestamp.micros - value.timestamp.micros % slide for _, batch in batches for value in batch)
    step = max(segment_events, 1)
    bounds = sorted({last_starts[n] for n in range(step, len(last_starts), step)} - {last_starts[0]} if last_starts else set())
    if not bounds:
        return [Segment(None, None, tuple(batches))]
    parts: list[list[Batch]] = [[] for _ in range(len(bounds) + 1)]
    for watermark, batch in batches:
        cut: dict[int, list[window.TimestampedValue[Any]]] = {}
        for value in batch:
            at = value.timestamp.micros
            last = at - at % slide
            first = last - (last - at + size - 1) // slide * slide
            for part in range(bisect.bisect_right(bounds, first), bisect.bisect_right(bounds, last) + 1):
                cut.setdefault(part, []).append(value)
        for part, values in cut.items():
            parts[part].append((watermark, values))
    edges: list[int | None] = [None, *bounds, None]
    return [Segment(edges[n], edges[n + 1], tuple(part)) for n, part in enumerate(parts)]


def late_events(event_us: Sequence[int], ingest_us: Sequence[int], spec: FeatureSpec) -> int:
    """How many events every window they belong to drops: they arrive once the replay's watermark (their
    arrival tick) has passed their last window's end plus the allowed lateness, Beam's drop rule."""
    slide, size, lateness = spec.window.slide_us, spec.window.size_us, spec.allowed_lateness_us
    return sum(
        1 for at, ingest in zip(event_us, ingest_us, strict=True) if arrival_tick(ingest) > at - at % slide + size + lateness
    )


def replay_batches(
    elements: Sequence[Any],
    event_us: Sequence[int],
    ingest_us: Sequence[int],
    spec: FeatureSpec,
    *,
    every_tick: bool = False,
) -> Iterator[Batch]:
    """(watermark to advance to first, or None; elements stamped with their event time), in arrival order.

    A watermark advance the windowing cannot tell apart from the previous one (same `watermark_epoch`) is
    left out and its tick's events join the previous batch. Which panes fire on time, what they hold and
    which events are dropped are exactly as with one advance and one batch per tick; only late elements
    of consecutive ticks within one epoch come in one batch and so fire one LATE pane, not one each (as
    late elements sharing a bundle do in production). The streaming DirectRunner spends ~0.1 s per
    TestStream batch, so one batch per tick would make an hour of events take minutes.
    `every_tick` gives the reference replay, one advance and one batch per tick, that the batching is
    tested against.
    """
    slide, lateness = spec.window.slide_us, spec.allowed_lateness_us
    batch: list[window.TimestampedValue[Any]] = []
    advance: int | None = None
    current_tick: int | None = None
    current_epoch: tuple[int, int, int] | None = None
    for element, at, ingest in zip(elements, event_us, ingest_us, strict=True):
        tick = ingest - ingest % TICK_US
        if tick != current_tick:
            current_tick = tick
            epoch = watermark_epoch(tick, slide, lateness)
            if epoch != current_epoch or every_tick:
                if batch:
                    yield advance, batch
                batch, advance, current_epoch = [], tick, epoch
        batch.append(window.TimestampedValue(element, Timestamp(micros=at)))
    if batch:
        yield advance, batch


def watermark_epoch(watermark_us: int, slide_us: int, lateness_us: int) -> tuple[int, int, int]:
    """Two watermarks with the same epoch are the same to windows ending on the `slide_us` grid.

    The windowing compares the watermark with window ends only: a window fires on time once
    `watermark >= end`, and drops input once `watermark > end + lateness` (its state is cleaned at
    `end + lateness`). The epoch counts the grid ends on each side of those three comparisons.
    """
    return (
        watermark_us // slide_us,
        (watermark_us - lateness_us) // slide_us,
        (watermark_us - lateness_us - 1) // slide_us,
    )


def load_job(spec: FeatureSpec, project: Path) -> beam.PTransform[Any, Any]:
    """The feature's Beam transform: its Beam YAML chain, or the PTransform class its `transform_ref` names."""
    if spec.transform_yaml is not None:
        from apache_beam.yaml.yaml_transform import YamlTransform

        try:
            return YamlTransform(spec.transform_yaml)
        except Exception as exc:
            raise JobError(spec.name, f"Beam YAML transform in {spec.path.name}: {_one_line(exc)}") from exc
    assert spec.transform_ref is not None
    file_part, class_name = spec.transform_ref.split(":")
    source = project / file_part
    if not source.is_file():
        raise JobError(spec.name, f"transform_ref {spec.transform_ref}: no file {source}; fix the path in {spec.path.name}")
    module_name = f"parity_job_{spec.name}"
    loader_spec = importlib.util.spec_from_file_location(module_name, source)
    if loader_spec is None or loader_spec.loader is None:
        raise JobError(spec.name, f"transform_ref {spec.transform_ref}: {source} is not a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:
        raise JobError(spec.name, f"transform_ref {spec.transform_ref}: importing {source.name} failed: {_one_line(exc)}") from exc
    _pickle_by_value(module)
    job_class = getattr(module, class_name, None)
    if not (isinstance(job_class, type) and issubclass(job_class, beam.PTransform)):
        raise JobError(spec.name, f"transform_ref {spec.transform_ref}: {source.name} has no beam.PTransform class {class_name}")
    try:
        return job_class()
    except Exception as exc:
        raise JobError(spec.name, f"transform_ref {spec.transform_ref}: {class_name}() failed: {_one_line(exc)}") from exc


class _SpoolPanes(beam.DoFn):
    """Flatten each job output of the segment's windows to (keys..., values..., window, pane, emission time)
    and collect them into pickled files under a staging folder, one per bundle; the driver merges them."""

    def __init__(self, spec: FeatureSpec, segment: Segment, folder: str) -> None:
        self._feature = spec.name
        self._keys = tuple(spec.keys)
        self._values = tuple(spec.values)
        self._size_us = spec.window.size_us
        self._windows = replace(segment, batches=())  # its bounds, not its events, go to the workers
        self._folder = folder
        self._rows: list[tuple[Any, ...]] = []

    def start_bundle(self) -> None:
        self._rows = []

    def process(self, element: Any, win: Any = beam.DoFn.WindowParam, pane: Any = beam.DoFn.PaneInfoParam) -> None:
        if not isinstance(win, window.IntervalWindow) or win.end.micros - win.start.micros != self._size_us:
            raise JobError(self._feature, f"output is not in the spec's windows (window {win}); do not re-window or globalize in the job")
        start = win.start.micros
        if not self._windows.owns(start):
            return  # another segment owns this window and emits its panes
        self._rows.append((
            *_columns(element, self._keys, self._values, self._feature),
            start,
            win.end.micros,
            PaneInfoTiming.to_string(pane.timing),
            pane.index,
            time.time_ns() // 1_000,
        ))

    def finish_bundle(self) -> None:
        if self._rows:
            path = Path(self._folder) / f"{uuid.uuid4().hex}.pickle"
            path.write_bytes(pickle.dumps(self._rows, protocol=pickle.HIGHEST_PROTOCOL))
            self._rows = []


def _columns(element: Any, keys: tuple[str, ...], values: tuple[str, ...], feature: str) -> tuple[Any, ...]:
    """Key and value columns of one job output: a row/NamedTuple/dict, or a `(key, value)` pair."""
    if _named(element):
        return tuple(_field(element, name, feature) for name in (*keys, *values))
    if isinstance(element, tuple) and len(element) == 2:
        key, value = element
        if _named(key):
            key_part = tuple(_field(key, name, feature) for name in keys)
        elif len(keys) == 1:
            key_part = (key,)
        elif isinstance(key, tuple) and len(key) == len(keys):
            key_part = key
        else:
            raise JobError(feature, f"output key {key!r} does not match keys {list(keys)}")
        if _named(value):
            value_part = tuple(_field(value, name, feature) for name in values)
        elif len(values) == 1:
            value_part = (value,)
        elif isinstance(value, tuple) and len(value) == len(values):
            value_part = value
        else:
            raise JobError(feature, f"output value {value!r} does not match values {list(values)}")
        return (*key_part, *value_part)
    raise JobError(feature, f"output {element!r} is neither a row with {[*keys, *values]} nor a (key, value) pair")


def _named(element: Any) -> bool:
    return isinstance(element, (Row, dict)) or hasattr(element, "_fields")


def _field(element: Any, name: str, feature: str) -> Any:
    if isinstance(element, dict):
        if name not in element:
            raise JobError(feature, f"output has no column {name!r}; it has {sorted(element)}")
        return element[name]
    if not hasattr(element, name):
        raise JobError(feature, f"output has no column {name!r}; it has {sorted(vars(element) if isinstance(element, Row) else element._fields)}")
    return getattr(element, name)


def _read_spool(staging: Path, spec: FeatureSpec) -> pa.Table:
    rows: list[tuple[Any, ...]] = []
    for part in sorted(staging.glob("*.pickle")):
        rows.extend(pickle.loads(part.read_bytes()))
    names = [*spec.keys, *spec.values, *PANE_COLUMNS]
    columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    arrays: list[pa.Array] = []
    for name, column in zip(names, columns, strict=True):
        if name in ("window_start", "window_end", "emitted_at"):
            arrays.append(pa.array(column, type=pa.int64()).cast(pa.timestamp("us", tz="UTC")))
        elif name == "pane_timing":
            arrays.append(pa.array(column, type=pa.string()))
        elif name == "pane_index":
            arrays.append(pa.array(column, type=pa.int64()))
        elif not column:
            arrays.append(pa.array(column, type=pa.string() if name in spec.keys else pa.float64()))
        else:
            try:
                arrays.append(pa.array(column))
            except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
                raise JobError(spec.name, f"output column {name!r} mixes types: {_one_line(exc)}") from exc
    table = pa.Table.from_arrays(arrays, names=names)
    return table.sort_by([(name, "ascending") for name in (*spec.keys, "window_start", "pane_index")])


# --- small pieces beside their only callers ---------------------------------------------------------


def _check_columns(spec: FeatureSpec, events: pa.Table) -> None:
    for name in REQUIRED_COLUMNS:
        if name not in events.column_names:
            raise JobError(spec.name, f"events lack required column {name!r}")
    for name in ("event_time", "ingest_time"):
        if not pa.types.is_timestamp(events.schema.field(name).type):
            raise JobError(spec.name, f"events column {name!r} is {events.schema.field(name).type}, not timestamp[us, UTC]")
        if events.column(name).null_count:
            raise JobError(spec.name, f"{events.column(name).null_count} event(s) have no {name}; write them with "
                                      "`write_events`, which quarantines such rows")


def _python_type(field: pa.Field) -> type:
    kind = field.type
    if pa.types.is_timestamp(kind) or pa.types.is_integer(kind):
        return int
    if pa.types.is_floating(kind):
        return float
    if pa.types.is_boolean(kind):
        return bool
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return str
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return bytes
    raise ValueError(f"events column {field.name!r} has type {kind}, which parity cannot pass to Beam")


def _rows(table: pa.Table, event_type: type[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    columns = []
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = pc.cast(column, pa.int64())
        elif pa.types.is_dictionary(field.type):
            column = pc.cast(column, pa.string())
        columns.append(column.to_pylist())
    make = event_type._make  # type: ignore[attr-defined]
    return [make(values) for values in zip(*columns, strict=True)]


def _file_name(events: pa.Table, windows: tuple[int, int] | None) -> str:
    """`windows-<start>--<end>.parquet` for a stream owning a range of windows, else `<first event_time>--<last
    event_time>.parquet` (UTC, to the microsecond): a rerun over the same range (or events) replaces its file,
    while streams over other ranges keep theirs, even when sliding windows make their events overlap."""

    def label(us: int) -> str:
        return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)).strftime("%Y%m%dT%H%M%S%fZ")

    if windows is not None:
        return f"windows-{label(windows[0])}--{label(windows[1])}.parquet"
    if events.num_rows == 0:
        return "empty.parquet"
    bounds = pc.min_max(pc.cast(events.column("event_time"), pa.int64())).as_py()
    return f"{label(bounds['min'])}--{label(bounds['max'])}.parquet"


def _one_line(exc: BaseException) -> str:
    """The gist of a Beam failure on one line: the user's error and the step it happened in."""
    text = str(exc).strip() or type(exc).__name__
    if "exceptions must derive from BaseException" in text:
        return "the Beam runner stalled (TypeError: exceptions must derive from BaseException); treat the run as failed"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The DirectRunner re-raises a worker's error as its traceback text; its last line is the error itself.
    gist = lines[-1] if lines else text
    if not re.match(r"^[\w.]+(Error|Exception|Exit)\b", gist):
        gist = f"{type(exc).__name__}: {gist}"
    # A JobError raised inside the pipeline (by parity's own steps) comes back wrapped: keep its message only.
    gist = re.sub(r"^(RuntimeError: )?(parity\.errors\.)?JobError: realtime job of \w+: ", "", gist)
    return gist[:500]


def _pickle_by_value(module: Any) -> None:
    """A job module loaded from a file is not importable on workers: Beam's pickler ships its classes by value."""
    from apache_beam.internal.cloudpickle import cloudpickle

    cloudpickle.register_pickle_by_value(module)
