"""Throughput of the realtime replay: `run_stream` against a bare Beam pipeline doing the same work.

Both run in this process on the same synthetic events, with the same TestStream batches (the watermark
advanced to each decisive tick of arrivals), cut into the same segments of consecutive windows, each
segment its own pipeline run the same way (see `parity.realtime.replay_segments`: the streaming
DirectRunner keeps every window's state for good, so one pipeline over 200k events would take several
times as long, on either side), with the same windowing, trigger and per-key aggregation. The bare
pipeline has no parity wrapping: tuples instead of schema'd rows, the aggregation written directly in
Beam instead of the feature's job, no pane columns, no Parquet. The difference is what parity costs.
Target: overhead <= 25% at >= 200k events. Wall-clock and CPU time are both reported: on a shared
machine the CPU time of this process is the steadier of the two.

    python -m bench.stream_bench --events 200000 --feature available_drivers
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.utils.timestamp import Timestamp

from parity.geo import geohash
from parity.realtime import SEGMENT_EVENTS, Segment, replay_batches, replay_segments, run_stream, window_into
from parity.settings import load_settings
from parity.spec import FeatureSpec, load_feature

US = 1_000_000
START_US = 1_767_225_600 * US  # 2026-01-01T00:00:00Z


def synthetic_events(count: int, seed: int = 7) -> pa.Table:
    """`count` ride events over 200 cells near San Francisco, ~1% duplicated, ~2% arriving 30-400 s late.

    Arrivals are spread so that about 14 events share each one-second tick.
    """
    rng = random.Random(seed)
    span_us = max(count // 14, 1) * US
    cells = [(37.70 + 0.01 * (i % 20), -122.50 + 0.01 * (i // 20)) for i in range(200)]
    kinds = ["ride_requested"] * 4 + ["driver_ping"] * 5 + ["ride_accepted"]
    rows: dict[str, list[Any]] = {name: [] for name in (
        "event_id", "event_time", "ingest_time", "event_type", "city", "lat", "lon",
        "rider_id", "driver_id", "available", "eta_seconds", "device_id")}
    made = 0
    while made < count:
        event_time = START_US + rng.randrange(span_us)
        delay = rng.randrange(30, 400) * US if rng.random() < 0.02 else rng.randrange(0, 3 * US)
        lat, lon = rng.choice(cells)
        kind = rng.choice(kinds)
        copies = 2 if rng.random() < 0.01 else 1
        for copy in range(min(copies, count - made)):
            rows["event_id"].append(f"e{made if copy == 0 else made - 1}")
            rows["event_time"].append(event_time)
            rows["ingest_time"].append(event_time + delay + copy * rng.randrange(1, 200) * US)
            rows["event_type"].append(kind)
            rows["city"].append("sf")
            rows["lat"].append(lat + rng.random() * 0.001)
            rows["lon"].append(lon + rng.random() * 0.001)
            rows["rider_id"].append(f"r{rng.randrange(5000)}" if kind != "driver_ping" else None)
            rows["driver_id"].append(f"d{rng.randrange(800)}" if kind != "ride_requested" else None)
            rows["available"].append(rng.random() < 0.7 if kind == "driver_ping" else None)
            rows["eta_seconds"].append(rng.uniform(60, 900) if kind == "ride_requested" else None)
            rows["device_id"].append(f"dev{rng.randrange(9000)}")
            made += 1
    table = pa.table(rows)
    stamp = pa.timestamp("us", tz="UTC")
    for name in ("event_time", "ingest_time"):
        table = table.set_column(table.schema.get_field_index(name), name, pc.cast(table.column(name), stamp))
    return table


# --- the bare pipeline: same ticks, windowing and aggregation, nothing of parity's ------------------------


class _DistinctCount(beam.CombineFn):
    def create_accumulator(self) -> set[Any]:
        return set()

    def add_input(self, seen: set[Any], value: Any) -> set[Any]:
        seen.add(value)
        return seen

    def merge_accumulators(self, accumulators: Any) -> set[Any]:
        merged: set[Any] = set()
        for seen in accumulators:
            merged |= seen
        return merged

    def extract_output(self, seen: set[Any]) -> int:
        return len(seen)


_BARE: dict[str, tuple[Callable[[tuple[Any, ...]], bool], Callable[[tuple[Any, ...]], tuple[Any, Any]]]] = {
    # event tuple: (event_id, event_type, lat, lon, driver_id, available)
    "ride_requests": (lambda e: e[1] == "ride_requested", lambda e: (geohash(e[2], e[3], 6), e[0])),
    "available_drivers": (
        lambda e: e[1] == "driver_ping" and e[5] is True and e[4] is not None,
        lambda e: (geohash(e[2], e[3], 6), e[4]),
    ),
}


class _CountPanes(beam.DoFn):
    """Appends each bundle's count of panes of the segment's windows to a file (the streaming DirectRunner's
    metrics undercount)."""

    def __init__(self, path: str, segment: Segment) -> None:
        self._path = path
        self._windows = replace(segment, batches=())
        self._count = 0

    def start_bundle(self) -> None:
        self._count = 0

    def process(self, pane: Any, win: Any = beam.DoFn.WindowParam) -> None:
        if self._windows.owns(win.start.micros):
            self._count += 1

    def finish_bundle(self) -> None:
        with open(self._path, "a") as tally:
            tally.write(f"{self._count}\n")


def bare_pipeline(spec: FeatureSpec, events: pa.Table, tally: Path, segment_events: int = SEGMENT_EVENTS) -> int:
    """Run the feature's aggregation as plain Beam; returns the number of panes emitted (counted into `tally`)."""
    keep, to_pair = _BARE[spec.name]
    ordered = events.sort_by([("ingest_time", "ascending"), ("event_time", "ascending"), ("event_id", "ascending")])
    names = ("event_id", "event_type", "lat", "lon", "driver_id", "available")
    values = list(zip(*(ordered.column(n).to_pylist() for n in names), strict=True))
    event_us = pc.cast(ordered.column("event_time"), pa.int64()).to_pylist()
    ingest_us = pc.cast(ordered.column("ingest_time"), pa.int64()).to_pylist()
    options = PipelineOptions(["--runner=BundleBasedDirectRunner"])
    options.view_as(StandardOptions).streaming = True
    # The same TestStream events as run_stream's replay: same segments, watermark advances and batches.
    batches = list(replay_batches(values, event_us, ingest_us, spec))
    for segment in replay_segments(batches, spec, segment_events):
        stream = TestStream()
        for watermark, batch in segment.batches:
            if watermark is not None:
                stream.advance_watermark_to(Timestamp(micros=watermark))
            stream.add_elements(batch)
        stream.advance_watermark_to_infinity()
        pipeline = beam.Pipeline(options=options)
        (
            pipeline
            | stream
            | window_into(spec)
            | beam.Filter(keep)
            | beam.Map(to_pair)
            | beam.CombinePerKey(_DistinctCount())
            | beam.ParDo(_CountPanes(str(tally), segment))
        )
        pipeline.run(test_runner_api=False).wait_until_finish()
    return sum(int(line) for line in tally.read_text().split())


def measure(feature: str, count: int, segment_events: int = SEGMENT_EVENTS) -> dict[str, float]:
    """Time the bare pipeline, then run_stream, on the same `count` events; events/s, seconds and overhead."""
    settings = load_settings(Path(__file__).resolve().parent.parent)
    spec = load_feature(feature, settings.project)
    events = synthetic_events(count)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as out:
        started, cpu = time.perf_counter(), time.process_time()
        bare_panes = bare_pipeline(spec, events, Path(out) / "bare_panes.txt", segment_events)
        bare_s, bare_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        started, cpu = time.perf_counter(), time.process_time()
        result = run_stream(spec, settings, events, out_dir=Path(out), segment_events=segment_events)
        parity_s, parity_cpu_s = time.perf_counter() - started, time.process_time() - cpu
    return {
        "events": float(count),
        "segment_events": float(segment_events),
        "bare_events_per_s": count / bare_s,
        "parity_events_per_s": count / parity_s,
        "bare_s": bare_s,
        "parity_s": parity_s,
        "bare_cpu_s": bare_cpu_s,
        "parity_cpu_s": parity_cpu_s,
        "bare_panes": float(bare_panes),
        "parity_rows": float(result.rows),
        "parity_events_dropped": float(result.events_dropped or 0),
        "overhead": parity_s / bare_s - 1.0,
        "overhead_cpu": parity_cpu_s / bare_cpu_s - 1.0,
        "load_1m_before": load_before,
        "load_1m_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Run `measure` with the command-line arguments, print both sides and the overhead; return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--feature", default="available_drivers", choices=sorted(_BARE))
    parser.add_argument("--segment-events", type=int, default=SEGMENT_EVENTS)
    parser.add_argument("--max-overhead", type=float, default=0.25)
    args = parser.parse_args(argv)
    numbers = measure(args.feature, args.events, args.segment_events)
    numbers["max_overhead"] = args.max_overhead
    numbers["within_target"] = float(numbers["overhead"] <= args.max_overhead)
    print(
        f"{args.feature}: {args.events:,} events, segments of {args.segment_events:,}, "
        f"load {numbers['load_1m_before']:.1f} -> {numbers['load_1m_after']:.1f}\n"
        f"  bare Beam      {numbers['bare_events_per_s']:8,.0f} ev/s  {numbers['bare_s']:7.1f} s  "
        f"(cpu {numbers['bare_cpu_s']:.1f} s)  {numbers['bare_panes']:.0f} panes\n"
        f"  parity stream  {numbers['parity_events_per_s']:8,.0f} ev/s  {numbers['parity_s']:7.1f} s  "
        f"(cpu {numbers['parity_cpu_s']:.1f} s)  {numbers['parity_rows']:.0f} rows\n"
        f"  overhead {numbers['overhead']:+.1%} wall, {numbers['overhead_cpu']:+.1%} cpu "
        f"(target <= {args.max_overhead:.0%}: {'met' if numbers['within_target'] else 'NOT met'})"
    )
    return numbers


if __name__ == "__main__":
    raise SystemExit(0 if main()["within_target"] else 1)
