"""Served parity's speed (issue 20, item 7), on a local Redis server started for the run
(`parity.online_store.server.LocalServer`, no persistence):

1. **Tap reads per second.** Keys: the geohash6 cells of an hour of `parity.generate.generate_rides` (its city),
   each holding a `ride_requests` pane written with `RedisStore.write`. Measured per batch size, interleaved,
   `runs` times each after one warm-up round, medians shown:
   - `tap`: `parity.tap.run_tap` itself, every pass of the sample (the check's cell hash, sample rate 1.0) read
     in pipelined batches and appended to a served log, flushed to Parquet at the end: the tap's whole read path.
     Its clock is simulated and never sleeps (`_Instant`; a read is 1 µs of clock time), so the rate cap
     does not bind and the figure is what the tap can do;
   - `store read`: `RedisStore.read` of the same batches (the pipelined `HGETALL`s the tap makes, without the
     tap's rows and log);
   - `bare redis-py` (the baseline, independent of parity): a redis-py pipeline of `HGETALL` over the same hash
     names, `batch` per round trip, the replies decoded to `str` as parity's client does, nothing else.
   `RedisStore.read` splits a batch into pipelines of `parity.online_store.redis.BATCH` (500) keys, so at batch
   2000 parity makes 4 round trips where the baseline makes one. Target: the tap >= 20,000 keys/s.

2. **The served check against the emitted check over one hour.** A feature project (`bench.check_bench`'s: 24
   hours of generated events), `ride_requests`'s Beam job replayed (faithful mode, `parity.realtime.run_stream`)
   over the checked hour into the online log; then the tap at the CLI's default rate (200 reads/s; again at
   20/s, a tenth of the reads, to show how the served check scales with them) over the hour of reads due in
   the checked windows, on a simulated clock (`_Replay`) that writes each pane into the store with
   `RedisStore.write` when the replay emitted it (`parity.served.replayed_emission`, the instant the served check
   assumes for a simulated clock) before moving on: the store holds, at each read, what a paced job would have
   written by then. Not timed. Measured on one warm SparkSession, both paths warmed twice, then `runs`
   times each, interleaved, medians: `run_check` (the emitted check) and `run_check(served=True)` (the same check
   plus the served check of the hour's reads). Target: served <= 1.5x emitted.

    python -m bench.served_bench --runs 3
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import redis

from bench.check_bench import DAY_START_US, HOUR_US, _stages, make_project
from parity.check import CheckRange, run_check, served_span
from parity.events import read_events
from parity.generate import generate_rides
from parity.geo import geohash_array
from parity.offline import event_range
from parity.online import open_source
from parity.online_store import Pane, open_store
from parity.online_store.redis import BATCH as STORE_BATCH
from parity.online_store.server import LocalServer
from parity.realtime import run_stream
from parity.sample import window_micros
from parity.served import replayed_emission
from parity.served_log import Clock, ServedLogWriter, log_schema
from parity.settings import Settings
from parity.spec import FeatureSpec, load_feature
from parity.tap import known_keys, run_tap

REPO = Path(__file__).resolve().parents[1]
FEATURE = "ride_requests"
MINUTE_US = 60_000_000
CHECKED_HOUR = 12
BATCHES = (100, 500, 2000)
PASSES = 5  # passes over every key per timed tap run
TAP_TARGET_KEYS_S = 20_000
SERVED_TARGET = 1.5
TAP_RATE = 200.0  # reads/s: `parity tap`'s default --rate (and a tenth of it, to show how the served check scales)


# --- 1. tap reads per second ------------------------------------------------------------------------------


@dataclass(slots=True)
class _Instant:
    """A simulated clock that never sleeps: `sleep_until` moves it there at once."""

    now: int
    kind: Clock = Clock.SIMULATED
    speed: float = 1.0

    def now_us(self) -> int:
        return self.now

    def sleep_until(self, instant_us: int) -> None:
        self.now = max(self.now, instant_us)


def city_cells(start_us: int, rate_per_min: int) -> list[str]:
    """The distinct geohash6 cells of an hour of the generator's rides."""
    events = generate_rides(start_us, HOUR_US, rate_per_min)
    cells = pc.unique(geohash_array(events["lat"], events["lon"], 6)).drop_null()
    return sorted(cells.to_pylist())


def tap_rates(url: str, spec: FeatureSpec, cells: list[str], runs: int, root: Path) -> dict[str, Any]:
    store = open_store(url)
    window_end = DAY_START_US + 13 * HOUR_US
    store.write(spec.name, [Pane({"geohash6": cell}, {"requests": 1 + i % 17}, window_end - MINUTE_US, window_end)
                            for i, cell in enumerate(cells)], now_us=window_end + 5_000_000)
    keys = [{"geohash6": cell} for cell in cells]
    frame = pd.DataFrame({"geohash6": cells})
    schema = pa.schema([("geohash6", pa.string()), ("requests", pa.int64())])
    names = ["parity:" + json.dumps({"geohash6": cell}, separators=(",", ":")) for cell in cells]  # the layout
    bare_client = redis.Redis.from_url(url, decode_responses=True)
    reads = PASSES * len(cells)

    def tap(batch: int) -> None:
        writer = ServedLogWriter(root / f"tap-{batch}", spec, log_schema(spec, schema), Clock.SIMULATED)
        result = run_tap(spec, lambda: open_store(url), frame, writer, _Instant(window_end + 10_000_000),
                         duration_us=reads, rate_per_s=1e6, batch=batch)
        assert result.reads == reads and result.present == reads and result.missed == 0, result
        shutil.rmtree(root / f"tap-{batch}")

    def store_read(batch: int) -> None:
        got = 0
        for _ in range(PASSES):
            for low in range(0, len(keys), batch):
                got += sum(1 for held in store.read(spec.name, keys[low:low + batch]) if held is not None)
        assert got == reads

    def bare(batch: int) -> None:
        got = 0
        for _ in range(PASSES):
            for low in range(0, len(names), batch):
                pipe = bare_client.pipeline(transaction=False)
                for name in names[low:low + batch]:
                    pipe.hgetall(name)
                got += sum(1 for fields in pipe.execute() if fields)
        assert got == reads

    paths: dict[str, Callable[[int], None]] = {"tap": tap, "store_read": store_read, "bare_redis_py": bare}
    seconds: dict[tuple[str, int], list[float]] = {(p, b): [] for p in paths for b in BATCHES}
    cpu: dict[tuple[str, int], list[float]] = {(p, b): [] for p in paths for b in BATCHES}
    for run in range(runs + 1):  # the first round warms every path (connections, the server's pages, imports)
        for batch in BATCHES:
            for path, step in paths.items():
                began, began_cpu = time.perf_counter(), time.process_time()
                step(batch)
                if run:
                    seconds[path, batch].append(time.perf_counter() - began)
                    cpu[path, batch].append(time.process_time() - began_cpu)
    store.close()
    bare_client.close()
    rows = {}
    for batch in BATCHES:
        rate = {path: reads / statistics.median(seconds[path, batch]) for path in paths}
        client = {f"{path}_client_cpu_us_per_key": statistics.median(cpu[path, batch]) / reads * 1e6 for path in paths}
        rows[str(batch)] = {f"{path}_keys_per_s": value for path, value in rate.items()} | client | {
            "tap_over_bare": rate["bare_redis_py"] / rate["tap"],
            "store_read_over_bare": rate["bare_redis_py"] / rate["store_read"]}
    return {"keys": len(cells), "reads_per_run": reads, "store_pipeline": STORE_BATCH, "batches": rows,
            "target_keys_per_s": TAP_TARGET_KEYS_S}


# --- 2. served check against emitted check -----------------------------------------------------------------


@dataclass
class _Replay:
    """The tap's simulated clock, never sleeping: `sleep_until(t)` first writes into the store every pane the
    replay emitted by `t` (at its replayed emission instant, `written_at` that instant), then moves to `t`."""

    store: Any
    spec: FeatureSpec
    panes: pd.DataFrame
    now: int
    kind: Clock = Clock.SIMULATED
    speed: float = 1.0
    written: int = 0
    _order: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.panes = self.panes.sort_values(["emitted_at", "window_end", "pane_index"], kind="stable")
        self.panes = self.panes.reset_index(drop=True)
        self.sleep_until(self.now)

    def now_us(self) -> int:
        return self.now

    def sleep_until(self, instant_us: int) -> None:
        self.now = max(self.now, instant_us)
        emitted = self.panes["emitted_at"].to_numpy()
        upto = int((emitted <= self.now).sum())
        for stamp, group in self.panes.iloc[self.written:upto].groupby("emitted_at", sort=True):
            self.store.write(self.spec.name, [
                Pane({k: getattr(row, k) for k in self.spec.keys}, {v: getattr(row, v) for v in self.spec.values},
                     int(row.window_end) - self.spec.window.size_us, int(row.window_end), int(row.pane_index))
                for row in group.itertuples(index=False)], now_us=int(stamp))
        self.written = upto


def stream_hour(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int) -> float:
    """Replay the checked hour's windows into the online log; the seconds it took."""
    began = time.perf_counter()
    lo, hi = event_range(spec.window, start_us, end_us)
    run_stream(spec, settings, read_events(settings.event_log, spec.source, lo, hi), windows=(start_us, end_us))
    return time.perf_counter() - began


def hour_of_reads(url: str, spec: FeatureSpec, settings: Settings, start_us: int, end_us: int,
                  rate: float) -> dict[str, Any]:
    """Tap, at `rate` reads a second, the hour of reads due in the streamed hour (see the docstring)."""
    parts = open_source(settings.online_log).read(spec.name, start_us, end_us + HOUR_US)
    keys, schema = known_keys(parts, spec)
    online = pa.concat_tables([p.table for p in parts if p.table.num_rows]).to_pandas()
    panes = online[[*spec.keys, *spec.values, "pane_index"]].copy()
    panes["window_end"] = window_micros(online["window_end"])
    panes["emitted_at"] = replayed_emission(spec, panes)
    read_lo, read_hi = served_span(spec, CheckRange(start_us, end_us, None))
    began = time.perf_counter()
    store = open_store(url)
    clock = _Replay(store, spec, panes, read_lo - 2 * MINUTE_US)  # the store as it stood shortly before
    clock.sleep_until(read_lo)
    writer = ServedLogWriter(settings.served_reads, spec, log_schema(spec, schema), Clock.SIMULATED)
    result = run_tap(spec, lambda: open_store(url), keys, writer, clock, duration_us=read_hi - read_lo,
                     rate_per_s=rate)
    store.close()
    return {"panes": len(panes), "keys": len(keys), "reads": result.reads, "present": result.present,
            "tap_rate_per_s": rate, "tap_s": time.perf_counter() - began}


def check_times(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int, runs: int) -> dict[str, Any]:
    def timed(served: bool) -> tuple[float, dict[str, float], Any]:
        with _stages() as stages:
            began = time.perf_counter()
            result = run_check(spec, settings, start_us, end_us, served=served)
            return time.perf_counter() - began, stages.seconds, result

    for _ in range(2):  # warm: the session and JIT, the UDF workers, Great Expectations, the served imports
        timed(False)
        timed(True)
    emitted: list[float] = []
    served: list[float] = []
    served_stage: list[float] = []
    result = None
    for _ in range(runs):  # interleaved, so a burst of load elsewhere hits both paths alike
        emitted.append(timed(False)[0])
        seconds, stage_seconds, result = timed(True)
        served.append(seconds)
        served_stage.append(stage_seconds.get("served", float("nan")))
    assert result is not None and result.served is not None
    emitted_s, served_s = statistics.median(emitted), statistics.median(served)
    figures = result.served
    return {"emitted_s": emitted_s, "served_s": served_s, "ratio": served_s / emitted_s,
            "served_stage_s": statistics.median(served_stage), "emitted_runs_s": emitted, "served_runs_s": served,
            "compared": result.compared, "agreement": result.agreement, "served_figures": figures,
            "target": SERVED_TARGET}


# --- the run -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=330, help="generated events per minute")
    parser.add_argument("--tap-rates", type=float, nargs="+", default=[TAP_RATE, TAP_RATE / 10],
                        help="reads a second of the hour tapped for the served check (one check per rate)")
    parser.add_argument("--skip-check", action="store_true", help="only the tap's reads per second")
    args = parser.parse_args(argv)  # None: the command line
    root = Path(tempfile.mkdtemp(prefix="parity-served-bench-"))
    results: dict[str, Any] = {"load_average_start": list(os.getloadavg())}
    try:
        with LocalServer() as server:
            raw = redis.Redis.from_url(server.url)
            results["redis_version"] = raw.info("server")["redis_version"]
            spec = load_feature(FEATURE, REPO)
            cells = city_cells(DAY_START_US + CHECKED_HOUR * HOUR_US, args.rate)
            results["tap"] = tap_rates(server.url, spec, cells, args.runs, root)
            results["load_average_tap"] = list(os.getloadavg())
            _print_tap(results)
            if not args.skip_check:
                project = make_project(root / "project", args.rate)
                spec = load_feature(FEATURE, project.project)
                start_us = DAY_START_US + CHECKED_HOUR * HOUR_US
                results["stream_s"] = stream_hour(spec, project, start_us, start_us + HOUR_US)
                for rate in args.tap_rates:
                    raw.flushdb()
                    settings = dataclasses.replace(project, served_log=root / f"served-{rate:g}")
                    hour = hour_of_reads(server.url, spec, settings, start_us, start_us + HOUR_US, rate)
                    check = check_times(spec, settings, start_us, start_us + HOUR_US, args.runs)
                    results[f"check_tap_{rate:g}_per_s"] = {"hour": hour, **check, "load_average": list(os.getloadavg())}
                    _print_check(results[f"check_tap_{rate:g}_per_s"], results["stream_s"])
            raw.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    results["load_1m"] = os.getloadavg()[0]
    return results


def _load(values: list[float]) -> str:
    return ", ".join(f"{x:.1f}" for x in values)


def _print_tap(results: dict[str, Any]) -> None:
    tap = results["tap"]
    print(f"tap reads against redis-server {results['redis_version']} on 127.0.0.1: {tap['keys']:,} geohash6 keys, "
          f"{tap['reads_per_run']:,} reads per run, median of runs (load average {_load(results['load_average_tap'])}, "
          f"a shared machine); target tap >= {TAP_TARGET_KEYS_S:,} keys/s")
    print(f"  {'batch':>6} {'tap':>10} {'store read':>11} {'bare redis-py':>14} {'bare/tap':>9} {'bare/read':>10}")
    for batch, row in tap["batches"].items():
        print(f"  {batch:>6} {row['tap_keys_per_s']:>10,.0f} {row['store_read_keys_per_s']:>11,.0f} "
              f"{row['bare_redis_py_keys_per_s']:>14,.0f} {row['tap_over_bare']:>9.2f} {row['store_read_over_bare']:>10.2f}")
    print("  client CPU per key (this process, which the machine's load inflates less than the wall rates):")
    for batch, row in tap["batches"].items():
        print(f"  {batch:>6} {row['tap_client_cpu_us_per_key']:>8.0f} µs {row['store_read_client_cpu_us_per_key']:>8.0f} µs "
              f"{row['bare_redis_py_client_cpu_us_per_key']:>11.0f} µs")
    print(f"  (keys/s; parity's store pipelines at most {tap['store_pipeline']} keys per round trip)")


def _print_check(check: dict[str, Any], stream_s: float) -> None:
    hour = check["hour"]
    print(f"served check vs emitted check of {FEATURE}, one hour: {hour['reads']:,} tap reads at "
          f"{hour['tap_rate_per_s']:.0f}/s on a simulated clock over {hour['keys']:,} keys ({hour['panes']:,} panes "
          f"written as replayed; setup: stream {stream_s:.0f} s, tap {hour['tap_s']:.0f} s); median of "
          f"{len(check['served_runs_s'])} (load average {_load(check['load_average'])})")
    print(f"  emitted check {check['emitted_s']:.2f} s, check --served {check['served_s']:.2f} s (served stage "
          f"{check['served_stage_s']:.2f} s): ratio {check['ratio']:.2f}, target <= {SERVED_TARGET}")
    figures = check["served_figures"]
    print(f"  emitted agreement {check['agreement']:.4f} over {check['compared']:,} cells; served: "
          f"{ {k: figures.get(k) for k in ('reads', 'served_agreement', 'freshness_p99_s', 'within_sla', 'causes')} }")


if __name__ == "__main__":
    main(None)
