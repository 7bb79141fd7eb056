"""The faithful replay: the events through a `TestStream` in arrival order, on the streaming DirectRunner.

The events are delivered in arrival (`ingest_time`) order, grouped into ticks of `parity.watermark.TICK_US`:
before a tick's events the watermark advances to the tick's start, and each event carries its `event_time`
as its Beam timestamp. The framework, not the job, windows the events as the spec says, with an on-time
pane, a late pane per late element, ACCUMULATING panes and the spec's allowed lateness, so Beam itself drops
what arrives too late, exactly as in production. The replay runs as one pipeline per segment of consecutive
windows (`segment_bounds`), each emitting the panes of its own windows only: the same panes as one pipeline,
without the streaming DirectRunner slowing down with every window it has seen. Each segment's events become
Python rows only while its pipeline runs, so memory follows the segment, not the range.
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.coders import RowCoder
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import window
from apache_beam.utils.timestamp import Timestamp

from parity.beam import LogOutputs, WriteToStore
from parity.errors import JobError, OnlineStoreError
from parity.online_store import StoreTarget
from parity.realtime.job import (
    ARRIVAL_ORDER,
    event_rows,
    load_job,
    one_line,
    owned_windows,
    pipeline_options,
    window_into,
)
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.watermark import TICK_US

# Events per pipeline (see `segment_bounds`). 60k events of available_drivers took 39-42 CPU s in segments of
# 4k-15k, 60 s in segments of 30k; YAML jobs cost ~1-2 s more per pipeline, so not much smaller.
SEGMENT_EVENTS = 10_000

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


def replay_faithful(
    spec: FeatureSpec, settings: Settings, events: pa.Table, event_type: type[tuple[Any, ...]], staging: Path,
    writer: str, segment_events: int, store: StoreTarget | None = None, windows: tuple[int, int] | None = None,
) -> None:
    """Replay `events` segment by segment; every pane of each segment's windows is logged under `staging` and,
    with a `store`, those of the `windows` starting in [start, end) (None: all) are written into it as they fire.
    Segments run one after another, so the store sees a segment's panes in the order they fired, and every
    pane of a segment before those of the next."""
    options = pipeline_options(settings)
    job = load_job(spec, settings.project)
    for owner, part in segment_tables(events, spec, segment_events):
        ordered = part.sort_by(ARRIVAL_ORDER)
        event_us = pc.cast(ordered.column("event_time"), pa.int64()).to_pylist()
        ingest_us = pc.cast(ordered.column("ingest_time"), pa.int64()).to_pylist()
        segment = Segment(owner.first_start, owner.end_start,
                          tuple(replay_batches(event_rows(ordered, event_type), event_us, ingest_us, spec)))
        del ordered, event_us, ingest_us
        try:
            pipeline = beam.Pipeline(options=options)
            rows = pipeline | "Replay" >> replay(segment, event_type) | "Window" >> window_into(spec)
            outputs = rows | "Job" >> job
            outputs | "Log" >> LogOutputs(
                spec.name, keys=spec.keys, values=spec.values, online_log=str(staging), writer=writer,
                window_size_us=spec.window.size_us, keep=owner.owns)
            if store is not None:
                outputs | "Store" >> WriteToStore(
                    spec.name, keys=spec.keys, values=spec.values, store=store.url, rule=store.rule, ttl_s=store.ttl_s,
                    window_size_us=spec.window.size_us, keep=owned_windows(owner.owns, windows))
            # Without the test round trip through the runner API protos that `with Pipeline` makes:
            # the same pipeline runs, without encoding and decoding every replayed event first.
            pipeline.run(test_runner_api=False).wait_until_finish()
        except (JobError, OnlineStoreError):
            raise
        except Exception as exc:
            raise JobError(spec.name, one_line(exc)) from exc


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


def segment_bounds(event_us: Sequence[int] | np.ndarray[Any, Any], spec: FeatureSpec, segment_events: int) -> list[int]:
    """Where to cut the replay: window starts splitting it into runs of consecutive windows of about
    `segment_events` events each (counted by their last window).

    Why: the streaming DirectRunner never frees a key's window state (its trigger driver has no garbage
    collection), and copies a key's whole state for each bundle it touches, so one pipeline slows down
    with every window it has seen: 200k events in one pipeline take several times as long as in 20.
    A window's panes depend only on its own events and the watermark before each of their batches
    (the output watermark equals the input watermark once on-time panes fired, so no window holds
    another back), and a segment replays exactly those; a sliding window's event goes to every segment
    owning one of its windows. Segment bounds are window starts, so the segments are the same whatever
    order the events came in.
    """
    slide = spec.window.slide_us
    times = np.asarray(event_us, dtype=np.int64)
    if not len(times):
        return []
    last_starts = np.sort(times - times % slide)
    step = max(segment_events, 1)
    return sorted({int(s) for s in last_starts[step::step]} - {int(last_starts[0])})


def _window_starts(times: np.ndarray[Any, Any], spec: FeatureSpec) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The first and last window start of each event time (equal for tumbling windows)."""
    slide, size = spec.window.slide_us, spec.window.size_us
    last = times - times % slide
    return last - (last - times + size - 1) // slide * slide, last


def segment_tables(events: pa.Table, spec: FeatureSpec, segment_events: int) -> Iterator[tuple[Segment, pa.Table]]:
    """Each segment (without batches) and the events of its windows, cut from the Arrow table one at a time."""
    times = pc.cast(events.column("event_time"), pa.int64()).to_numpy()
    first, last = _window_starts(times, spec)
    edges: list[int | None] = [None, *segment_bounds(times, spec, segment_events), None]
    for lo, hi in itertools.pairwise(edges):
        keep = np.ones(len(times), dtype=bool)
        if lo is not None:
            keep &= last >= lo
        if hi is not None:
            keep &= first < hi
        yield Segment(lo, hi, ()), events.filter(pa.array(keep))


def replay_segments(batches: Sequence[Batch], spec: FeatureSpec, segment_events: int) -> list[Segment]:
    """The replay's batches cut at `segment_bounds`: each segment holds the events of its own windows."""
    times = [value.timestamp.micros for _, batch in batches for value in batch]
    bounds = segment_bounds(times, spec, segment_events)
    if not bounds:
        return [Segment(None, None, tuple(batches))]
    slide, size = spec.window.slide_us, spec.window.size_us
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


def replay_batches(
    elements: Iterable[Any],
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
