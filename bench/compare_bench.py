"""Speed of `parity.compare.compare` against datacompy and a bare DuckDB full outer join, on the same frames.

For each size: an offline frame of N cells (`geohash6` string key, `window_start` as timestamp[us, UTC], one
float value) and an online frame as the realtime job writes it (the same columns plus window_end, pane_timing,
pane_index, emitted_at; one pane per cell, so the bare join and datacompy see one row per cell too). 0.1% of the
cells diverge: half of them by value, a quarter missing online, a quarter missing offline; every other online
value differs from offline by a relative 1e-12, inside the tolerance (abs 1e-6, rel 1e-9).

- parity: `compare(offline, online, spec)`, which also finds the last pane of each cell, checks for duplicate
  last panes, classifies null/NaN/inf, and builds the full per-cell frame;
- datacompy: `PandasCompare(offline, online, join_columns, abs_tol, rel_tol)`, the divergent count read from it;
- DuckDB: one `FULL OUTER JOIN` on key and window_start over the registered pandas frames, counting the rows
  where a side is missing or `abs(online - offline) > abs + rel * abs(offline)`.

Each timing is the median of `runs` runs; every tool must find the same number of divergent cells.

    python -m bench.compare_bench --sizes 1000000 5000000
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import datacompy
import duckdb
import numpy as np
import pandas as pd

from parity.compare import compare
from parity.spec import FeatureSpec, Tolerance, Window

MINUTE_US = 60_000_000
START_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z
WINDOWS = 60  # window starts per key; keys = cells / WINDOWS
DIVERGENT = 0.001
ABS_TOL, REL_TOL = 1e-6, 1e-9

SPEC = FeatureSpec(
    name="compare_bench",
    source="ride_events",
    path=Path("realtime_jobs/compare_bench.yaml"),
    offline_query=Path("offline_queries/compare_bench.sql"),
    keys=("geohash6",),
    window=Window(size_us=MINUTE_US, slide_us=MINUTE_US),
    values=("value",),
    tolerances=(Tolerance(abs=ABS_TOL, rel=REL_TOL),),
    threshold=0.999,
    allowed_lateness_us=0,
    sample_rate=1.0,
    transform_yaml=None,
    transform_ref="bench/compare_bench.py:None",
    expectations=(),
    description="synthetic frames for the compare benchmark",
)

DUCKDB_QUERY = f"""
SELECT count(*) FROM offline_frame AS f FULL OUTER JOIN online_frame AS o
  ON f.geohash6 = o.geohash6 AND f.window_start = o.window_start
WHERE f.value IS NULL OR o.value IS NULL OR abs(o.value - f.value) > {ABS_TOL!r} + {REL_TOL!r} * abs(f.value)
"""


def frames(cells: int, seed: int = 11) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """The offline and online frames of `cells` cells, and how many cells diverge."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"u{i:05x}" for i in range(cells // WINDOWS)], dtype=object)
    geohash6 = np.repeat(keys, WINDOWS)
    start = START_US + np.tile(np.arange(WINDOWS, dtype=np.int64) * MINUTE_US, len(keys))
    value = rng.gamma(2.0, 150.0, size=len(geohash6))
    n = len(geohash6)

    divergent = rng.choice(n, size=int(n * DIVERGENT), replace=False)
    mismatched, only_offline, only_online = np.array_split(divergent, [len(divergent) // 2, len(divergent) * 3 // 4])
    online_value = value * (1 + 1e-12)
    online_value[mismatched] += 1.0
    keep_offline = np.ones(n, dtype=bool)
    keep_offline[only_online] = False
    keep_online = np.ones(n, dtype=bool)
    keep_online[only_offline] = False

    def stamps(micros: np.ndarray) -> pd.Series:
        return pd.Series(micros.astype("datetime64[us]")).dt.tz_localize("UTC")

    offline = pd.DataFrame({"geohash6": geohash6, "window_start": stamps(start), "value": value})[keep_offline]
    on = np.flatnonzero(keep_online)
    online = pd.DataFrame(
        {
            "geohash6": geohash6[on],
            "value": online_value[on],
            "window_start": stamps(start[on]),
            "window_end": stamps(start[on] + MINUTE_US),
            "pane_timing": pd.Categorical(np.full(len(on), "ON_TIME", dtype=object)),
            "pane_index": np.zeros(len(on), dtype=np.int64),
            "emitted_at": stamps(start[on] + MINUTE_US + 5_000_000),
        }
    )
    return offline.reset_index(drop=True), online, len(divergent)


def main(sizes: tuple[int, ...] = (1_000_000, 5_000_000), runs: int = 3) -> dict[str, dict[str, float]]:
    """Time the three tools at each size; print a table and return {"<size>": {tool: median seconds, ...}}."""
    results = {str(size): time_size(size, runs) for size in sizes}
    _print(results, runs)
    return results


def time_size(size: int, runs: int) -> dict[str, float]:
    """Median seconds per tool on one pair of frames, and parity's ratio to DuckDB."""
    offline, online, expected = frames(size)
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    connection.register("offline_frame", offline)
    connection.register("online_frame", online)

    def parity() -> int:
        comparison = compare(offline, online, SPEC)
        return comparison.compared - comparison.matched

    def duckdb_join() -> int:
        return int(connection.execute(DUCKDB_QUERY).fetchall()[0][0])

    def datacompy_compare() -> int:
        result = datacompy.PandasCompare(
            offline, online, join_columns=["geohash6", "window_start"], abs_tol=ABS_TOL, rel_tol=REL_TOL
        )
        intersect = len(result.intersect_rows)
        return len(result.df1_unq_rows) + len(result.df2_unq_rows) + intersect - result.count_matching_rows()

    tools: dict[str, Callable[[], int]] = {"parity": parity, "duckdb": duckdb_join, "datacompy": datacompy_compare}
    samples: dict[str, list[float]] = {}
    for _ in range(runs):  # interleaved, so a burst of load elsewhere on the machine hits every tool alike
        for tool, run in tools.items():
            began = time.perf_counter()
            found = run()
            seconds = time.perf_counter() - began
            samples.setdefault(tool, []).append(seconds)
            if found != expected:
                raise AssertionError(f"{tool} found {found} divergent cells at {size}, expected {expected}")
    connection.close()
    medians = {tool: statistics.median(samples[tool]) for tool in tools}
    medians["parity_vs_duckdb"] = medians["parity"] / medians["duckdb"]
    return medians


def _print(results: dict[str, dict[str, float]], runs: int) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"compare, median of {runs} runs (seconds), {DIVERGENT:.1%} divergent cells; load average now {load}")
    print(f"{'cells':>10} {'parity':>8} {'duckdb':>8} {'datacompy':>10} {'parity/duckdb':>14}")
    for size, t in results.items():
        print(
            f"{int(size):>10} {t['parity']:>8.3f} {t['duckdb']:>8.3f} {t['datacompy']:>10.3f} {t['parity_vs_duckdb']:>14.2f}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000])
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    main(tuple(arguments.sizes), arguments.runs)
