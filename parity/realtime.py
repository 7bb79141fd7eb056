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

What comes out: the job's output goes through `parity.beam.LogOutputs`, the transform a production pipeline
applies too, so replays and production write one format: per emitted pane, the key and value columns,
`window_start`, `window_end`, `emitted_at` (timestamp[us, UTC]), `pane_timing` (EARLY/ON_TIME/LATE) and
`pane_index` (int64). `emitted_at` is the wall-clock time at which the pane was logged (processing time, as
production records it); the replayed timeline itself is told by the window, `pane_timing` and `pane_index`.
The replay's pane files go to a hidden staging folder; the stream then publishes them into the online log
(`parity.online.files`): one file per hour of its windows under `<online_log>/<feature>/date=.../hour=.../`,
claiming the stream's range of windows as the newest generation of writer `stream`, so replaying a range
again replaces those windows instead of adding duplicate panes. Each file is published atomically
(`parity.publish`): a reader sees the whole file or the previous generation, and a stream killed midway
leaves only hidden leftovers, which the next stream into the folder removes.
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import bisect
import importlib.util
import re
import shutil
import sys
import time
import typing
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
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration, Timestamp

from parity.beam import PANE_COLUMNS, LogOutputs, pane_table
from parity.errors import ConfigError, JobError
from parity.online.files import HOUR_US, STREAM_WRITER, hours, migrate_flat, write_hours
from parity.publish import HIDDEN_PREFIXES, clean_leftovers, scratch
from parity.settings import Settings
from parity.spec import FeatureSpec, project_path
from parity.watermark import TICK_US, arrival_tick

REQUIRED_COLUMNS = ("event_id", "event_time", "ingest_time")
# Runners that would fetch the Prism binary from the network before running (none is reachable here).
_DOWNLOADING_RUNNERS = {"DirectRunner", "SwitchingDirectRunner", "PrismRunner"}
# Events per pipeline (see `replay_segments`). 60k events of available_drivers took 39-42 CPU s in segments of
# 4k-15k, 60 s in segments of 30k; YAML jobs cost ~1-2 s more per pipeline, so not much smaller.
SEGMENT_EVENTS = 10_000
_STAGING = "staging"  # the hidden folder of a stream in progress: `.staging-<host>-<pid>-<random>`


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

    def panes(self) -> pa.Table:
        """The rows this stream published, in hour order."""
        tables = [pq.read_table(file) for file in self.files]
        return pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({})


def run_stream(
    spec: FeatureSpec,
    settings: Settings,
    events: pa.Table,
    *,
    out_dir: Path | None = None,
    segment_events: int = SEGMENT_EVENTS,
    windows: tuple[int, int] | None = None,
    writer: str = STREAM_WRITER,
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
    clean_leftovers(target, _STAGING)  # what a killed stream left: its staging folder, its temporary file
    migrate_flat(target)  # the flat layout of earlier versions, once, so this stream can replace it
    staging = scratch(target, _STAGING)
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
                rows | "Job" >> job | "Log" >> LogOutputs(
                    spec.name, keys=spec.keys, values=spec.values, online_log=str(staging), writer=writer,
                    window_size_us=spec.window.size_us, keep=replace(segment, batches=()).owns)
                # Without the test round trip through the runner API protos that `with Pipeline` makes:
                # the same pipeline runs, without encoding and decoding every replayed event first.
                pipeline.run(test_runner_api=False).wait_until_finish()
            except JobError:
                raise
            except Exception as exc:
                raise JobError(spec.name, _one_line(exc)) from exc
        table = _read_logged(staging / spec.name, spec)
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
        events_dropped=late_events(event_us, ingest_us, spec),
        elapsed_s=time.perf_counter() - started,
    )


def _windows_of(event_us: Sequence[int], spec: FeatureSpec) -> tuple[int, int] | None:
    """The window starts `[first, end)` of every window holding one of the events (None without events)."""
    if not event_us:
        return None
    slide, size = spec.window.slide_us, spec.window.size_us
    low, high = min(event_us), max(event_us)
    return low - low % slide - size + slide, high - high % slide + slide


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
    """The feature's Beam transform: its Beam YAML chain, or the PTransform class its `transform_ref` names.

    A spec is trusted code, confined to its project: a `transform_ref` resolving (symlinks followed) outside the
    project is refused before anything is imported. Whatever importing or constructing the job raises, SystemExit
    included, becomes a JobError (exit 2); only KeyboardInterrupt goes through.
    """
    if spec.transform_yaml is not None:
        from apache_beam.yaml.yaml_transform import YamlTransform

        try:
            return YamlTransform(spec.transform_yaml)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise JobError(spec.name, f"Beam YAML transform in {spec.path.name}: {_one_line(exc)}") from exc
    assert spec.transform_ref is not None
    file_part, class_name = spec.transform_ref.split(":")
    where = f"transform_ref {spec.transform_ref}"
    try:
        source = project_path(project, file_part)
    except ValueError as exc:
        raise JobError(spec.name, f"{where}: {exc}") from None
    if not source.is_file():
        raise JobError(spec.name, f"{where}: no file {source}; fix the path in {spec.path.name}")
    module_name = f"parity_job_{spec.name}"
    loader_spec = importlib.util.spec_from_file_location(module_name, source)
    if loader_spec is None or loader_spec.loader is None:
        raise JobError(spec.name, f"{where}: {source} is not a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except KeyboardInterrupt:
        sys.modules.pop(module_name, None)
        raise
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        raise JobError(spec.name, f"{where}: importing {source.name} failed: {_one_line(exc)}") from exc
    _pickle_by_value(module)
    job_class = getattr(module, class_name, None)
    if not (isinstance(job_class, type) and issubclass(job_class, beam.PTransform)):
        raise JobError(spec.name, f"{where}: {source.name} has no beam.PTransform class {class_name}")
    try:
        return job_class()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise JobError(spec.name, f"{where}: {class_name}() failed: {_one_line(exc)}") from exc


def _read_logged(folder: Path, spec: FeatureSpec) -> pa.Table:
    """Every pane `LogOutputs` wrote under `folder` (its hour folders), as one table sorted by cell and pane."""
    names = [*spec.keys, *spec.values, *PANE_COLUMNS]
    parts = sorted(p for p in folder.rglob("*.parquet") if not any(n.startswith(HIDDEN_PREFIXES) for n in p.relative_to(folder).parts))
    tables = [pq.read_table(part) for part in parts]
    if tables:
        try:
            table = pa.concat_tables(tables, promote_options="permissive").select(names)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise JobError(spec.name, f"output columns mix types across panes: {_one_line(exc)}") from exc
        return table.sort_by([(name, "ascending") for name in (*spec.keys, "window_start", "pane_index")])
    empty = {name: pa.array([], type=pa.string() if name in spec.keys else pa.float64()) for name in (*spec.keys, *spec.values)}
    return pa.table({**empty, **{name: pane_table([], PANE_COLUMNS).column(name) for name in PANE_COLUMNS}})


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
