"""Builders for the sample and compare tests: feature specs made in code, and the two sides' frame shapes.

Frames here are tiny and every planted difference is stated in the test that plants it. Window starts are
integer microseconds unless a test is about timestamp dtypes; `MINUTE` is one window of the default spec.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from parity.spec import FeatureSpec, Tolerance, Window

MINUTE = 60_000_000


def feature_spec(
    keys: Sequence[str] = ("geohash6",),
    values: Sequence[str] = ("value",),
    tolerances: Sequence[Tolerance] | None = None,
    name: str = "feature_x",
    size_us: int = MINUTE,
    slide_us: int | None = None,
) -> FeatureSpec:
    return FeatureSpec(
        name=name,
        source="ride_events",
        path=Path(f"realtime_jobs/{name}.yaml"),
        offline_query=Path(f"offline_queries/{name}.sql"),
        keys=tuple(keys),
        window=Window(size_us=size_us, slide_us=slide_us or size_us),
        values=tuple(values),
        tolerances=tuple(tolerances) if tolerances is not None else tuple(Tolerance() for _ in values),
        threshold=0.999,
        allowed_lateness_us=0,
        sample_rate=1.0,
        transform_yaml=None,
        transform_ref="realtime_jobs/feature_x.py:FeatureX",
        expectations=(),
        description="",
    )


def as_online(offline: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """An offline frame written as the realtime job writes it: one ON_TIME pane (index 0) per cell."""
    online = offline.copy()
    online["window_end"] = online["window_start"] + spec.window.size_us
    online["pane_timing"] = "ON_TIME"
    online["pane_index"] = 0
    online["emitted_at"] = online["window_end"]
    return online.reset_index(drop=True)


def as_offline(online: pd.DataFrame) -> pd.DataFrame:
    """An online frame with one pane per cell, read as if it were the offline result."""
    return online.drop(columns=["window_end", "pane_timing", "pane_index", "emitted_at"]).reset_index(drop=True)
