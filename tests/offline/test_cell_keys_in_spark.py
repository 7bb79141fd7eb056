"""Keys holding quotes, backslashes or `--` stay data when cells are pushed into Spark SQL as literals."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.sql import SparkSession

from parity.offline import recompute, recompute_restricted
from parity.settings import Settings
from parity.spec import load_feature

START = dt.datetime(2024, 5, 3, 7, 0, tzinfo=dt.UTC)
START_US = int(START.timestamp()) * 1_000_000
NASTY = [
    "O'Hare",
    "back\\slash",
    "x' OR '1'='1",
    "a -- comment",
    "\\'; DROP VIEW parity_events_ride_events; --",
    "end\\",
    "new\nline",
    'dou"ble',
    "Zürich",
]


def test_keys_with_quotes_backslashes_and_comments_stay_data(
    spark: SparkSession,
    tmp_path: Path,
    repo_settings: Settings,
    event_log_writer: Callable[..., None],
    ride_event: Callable[..., dict[str, Any]],
) -> None:
    (tmp_path / "realtime_jobs").mkdir()
    (tmp_path / "offline_queries").mkdir()
    (tmp_path / "realtime_jobs" / "city_requests.yaml").write_text(
        "feature: city_requests\nsource: ride_events\nkeys: [city]\nwindow: {size: 1m}\nvalues: {requests: {}}\n"
        "transform_ref: realtime_jobs/city_requests.py:CityRequests\n"
    )
    (tmp_path / "offline_queries" / "city_requests.sql").write_text(
        "SELECT city, window.start AS window_start, window.end AS window_end, COUNT(*) AS requests\n"
        "FROM ride_events GROUP BY city, window(event_time, '1 minute')"
    )
    cities = [*NASTY, "plain", "1"]
    rows = [
        ride_event(f"e{i}-{n}", START + dt.timedelta(seconds=i), "ride_requested", city=city)
        for i, city in enumerate(cities)
        for n in range(i + 1)
    ]
    event_log_writer(tmp_path / "events", "ride_events", rows)
    settings = dataclasses.replace(repo_settings, project=tmp_path, event_log=tmp_path / "events")
    spec = load_feature("city_requests", tmp_path)

    cells = pd.DataFrame({"city": NASTY, "window_start": [START_US] * len(NASTY)})
    frame = recompute(spec, settings, START_US, START_US + 60_000_000, cells=cells)

    assert dict(zip(frame["city"], frame["requests"], strict=True)) == {c: i + 1 for i, c in enumerate(NASTY)}
    everything = recompute(spec, settings, START_US, START_US + 60_000_000)
    assert len(everything) == len(cities), "the view survived the DROP VIEW key"

    # The restricted recompute filters the same keys; every event here arrived in time, so it gives the full
    # values, and a null key is a key like any other.
    with_null = pd.concat([cells, pd.DataFrame({"city": [None], "window_start": [START_US]})], ignore_index=True)
    restricted = recompute_restricted(spec, settings, with_null)
    assert dict(zip(restricted["city"], restricted["requests"], strict=True)) == {c: i + 1 for i, c in enumerate(NASTY)}
