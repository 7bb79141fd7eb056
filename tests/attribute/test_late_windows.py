"""Which windows had an arrival past their cutoff: only their divergent cells need the restricted recompute."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from parity.attribute import windows_with_late_arrivals
from parity.spec import FeatureSpec, Tolerance, Window
from parity.units import US
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

