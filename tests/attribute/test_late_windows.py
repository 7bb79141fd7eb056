"""Which windows had an arrival past their cutoff: only their divergent cells need the restricted recompute."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.attribute import cells_with_late_arrivals, windows_with_late_arrivals
from parity.spec import US, FeatureSpec, Tolerance, Window
from parity.watermark import arrival_cutoff_us

MINUTE = 60 * US
SPEC = FeatureSpec(
    name="f", source="events", path=Path("realtime_jobs/f.yaml"), offline_query=Path("offline_queries/f.sql"),
    keys=("k",), window=Window(size_us=MINUTE, slide_us=MINUTE), values=("v",), tolerances=(Tolerance(),),
    threshold=0.999, allowed_lateness_us=2 * MINUTE, sample_rate=1.0, transform_yaml=None,
    transform_ref="x.py:X", expectations=(), description="",
)


def events(rows: list[tuple[int, int]]) -> pa.Table:
    stamp = pa.timestamp("us", tz="UTC")
    return pa.table({
        "event_time": pa.array([e for e, _ in rows], pa.int64()).cast(stamp),
        "ingest_time": pa.array([i for _, i in rows], pa.int64()).cast(stamp),
    })


def test_only_windows_with_an_arrival_at_or_after_the_cutoff_are_late() -> None:
    w0, w1, w2 = 0, MINUTE, 2 * MINUTE
    cutoff_w0 = arrival_cutoff_us(w0 + MINUTE, SPEC.allowed_lateness_us)
    table = events([
        (w0 + 5 * US, w0 + 6 * US),          # w0 on time
        (w0 + 30 * US, cutoff_w0),           # w0: arrives exactly at its cutoff -> dropped by the stream
        (w1 + 1 * US, w1 + 2 * US),          # w1 on time
        (w1 + 2 * US, arrival_cutoff_us(w1 + MINUTE, SPEC.allowed_lateness_us) - 1),  # w1: last kept µs
        (w2 + 1 * US, w2 + 900 * US),        # w2: 15 minutes late
    ])
    late = windows_with_late_arrivals(table, SPEC, np.array([w0, w1, w2, 3 * MINUTE], dtype=np.int64))
    assert late.tolist() == [w0, w2]


def test_no_windows_or_no_events_means_nothing_late() -> None:
    assert windows_with_late_arrivals(events([(1, 2)]), SPEC, np.array([], dtype=np.int64)).tolist() == []
    assert windows_with_late_arrivals(events([]), SPEC, np.array([0], dtype=np.int64)).tolist() == []


def test_late_cells_are_the_geohash_cells_and_windows_of_late_events_only() -> None:
    sf, nyc = (37.7749, -122.4194), (40.7128, -74.0060)
    w0, w1 = 0, MINUTE
    cutoff_w0 = arrival_cutoff_us(w0 + MINUTE, SPEC.allowed_lateness_us)
    table = pa.table({
        "event_time": pa.array([w0 + US, w0 + 2 * US, w1 + US, w1 + 2 * US], pa.int64()).cast(pa.timestamp("us", "UTC")),
        "ingest_time": pa.array([cutoff_w0, w0 + 3 * US, w1 + 2 * US, w1 + 3 * US], pa.int64()).cast(
            pa.timestamp("us", "UTC")
        ),
        "lat": [sf[0], nyc[0], nyc[0], None],
        "lon": [sf[1], nyc[1], nyc[1], 0.0],
    })
    cells = cells_with_late_arrivals(table, SPEC, ("lat", "lon", 6))
    assert cells.to_dict("list") == {"k": ["9q8yyk"], "window_start": [pd.Timestamp(w0, unit="us", tz="UTC")]}


def test_an_event_late_for_one_sliding_window_is_late_only_there() -> None:
    sliding = dataclasses.replace(SPEC, window=Window(size_us=5 * MINUTE, slide_us=MINUTE), allowed_lateness_us=0)
    event_us = 4 * MINUTE + 30 * US  # in the windows starting at minutes 0..4
    # Arrives after the cutoff of the window [0, 5m) and before that of [1m, 6m): late only for minute 0.
    ingest_us = arrival_cutoff_us(5 * MINUTE, 0)
    table = pa.table({
        "event_time": pa.array([event_us], pa.int64()).cast(pa.timestamp("us", "UTC")),
        "ingest_time": pa.array([ingest_us], pa.int64()).cast(pa.timestamp("us", "UTC")),
        "lat": [37.7749], "lon": [-122.4194],
    })
    cells = cells_with_late_arrivals(table, sliding, ("lat", "lon", 5))
    assert cells.to_dict("list") == {"k": ["9q8yy"], "window_start": [pd.Timestamp(0, unit="us", tz="UTC")]}
