"""Inputs for the input-quality suites: a small feature project and clean, seeded inputs.

Everything built here is clean: every derived expectation holds. Tests plant one defect each on a copy:
- a null `event_id`, `event_time` or key; a missing `ingest_time` column;
- an `event_time` outside the widened event range, a `window_start` outside the checked range;
- a `window_start` off the 1-minute grid, a `window_end` one second short of the window size;
- `event_time` 10 minutes ahead of `ingest_time` on a small (0.5%) or a large (5%) share of events.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.settings import Settings
from parity.spec import FeatureSpec, load_feature

US = 1_000_000
MINUTE = 60 * US
START_US = 1_767_225_600 * US  # 2026-01-01T00:00:00Z
END_US = START_US + 60 * MINUTE
# ride_requests is tumbling: the widened event range is the checked range itself, plus nothing.
EVENT_START_US = START_US
EVENT_END_US = END_US
_BASE32 = np.array(list("0123456789bcdefghjkmnpqrstuvwxyz"))


@dataclass(frozen=True)
class Project:
    root: Path
    settings: Settings

    def feature(self, expectations_yaml: str = "") -> FeatureSpec:
        """ride_requests (1-minute tumbling, keyed by geohash6), optionally with its own `expectations:` block."""
        spec = textwrap.dedent(
            """\
            feature: ride_requests
            source: ride_events
            keys: [geohash6]
            window: {size: 1m}
            values:
              requests: {tolerance: {abs: 0, rel: 0}}
            allowed_lateness: 2m
            transform_ref: realtime_jobs/ride_requests.py:RideRequests
            """
        ) + textwrap.dedent(expectations_yaml)
        (self.root / "realtime_jobs" / "ride_requests.yaml").write_text(spec)
        return load_feature("ride_requests", self.root)


def ride_events(rows: int, seed: int = 7) -> pa.Table:
    """`rows` ride events inside [START_US, END_US), arriving 0.1-20 s after they happened; ride_events schema."""
    rng = np.random.default_rng(seed)
    event_us = START_US + rng.integers(0, END_US - START_US, rows)
    ingest_us = event_us + rng.integers(100_000, 20 * US, rows)
    kinds = np.array(["ride_requested", "ride_accepted", "ride_cancelled", "ride_completed", "driver_ping"])
    timestamp = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            "event_id": pa.array([f"ev-{seed}-{i:08d}" for i in range(rows)]),
            "event_time": pa.array(event_us, timestamp),
            "ingest_time": pa.array(ingest_us, timestamp),
            "event_type": pa.array(kinds[rng.integers(0, len(kinds), rows)]),
            "city": pa.array(np.where(rng.random(rows) < 0.5, "lisbon", "porto")),
            "lat": pa.array(38.7 + rng.random(rows) * 0.2),
            "lon": pa.array(-9.2 + rng.random(rows) * 0.2),
            "rider_id": pa.array([f"r{i % 5000}" for i in range(rows)]),
            "driver_id": pa.array([f"d{i % 800}" if i % 3 else None for i in range(rows)]),
            "device_id": pa.array([f"dev{i % 9000}" for i in range(rows)]),
        }
    )


def online_rows(rows: int, seed: int = 11) -> pd.DataFrame:
    """`rows` realtime outputs of ride_requests: 1-minute windows inside [START_US, END_US), last panes."""
    rng = np.random.default_rng(seed)
    window_start_us = START_US + rng.integers(0, 60, rows) * MINUTE
    cells = rng.integers(0, len(_BASE32), (rows, 6))
    utc = "datetime64[us, UTC]"
    return pd.DataFrame(
        {
            "geohash6": ["".join(chars) for chars in _BASE32[cells]],
            "requests": rng.integers(1, 40, rows),
            "window_start": pd.to_datetime(window_start_us, unit="us", utc=True).astype(utc),
            "window_end": pd.to_datetime(window_start_us + MINUTE, unit="us", utc=True).astype(utc),
            "pane_timing": "ON_TIME",
            "pane_index": 0,
            "emitted_at": pd.to_datetime(window_start_us + MINUTE + 5 * US, unit="us", utc=True).astype(utc),
        }
    )
