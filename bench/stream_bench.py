"""Throughput of the realtime replay, side by side in one run: the faithful mode, the fast mode, and a bare Beam
pipeline doing the faithful mode's work without parity, per example feature; and the peak memory of a stream.

Throughput (`python -m bench.stream_bench`): the same synthetic events (200k by default) for every side. Each side
is warmed alike first (one small run each, so imports and Beam's first-pipeline costs are paid before timing),
then the sides run interleaved (faithful, fast, bare; the order rotated each round), and the medians are reported
with the load average. The bare pipeline (available for ride_requests and available_drivers) replays the
faithful mode's TestStream batches and segments with the same windowing, trigger and aggregation, but tuples
instead of schema'd rows and no pane columns or Parquet: the faithful mode's overhead is against it. The faithful
mode on a loaded machine takes minutes per 100k events: `--faithful-events` measures it (and the bare pipeline)
on fewer events, and the output says so. Targets: fast >= 10x faithful on the tumbling examples, >= 5x on the
sliding one (demand_supply).

Memory (`--memory`): `parity stream`'s peak RSS in a fresh process per (mode, events), reading the events from a
Parquet file as the CLI does, against a process that only reads them (the floor: Python, Beam, the Arrow table).

    python -m bench.stream_bench --events 200000 --faithful-events 50000
    python -m bench.stream_bench --memory --memory-events 200000 1000000
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_stream import TestStream
from apache_beam.utils.timestamp import Timestamp

from parity.geo import geohash
from parity.realtime import SEGMENT_EVENTS, Mode, Segment, replay_batches, replay_segments, run_stream, window_into
from parity.settings import Settings, load_settings
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


SIDES = ("faithful", "fast", "bare")
TARGETS = {"ride_requests": 10.0, "available_drivers": 10.0, "avg_eta": 10.0, "demand_supply": 5.0}


def run_side(side: str, spec: FeatureSpec, settings: Settings, events: pa.Table, out: Path) -> float:
    """One timed run of one side; seconds (wall)."""
    started = time.perf_counter()
    if side == "bare":
        out.mkdir(parents=True, exist_ok=True)
        bare_pipeline(spec, events, out / "bare_panes.txt")
    else:
        run_stream(spec, settings, events, mode=Mode(side), out_dir=out / side)
    return time.perf_counter() - started


def measure(feature: str, events: pa.Table, faithful_events: pa.Table, rounds: int) -> dict[str, Any]:
    """Warm each side alike, then run them interleaved `rounds` times; events/s per side (median) and the ratio."""
    settings = load_settings(Path(__file__).resolve().parent.parent)
    spec = load_feature(feature, settings.project)
    sides = [side for side in SIDES if side != "bare" or feature in _BARE]
    sized = {side: faithful_events if side in ("faithful", "bare") else events for side in sides}
    warm = events.slice(0, 2_000)
    seconds: dict[str, list[float]] = {side: [] for side in sides}
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as scratch_dir:
        for side in sides:  # warm-up, not timed
            run_side(side, spec, settings, warm, Path(scratch_dir) / f"warm-{side}")
        for round_ in range(rounds):
            for side in sides[round_ % len(sides):] + sides[:round_ % len(sides)]:
                with tempfile.TemporaryDirectory(dir=scratch_dir) as out:
                    seconds[side].append(run_side(side, spec, settings, sized[side], Path(out)))
                load.append(os.getloadavg()[0])
    numbers: dict[str, Any] = {"feature": feature, "load_1m": load}
    for side in sides:
        numbers[f"{side}_events"] = sized[side].num_rows
        numbers[f"{side}_s"] = statistics.median(seconds[side])
        numbers[f"{side}_events_per_s"] = sized[side].num_rows / numbers[f"{side}_s"]
    numbers["ratio"] = numbers["fast_events_per_s"] / numbers["faithful_events_per_s"]
    numbers["target"] = TARGETS[feature]
    numbers["within_target"] = numbers["ratio"] >= TARGETS[feature]
    return numbers


def peak_rss(mode: str, feature: str, source: Path) -> dict[str, float]:
    """Run one stream (or, with mode "read", only the read) in a fresh process; its peak RSS in MiB and seconds."""
    code = (
        "import resource, sys, time, tempfile, pyarrow.parquet as pq\n"
        "from pathlib import Path\n"
        "from parity.realtime import Mode, run_stream\n"
        "from parity.settings import load_settings\n"
        "from parity.spec import load_feature\n"
        "mode, feature, source, root = sys.argv[1:5]\n"
        "settings = load_settings(Path(root))\n"
        "spec = load_feature(feature, settings.project)\n"
        "started = time.perf_counter()\n"
        "events = pq.read_table(source)\n"
        "if mode != 'read':\n"
        "    with tempfile.TemporaryDirectory() as out:\n"
        "        run_stream(spec, settings, events, mode=Mode(mode), out_dir=Path(out))\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - started)\n"
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", code, mode, feature, str(source), str(root)],
                          capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(root)})
    rss, elapsed = done.stdout.split()[-2:]
    return {"peak_rss_mib": float(rss), "seconds": float(elapsed)}


def memory(feature: str, sizes: list[int]) -> dict[str, Any]:
    """Peak RSS of `parity stream` per mode and number of events, and of only reading the events."""
    results: dict[str, Any] = {"feature": feature, "load_1m_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory() as scratch_dir:
        for size in sizes:
            source = Path(scratch_dir) / f"events-{size}.parquet"
            pq.write_table(synthetic_events(size), source)
            for mode in ("read", "fast", "faithful"):
                results[f"{mode}_{size}"] = peak_rss(mode, feature, source)
                print(f"  {mode:<9} {size:>9,} events: peak RSS {results[f'{mode}_{size}']['peak_rss_mib']:7.0f} MiB "
                      f"({results[f'{mode}_{size}']['seconds']:.0f} s)", flush=True)
    results["load_1m_after"] = os.getloadavg()[0]
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Measure throughput (or, with --memory, peak RSS) as the arguments say; print and return the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--faithful-events", type=int, default=None,
                        help="events for the faithful and bare sides (default: --events)")
    parser.add_argument("--features", nargs="+", default=sorted(TARGETS), choices=sorted(TARGETS))
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--memory-events", type=int, nargs="+", default=[200_000, 1_000_000])
    args = parser.parse_args(argv)
    if args.memory:
        return {"memory": memory(args.features[0], args.memory_events)}
    events = synthetic_events(args.events)
    faithful_events = events if args.faithful_events is None else synthetic_events(args.faithful_events)
    print(f"{args.events:,} events (faithful and bare: {faithful_events.num_rows:,}), {args.rounds} round(s), "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    results: dict[str, Any] = {}
    for feature in args.features:
        numbers = measure(feature, events, faithful_events, args.rounds)
        results[feature] = numbers
        bare = (f"  bare {numbers['bare_events_per_s']:7,.0f} ev/s ({numbers['bare_s']:.0f} s)"
                if "bare_s" in numbers else "")
        print(f"{feature:<18} faithful {numbers['faithful_events_per_s']:7,.0f} ev/s ({numbers['faithful_s']:.0f} s)"
              f"  fast {numbers['fast_events_per_s']:7,.0f} ev/s ({numbers['fast_s']:.0f} s){bare}"
              f"  fast/faithful {numbers['ratio']:.1f}x (target {numbers['target']:.0f}x: "
              f"{'met' if numbers['within_target'] else 'NOT met'})  load {max(numbers['load_1m']):.1f}", flush=True)
    results["within_target"] = all(results[f]["within_target"] for f in args.features)
    return results


if __name__ == "__main__":
    raise SystemExit(0 if main().get("within_target", True) else 1)
