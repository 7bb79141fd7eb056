"""`parity.watermark.arrival_cutoff_us` against what Beam keeps: the shared late-data rule must be Beam's.

Real BundleBasedDirectRunner in streaming mode; the replay advances the watermark to each tick of arrivals.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
from apache_beam.coders import RowCoder
from apache_beam.testing import test_stream
from apache_beam.testing.util import assert_that
from apache_beam.utils.timestamp import Timestamp

from parity.geo import geohash
from parity.realtime import (
    StreamResult,
    event_row_type,
    load_job,
    pipeline_options,
    replay_batches,
    run_stream,
    window_into,
)
from parity.settings import Settings
from parity.spec import FeatureSpec, load_feature
from parity.watermark import arrival_cutoff_us

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def at(seconds: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=seconds)


def us(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(microseconds=1)


def place(n: int) -> tuple[float, float]:
    """A point in its own geohash6 cell per n (0.05 degrees apart)."""
    return (37.50 + 0.05 * n, -122.40)


def test_beam_keeps_exactly_the_events_arriving_before_the_cutoff_including_the_boundary(
    ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table], repo_settings: Settings, tmp_path: Path
) -> None:
    spec = load_feature("ride_requests", repo_settings.project)  # 1m windows, lateness 2m
    window_end = at(60)
    bound = window_end + dt.timedelta(microseconds=spec.allowed_lateness_us)  # 10:03:00
    arrivals = {
        "before": bound - dt.timedelta(seconds=0.5),
        "at_bound": bound,  # the watermark equals window_end + lateness exactly: the Python SDK keeps it
        "last_microsecond_of_tick": bound + dt.timedelta(microseconds=999_999),
        "next_tick": bound + dt.timedelta(seconds=1),  # watermark passed the bound: dropped
        "much_later": bound + dt.timedelta(seconds=90),
    }
    rows = [ride_event("on_time", at(5), "ride_requested", place(0))]
    for n, (name, arrival) in enumerate(arrivals.items(), start=1):
        rows.append(ride_event(name, at(30), "ride_requested", place(n), ingest_time=arrival))
    result = run_stream(spec, repo_settings, events_table(rows), out_dir=tmp_path)

    counted = {r["geohash6"] for r in result.panes().to_pylist() if r["window_start"] == BASE}
    cutoff = arrival_cutoff_us(us(window_end), spec.allowed_lateness_us)
    predicted = {geohash(*place(n), 6) for n, arrival in enumerate(arrivals.values(), start=1) if us(arrival) < cutoff}
    assert counted - {geohash(*place(0), 6)} == predicted
    assert predicted == {geohash(*place(n), 6) for n in (1, 2, 3)}
    assert result.events_dropped == len(arrivals) - len(predicted) == 2  # next_tick, much_later


def random_events(ride_event: Callable[..., dict[str, Any]], seed: int, count: int = 60) -> list[dict[str, Any]]:
    """`count` requests and pings in 3 cells over 6 minutes, a third of them 1-300 s late, some delivered twice."""
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        moment = at(rng.uniform(0, 360))
        delay = rng.uniform(1, 300) if rng.random() < 0.35 else rng.uniform(0, 2)
        kind = rng.choice(["ride_requested", "driver_ping"])
        fields = {"driver_id": f"d{rng.randrange(6)}", "available": rng.random() < 0.8} if kind == "driver_ping" else {}
        copies = 2 if rng.random() < 0.15 else 1
        for copy in range(copies):
            arrival = moment + dt.timedelta(seconds=delay + copy * rng.uniform(1, 120))
            rows.append(ride_event(f"e{n}", moment, kind, place(rng.randrange(3)), ingest_time=arrival, **fields))
    return rows


def predicted_requests(rows: list[dict[str, Any]], spec: FeatureSpec, precision: int) -> dict[tuple[str, int], int]:
    """Offline: distinct requests per (cell, window start) among events arriving before the window's cutoff."""
    seen: dict[tuple[str, int], set[str]] = {}
    size, slide = spec.window.size_us, spec.window.slide_us
    for row in rows:
        if row["event_type"] != "ride_requested":
            continue
        t = us(row["event_time"])
        start = t - t % slide
        while start > t - size:
            if us(row["ingest_time"]) < arrival_cutoff_us(start + size, spec.allowed_lateness_us):
                seen.setdefault((geohash(row["lat"], row["lon"], precision) or "", start), set()).add(row["event_id"])
            start -= slide
    return {cell: len(ids) for cell, ids in seen.items()}


def final_panes(result: StreamResult, key: str, value: str) -> dict[tuple[str, int], Any]:
    rows = sorted(result.panes().to_pylist(), key=lambda r: r["pane_index"])
    return {(r[key], us(r["window_start"])): r[value] for r in rows}


def test_final_panes_equal_the_offline_count_of_events_before_the_cutoff_tumbling(
    ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table], repo_settings: Settings, tmp_path: Path
) -> None:
    rows = random_events(ride_event, seed=11)
    spec = load_feature("ride_requests", repo_settings.project)
    result = run_stream(spec, repo_settings, events_table(rows), out_dir=tmp_path)
    assert final_panes(result, "geohash6", "requests") == predicted_requests(rows, spec, 6)


def test_final_panes_equal_the_offline_count_of_events_before_the_cutoff_sliding(
    ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table], repo_settings: Settings, tmp_path: Path
) -> None:
    rows = random_events(ride_event, seed=12)
    spec = load_feature("demand_supply", repo_settings.project)  # 5m sliding by 1m, lateness 2m
    result = run_stream(spec, repo_settings, events_table(rows), out_dir=tmp_path)
    online = {cell: n for cell, n in final_panes(result, "geohash5", "requests").items() if n}
    assert online == predicted_requests(rows, spec, 5)


class _Pane(beam.DoFn):  # type: ignore[misc]
    def process(self, row: Any, win: Any = beam.DoFn.WindowParam, pane: Any = beam.DoFn.PaneInfoParam) -> Any:
        yield (row.geohash6, win.start.micros, pane.timing, pane.index, row.requests)


def test_batched_replay_gives_the_same_on_time_and_final_panes_as_one_batch_per_tick(
    ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table], repo_settings: Settings, tmp_path: Path
) -> None:
    rows = random_events(ride_event, seed=13, count=20)
    events = events_table(rows)
    spec = load_feature("ride_requests", repo_settings.project)
    streamed = run_stream(spec, repo_settings, events, out_dir=tmp_path)
    batched = streamed.panes().to_pylist()
    expected_on_time = sorted((r["geohash6"], us(r["window_start"]), r["requests"]) for r in batched if r["pane_timing"] == "ON_TIME")
    expected_final = final_panes(streamed, "geohash6", "requests")

    ordered = events.sort_by([("ingest_time", "ascending"), ("event_time", "ascending"), ("event_id", "ascending")])
    event_type = event_row_type(events.schema)
    elements = [event_type._make(v) for v in zip(*(  # type: ignore[attr-defined]
        (pc.cast(c, pa.int64()) if pa.types.is_timestamp(c.type) else c).to_pylist() for c in ordered.columns))]
    stream = test_stream.TestStream(coder=RowCoder.from_type_hint(event_type, None))
    event_us = pc.cast(ordered["event_time"], pa.int64()).to_pylist()
    ingest_us = pc.cast(ordered["ingest_time"], pa.int64()).to_pylist()
    every_tick = list(replay_batches(elements, event_us, ingest_us, spec, every_tick=True))
    batches = list(replay_batches(elements, event_us, ingest_us, spec))
    assert len(every_tick) > len(batches)  # the reference really is finer
    for watermark, batch in every_tick:
        assert watermark is not None
        stream.advance_watermark_to(Timestamp(micros=watermark))
        stream.add_elements(batch)
    stream.advance_watermark_to_infinity()

    def same_panes(panes: list[tuple[str, int, int, int, int]]) -> None:
        on_time = sorted((cell, start, n) for cell, start, timing, _, n in panes if timing == 1)
        final = {(cell, start): n for cell, start, _, _, n in sorted(panes, key=lambda p: p[3])}
        assert on_time == expected_on_time
        assert final == expected_final

    with beam.Pipeline(options=pipeline_options(repo_settings)) as pipeline:
        panes = (
            pipeline
            | stream.with_output_types(event_type)
            | window_into(spec)
            | load_job(spec, repo_settings.project)
            | beam.ParDo(_Pane())
        )
        assert_that(panes, same_panes)
