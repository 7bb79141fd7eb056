"""Speed of `parity.compare.compare` against DuckDB doing the same job, over the same Arrow tables.

For each size N: an offline table of N cells (`geohash6` string key, `window_start` as timestamp[us, UTC], one
float64 value) and an online table as the realtime job writes it (the same columns plus window_end, pane_timing,
pane_index, emitted_at) with 1 to 4 panes per cell (2 on average); a cell's last pane (highest pane_index) holds
its realtime value, earlier panes hold partial ones. Both sides carry null and NaN values (1% of cells each,
the same on both sides, so they match) and one key group is null (null-safe join). 0.1% of the cells diverge:
half by value (some of those a finite offline value against NaN or null online), a quarter missing online, a
quarter missing offline, plus 0.01% of the cells whose last pane is written twice (`duplicate_online`). Every
other realtime value differs from offline by a relative 1e-12, inside the tolerance (abs 1e-6, rel 1e-9).

- parity: `compare(offline, online, spec)` on the Arrow tables, which also builds the full per-cell frame
  (keys, window, status, both values per cell);
- DuckDB: SQL written here (it does not call parity) over the same registered Arrow tables: the last pane of
  every cell and how many rows carry it, a null-safe `FULL OUTER JOIN` on key and window_start, and a count of
  the cells where a side is missing, the last pane is repeated, or the values differ (null, NaN and infinities
  by class, finite values by `abs(online - offline) > abs + rel * abs(offline)`). It only counts.

Both tools run interleaved (parity, DuckDB, parity, DuckDB, ...) after one warm-up run each; each timing is the
median of `runs` (wall seconds, and the process's CPU seconds, which for DuckDB add up all its threads); both
must find the number of divergent cells the generator planted. The load average is the median over the runs.

    python -m bench.compare_bench --sizes 1000000 5000000 10000000

Memory (`--memory 10000000`): the tables are written to Parquet, and a fresh process reads them back (Arrow
tables, as the online reader gets them) and compares them; it reports the tables' `nbytes`, its RSS after
reading, and its peak RSS (`resource.getrusage`), so the compare's own peak is peak minus RSS before it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from parity.compare import compare
from parity.spec import FeatureSpec, Tolerance, Window

MINUTE_US = 60_000_000
START_US = 1_767_225_600 * 1_000_000  # 2026-01-01T00:00:00Z
WINDOWS = 60  # window starts per key; keys = cells / WINDOWS
DIVERGENT = 0.001
DUPLICATED = 0.0001
ODD_VALUES = 0.01  # share of cells whose value is null, and again NaN, on both sides
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
    description="synthetic tables for the compare benchmark",
)

DUCKDB_QUERY = f"""
WITH top AS (
  SELECT geohash6, window_start, max(pane_index) AS pane_index FROM online_table GROUP BY geohash6, window_start
), last AS (
  SELECT o.geohash6, o.window_start, any_value(o.value) AS value, count(*) AS panes
  FROM online_table AS o JOIN top AS t
    ON o.geohash6 IS NOT DISTINCT FROM t.geohash6 AND o.window_start = t.window_start AND o.pane_index = t.pane_index
  GROUP BY o.geohash6, o.window_start
)
SELECT count(*) FROM offline_table AS f FULL OUTER JOIN last AS o
  ON f.geohash6 IS NOT DISTINCT FROM o.geohash6 AND f.window_start = o.window_start
WHERE f.window_start IS NULL OR o.window_start IS NULL OR o.panes > 1 OR NOT coalesce(
  (f.value IS NULL AND o.value IS NULL)
  OR (isnan(f.value) AND isnan(o.value))
  OR (isinf(f.value) AND f.value = o.value)
  OR (isfinite(f.value) AND isfinite(o.value) AND abs(o.value - f.value) <= {ABS_TOL!r} + {REL_TOL!r} * abs(f.value)),
  false)
"""


def tables(cells: int, seed: int = 11) -> tuple[pa.Table, pa.Table, int]:
    """The offline and online tables of `cells` cells, and how many cells diverge."""
    rng = np.random.default_rng(seed)
    keys = pa.array([None, *(f"u{i:05x}" for i in range(1, cells // WINDOWS))], type=pa.string())
    key_of_cell = np.repeat(np.arange(len(keys)), WINDOWS)
    start = START_US + np.tile(np.arange(WINDOWS, dtype=np.int64) * MINUTE_US, len(keys))
    n = len(key_of_cell)
    value = rng.gamma(2.0, 150.0, size=n)
    odd = rng.choice(n, size=int(n * ODD_VALUES) * 2, replace=False)
    null_value, nan_value = odd[: len(odd) // 2], odd[len(odd) // 2 :]
    value[nan_value] = np.nan

    planted = rng.choice(np.setdiff1d(np.arange(n), odd), size=int(n * (DIVERGENT + DUPLICATED)), replace=False)
    divergent, duplicated = planted[: int(n * DIVERGENT)], planted[int(n * DIVERGENT) :]
    mismatched, only_offline, only_online = np.array_split(divergent, [len(divergent) // 2, len(divergent) * 3 // 4])
    online_value = value * (1 + 1e-12)
    online_value[mismatched] += 1.0
    online_value[mismatched[::7]] = np.nan  # finite offline, NaN online
    online_null = np.zeros(n, dtype=bool)
    online_null[null_value] = True
    online_null[mismatched[3::7]] = True  # finite offline, null online
    offline_null = np.zeros(n, dtype=bool)
    offline_null[null_value] = True
    keep_offline = np.ones(n, dtype=bool)
    keep_offline[only_online] = False
    keep_online = np.ones(n, dtype=bool)
    keep_online[only_offline] = False

    def stamps(micros: np.ndarray) -> pa.Array:
        return pa.array(micros, type=pa.int64()).cast(pa.timestamp("us", tz="UTC"))

    def floats(values: np.ndarray, null: np.ndarray) -> pa.Array:
        return pa.array(values, type=pa.float64(), mask=null)

    on = np.flatnonzero(keep_offline)
    offline = pa.table(
        {"geohash6": keys.take(key_of_cell[on]), "window_start": stamps(start[on]), "value": floats(value[on], offline_null[on])}
    )

    # panes: each online cell 1..4 panes (index 0..k-1); the last holds the value, a duplicated cell repeats it
    cell = np.flatnonzero(keep_online)
    panes = np.minimum(1 + rng.poisson(1.0, size=len(cell)), 4)
    row_cell = np.repeat(cell, panes)
    first = np.repeat(np.cumsum(panes) - panes, panes)
    pane_index = np.arange(len(row_cell), dtype=np.int64) - first
    last = pane_index == np.repeat(panes - 1, panes)
    row_value = np.where(last, online_value[row_cell], value[row_cell] * 0.5)
    row_null = online_null[row_cell] & last
    extra = np.flatnonzero(last & np.isin(row_cell, duplicated))
    order = np.argsort(np.concatenate([np.arange(len(row_cell)), extra]), kind="stable")
    take = np.concatenate([np.arange(len(row_cell)), extra])[order]
    row_cell, pane_index, row_value, row_null = row_cell[take], pane_index[take], row_value[take], row_null[take]
    shuffled = rng.permutation(len(row_cell))  # panes arrive in any order in the log
    row_cell, pane_index, row_value, row_null = (
        row_cell[shuffled], pane_index[shuffled], row_value[shuffled], row_null[shuffled]
    )
    timing = pa.DictionaryArray.from_arrays(
        pa.array((pane_index > 0).astype(np.int8)), pa.array(["ON_TIME", "LATE"])
    )
    online = pa.table(
        {
            "geohash6": keys.take(key_of_cell[row_cell]),
            "value": floats(row_value, row_null),
            "window_start": stamps(start[row_cell]),
            "window_end": stamps(start[row_cell] + MINUTE_US),
            "pane_timing": timing,
            "pane_index": pa.array(pane_index),
            "emitted_at": stamps(start[row_cell] + MINUTE_US + 5_000_000 * (1 + pane_index)),
        }
    )
    return offline, online, len(divergent) + len(duplicated)


def main(sizes: tuple[int, ...] = (1_000_000, 5_000_000, 10_000_000), runs: int = 3) -> dict[str, dict[str, float]]:
    """Time both tools at each size; print a table and return {"<size>": {tool: median seconds, ...}}."""
    results = {str(size): time_size(size, runs) for size in sizes}
    _print(results, runs)
    return results


def time_size(size: int, runs: int) -> dict[str, float]:
    """Median seconds per tool on one pair of tables, parity's ratio to DuckDB, and the tables' size."""
    offline, online, expected = tables(size)
    connection = duckdb.connect()
    connection.execute("SET enable_progress_bar = false")
    connection.register("offline_table", offline)
    connection.register("online_table", online)

    def parity() -> int:
        comparison = compare(offline, online, SPEC)
        return comparison.compared - comparison.matched

    def duckdb_join() -> int:
        return int(connection.execute(DUCKDB_QUERY).fetchall()[0][0])

    tools: dict[str, Callable[[], int]] = {"parity": parity, "duckdb": duckdb_join}
    samples: dict[str, list[float]] = {tool: [] for tool in tools}
    cpu: dict[str, list[float]] = {tool: [] for tool in tools}
    loads: list[float] = []
    for run in range(runs + 1):  # run 0 warms both tools alike and is not counted
        for tool, work in tools.items():  # interleaved, so load elsewhere on the machine hits both alike
            began, began_cpu = time.perf_counter(), time.process_time()
            found = work()
            seconds, cpu_seconds = time.perf_counter() - began, time.process_time() - began_cpu
            if found != expected:
                raise AssertionError(f"{tool} found {found} divergent cells at {size}, expected {expected}")
            if run:
                samples[tool].append(seconds)
                cpu[tool].append(cpu_seconds)
        loads.append(os.getloadavg()[0])
    connection.close()
    medians = {tool: statistics.median(samples[tool]) for tool in tools}
    medians.update({f"{tool}_cpu": statistics.median(cpu[tool]) for tool in tools})
    medians["parity_vs_duckdb"] = medians["parity"] / medians["duckdb"]
    medians["online_rows"] = float(online.num_rows)
    medians["input_bytes"] = float(offline.nbytes + online.nbytes)
    medians["load"] = statistics.median(loads)
    return medians


def _print(results: dict[str, dict[str, float]], runs: int) -> None:
    print(f"compare over Arrow tables, median of {runs} interleaved runs after one warm-up each (seconds); "
          f"{DIVERGENT:.1%} divergent cells, 1-4 panes per cell; DuckDB threads: {os.cpu_count()}")
    print("wall seconds, then CPU seconds of the process (all of DuckDB's threads) in brackets")
    print(f"{'cells':>10} {'online rows':>12} {'input MB':>9} {'parity':>16} {'duckdb':>16} {'parity/duckdb':>14} "
          f"{'load':>5}")
    for size, t in results.items():
        print(
            f"{int(size):>10} {int(t['online_rows']):>12} {t['input_bytes'] / 1e6:>9.0f} "
            f"{t['parity']:>7.3f} ({t['parity_cpu']:>6.3f}) {t['duckdb']:>7.3f} ({t['duckdb_cpu']:>6.3f}) "
            f"{t['parity_vs_duckdb']:>14.2f} {t['load']:>5.1f}"
        )


def memory(cells: int) -> dict[str, float]:
    """Peak memory of a compare of `cells` cells in a fresh process that reads the two tables from Parquet."""
    offline, online, expected = tables(cells)
    with tempfile.TemporaryDirectory() as folder:
        pq.write_table(offline, f"{folder}/offline.parquet")
        pq.write_table(online, f"{folder}/online.parquet")
        del offline, online
        measured = subprocess.run(
            [sys.executable, "-m", "bench.compare_bench", "--measure-in", folder, "--expect", str(expected)],
            capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1],
        )
    result: dict[str, float] = json.loads(measured.stdout)
    print(
        f"compare memory, {cells} cells ({int(result['online_rows'])} online rows): input tables "
        f"{result['input_bytes'] / 2**20:.0f} MiB; RSS after reading {result['rss_before'] / 2**20:.0f} MiB (peak while "
        f"reading {result['read_peak_rss'] / 2**20:.0f} MiB), "
        f"peak {result['peak_rss'] / 2**20:.0f} MiB = {result['peak_rss'] / result['input_bytes']:.2f}x the input; "
        f"the compare's own peak {(result['peak_rss'] - result['rss_before']) / 2**20:.0f} MiB = "
        f"{(result['peak_rss'] - result['rss_before']) / result['input_bytes']:.2f}x; "
        f"{result['seconds']:.2f} s; load {os.getloadavg()[0]:.1f}"
    )
    return result


def _measure_in(folder: str, expected: int) -> None:
    """The child of `memory`: read, compare, print the numbers as JSON."""
    offline = pq.read_table(f"{folder}/offline.parquet")
    online = pq.read_table(f"{folder}/online.parquet")
    before = _rss()
    read_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    began = time.perf_counter()
    comparison = compare(offline, online, SPEC)
    seconds = time.perf_counter() - began
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    if comparison.compared - comparison.matched != expected:
        raise AssertionError(f"found {comparison.compared - comparison.matched} divergent cells, expected {expected}")
    print(json.dumps({
        "input_bytes": offline.nbytes + online.nbytes, "online_rows": online.num_rows, "rss_before": before,
        "read_peak_rss": read_peak, "peak_rss": peak, "seconds": seconds,
    }))


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 5_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory", type=int, metavar="CELLS", help="measure the peak memory of one compare instead")
    parser.add_argument("--measure-in", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure_in:
        _measure_in(arguments.measure_in, arguments.expect)
    elif arguments.memory:
        memory(arguments.memory)
    else:
        main(tuple(arguments.sizes), arguments.runs)
