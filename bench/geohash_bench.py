"""The one-hour offline recompute with today's vectorised geohash UDF against the row-at-a-time one it replaced.

Setup (not timed): a temporary feature project (the example features copied from this repository) whose
`ride_events` log holds `hours` hours of `parity.generate.generate_rides` events at `rate` events a minute
(3,300 a minute is 4.8M a day), one file per hour.

Measured, in one process, on one SparkSession, for `ride_requests` (geohash6, tumbling) and `demand_supply`
(geohash5, 5-minute windows sliding by 1 minute): `parity.offline.recompute` of the first hour's windows, the
offline side of a one-hour check, collected to pandas, with Spark SQL's `geohash()` registered as
- `row`: the UDF parity had before, a pandas UDF that calls `parity.geo.geohash` (pygeohash) once per row;
- `arrow`: `parity.offline.register_spark`, an Arrow UDF encoding each batch with numpy (`parity.geo.geohash_array`);
- `floor`: no encoder at all, `geohash()` a SQL function of two casts run in the JVM (wrong cells, right count of
  rows): what the recompute costs with geohashing free, so `row / floor` is the most any encoder could gain.
`row` and `arrow` give identical frames (checked on every run). All are warmed alike (`warm` runs each), then timed
`runs` times each, interleaved (row, arrow, floor, row, ...); the table shows medians and the load average. Also
the encoders alone, in this process, over the hour's coordinates. Target: arrow >= 3x faster than row.

    python -m bench.geohash_bench --runs 5 --rate 3300 --hours 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from parity.events import read_events, write_events
from parity.generate import generate_rides
from parity.geo import geohash, geohash_array
from parity.offline import recompute, register_spark, spark_session
from parity.settings import Settings, load_settings
from parity.spec import load_feature

REPO = Path(__file__).resolve().parents[1]
HOUR_US = 3_600_000_000
START_US = 1_767_571_200 * 1_000_000  # 2026-01-05T00:00:00Z
FEATURES = ("ride_requests", "demand_supply")
SOURCE = "ride_events"
TARGET = 3.0


def register_row_udf(spark: Any) -> None:
    """The geohash UDF parity registered before the Arrow one: a pandas UDF over one Python call per row."""
    from pyspark.sql.functions import pandas_udf

    @pandas_udf("string")  # type: ignore[misc]
    def geohash_udf(lat: pd.Series, lon: pd.Series, precision: pd.Series) -> pd.Series:
        encoded = [
            geohash(a, o, p)
            for a, o, p in zip(lat.astype("float64").tolist(), lon.astype("float64").tolist(),
                               precision.astype("int64").tolist(), strict=True)
        ]
        return pd.Series(encoded, index=lat.index, dtype="object")

    spark.udf.register("geohash", geohash_udf)


def register_floor(spark: Any) -> None:
    """A stand-in of no cost, in the JVM: a SQL function of the coordinates (not a geohash)."""
    spark.sql("DROP TEMPORARY FUNCTION IF EXISTS geohash")  # a SQL function cannot replace a Python one
    spark.sql("CREATE TEMPORARY FUNCTION geohash(lat DOUBLE, lon DOUBLE, p INT) RETURNS STRING "
              "RETURN substr(CAST(CAST(lat * 1000 AS BIGINT) * 1000000 + CAST(lon * 1000 AS BIGINT) AS STRING), 1, p)")


def _python(register: Callable[[Any], None]) -> Callable[[Any], None]:
    def registered(spark: Any) -> None:
        spark.sql("DROP TEMPORARY FUNCTION IF EXISTS geohash")
        register(spark)

    return registered


UDFS: dict[str, Callable[[Any], None]] = {
    "row": _python(register_row_udf), "arrow": _python(register_spark), "floor": register_floor,
}


def main(runs: int = 5, rate_per_min: int = 3300, hours: int = 2, warm: int = 2) -> dict[str, object]:
    root = Path(tempfile.mkdtemp(prefix="parity-geohash-bench-"))
    try:
        settings = make_project(root, rate_per_min, hours)
        spark = spark_session(settings)
        events = read_events(settings.event_log, SOURCE, START_US, START_US + HOUR_US)
        results: dict[str, object] = {"events_per_hour": events.num_rows, "rate_per_min": rate_per_min,
                                      "runs": runs, "warm": warm}
        results["encode_only"] = encode_only(events, runs)
        for name in FEATURES:
            spec = load_feature(name, settings.project)
            seconds: dict[str, list[float]] = {udf: [] for udf in UDFS}
            expected: pd.DataFrame | None = None
            for round_ in range(warm + runs):
                for udf, register in UDFS.items():  # interleaved: a burst of load elsewhere hits both alike
                    register(spark)
                    began = time.perf_counter()
                    frame = recompute(spec, settings, START_US, START_US + HOUR_US)
                    elapsed = time.perf_counter() - began
                    if expected is None:
                        expected = frame
                    if udf != "floor":
                        pd.testing.assert_frame_equal(frame, expected)  # both encoders give the same cells
                    if round_ >= warm:
                        seconds[udf].append(elapsed)
            medians = {udf: statistics.median(values) for udf, values in seconds.items()}
            results[name] = {
                "cells": 0 if expected is None else len(expected),
                **{f"{udf}_s": value for udf, value in medians.items()},
                "speedup": medians["row"] / medians["arrow"],
                "all_s": seconds,
                "load_average": list(os.getloadavg()),
            }
        UDFS["arrow"](spark)
        _print(results)
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


def make_project(root: Path, rate_per_min: int, hours: int) -> Settings:
    """A feature project in `root` with `hours` hours of ride events from START_US in its event log."""
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text(
        '[tool.parity]\nevent_log = "events"\nonline_log = "online"\nquarantine = "quarantine"\n'
        'reports = "reports"\ndatabase = "sqlite:///parity.db"\n'
    )
    settings = load_settings(root)
    write_events(generate_rides(START_US, hours * HOUR_US, rate_per_min), settings.event_log, SOURCE,
                 settings.quarantine)
    return settings


def encode_only(events: pa.Table, runs: int) -> dict[str, float]:
    """Median seconds to geohash6 the hour's points: one `geohash` call per row vs one `geohash_array` call."""
    lat, lon = events["lat"].combine_chunks(), events["lon"].combine_chunks()
    lats, lons = lat.to_pylist(), lon.to_pylist()
    row: list[float] = []
    arrow: list[float] = []
    for _ in range(runs + 1):
        began = time.perf_counter()
        by_row = [geohash(a, o, 6) for a, o in zip(lats, lons, strict=True)]
        row.append(time.perf_counter() - began)
        began = time.perf_counter()
        by_array = geohash_array(lat, lon, 6)
        arrow.append(time.perf_counter() - began)
        assert by_array.to_pylist() == by_row
    return {"points": len(lats), "row_s": statistics.median(row[1:]), "arrow_s": statistics.median(arrow[1:])}


def _print(results: dict[str, Any]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"one-hour recompute, {results['events_per_hour']} events in the hour ({results['rate_per_min']} events a "
          f"minute), median of {results['runs']} interleaved runs after {results['warm']} warm-up runs each "
          f"(seconds); target row/arrow >= {TARGET}; load average now {load}")
    print(f"{'feature':<16} {'cells':>7} {'row UDF':>8} {'arrow UDF':>10} {'speedup':>8} {'floor':>6} {'most':>6}"
          "   load (1m 5m 15m)")
    for name in FEATURES:
        row = results[name]
        print(f"{name:<16} {row['cells']:>7} {row['row_s']:>8.2f} {row['arrow_s']:>10.2f} {row['speedup']:>7.1f}x"
              f" {row['floor_s']:>6.2f} {row['row_s'] / row['floor_s']:>5.1f}x"
              f"   {' '.join(f'{x:.1f}' for x in row['load_average'])}")
    encode = results["encode_only"]
    print(f"encoders alone, geohash6 of {encode['points']} points: row {encode['row_s']:.3f} s, "
          f"arrow {encode['arrow_s']:.3f} s ({encode['row_s'] / encode['arrow_s']:.0f}x)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rate", type=int, default=3300, help="events per minute")
    parser.add_argument("--hours", type=int, default=2, help="hours of events generated (the first is recomputed)")
    parser.add_argument("--warm", type=int, default=2, help="untimed runs of each UDF first")
    arguments = parser.parse_args()
    main(arguments.runs, arguments.rate, arguments.hours, arguments.warm)
