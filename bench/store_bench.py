"""Online store writes, pipelined against one round trip per pane, on a local Redis server started for the run.

Setup (not timed): a local `redis-server` (`parity.online_store.server.LocalServer`, no persistence) and `panes`
panes of a two-value feature (an int count and a float mean) over `keys` entity keys, in window order.
Measured, each `runs` times on an emptied database, medians shown, as wall-clock rates and as this process's CPU
per pane (the client's share, which a shared machine's load does not inflate as much):
- `pipelined`: `RedisStore.write` of all panes, in pipelined batches of `parity.online_store.redis.BATCH` (one
  round trip per batch), under the newest-window rule (its Lua check on every pane) and under last-arrival;
- `unpipelined`: the same writes one pane per call (one round trip each), on the first `single` panes;
- `read`: `RedisStore.read` of every key, pipelined (what a tap costs the store per key).

    python -m bench.store_bench --panes 50000 --keys 5000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis

from parity.online_store import ConflictRule, Pane, open_store
from parity.online_store.redis import BATCH
from parity.online_store.server import LocalServer

MINUTE = 60_000_000
FEATURE = "avg_eta"


def make_panes(count: int, keys: int) -> list[Pane]:
    """`count` panes over `keys` geohash6 keys, window after window (each key's windows in order)."""
    return [Pane({"geohash6": f"9q8y{i % keys:05d}"}, {"requests": i % 97, "avg_eta_seconds": 300.0 + (i % 13) / 7},
                 (i // keys) * MINUTE, (i // keys + 1) * MINUTE) for i in range(count)]


def timed(step: Callable[[], Any], reset: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (the client's share) of `step` over `runs`
    runs, `reset` before each (not timed)."""
    seconds, cpu = [], []
    for _ in range(runs):
        reset()
        started, started_cpu = time.perf_counter(), time.process_time()
        step()
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(seconds), statistics.median(cpu)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--panes", type=int, default=50_000)
    parser.add_argument("--keys", type=int, default=5_000)
    parser.add_argument("--single", type=int, default=5_000, help="panes written one round trip each")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv or [])
    panes = make_panes(args.panes, args.keys)
    keys = [{"geohash6": f"9q8y{i:05d}"} for i in range(args.keys)]
    with LocalServer() as server:
        store = open_store(server.url)
        raw = redis.Redis.from_url(server.url)

        def write_all(rule: ConflictRule) -> Callable[[], Any]:
            return lambda: store.write(FEATURE, panes, rule=rule)

        def write_one_by_one() -> None:
            for pane in panes[:args.single]:
                store.write(FEATURE, [pane])

        newest = timed(write_all(ConflictRule.NEWEST_WINDOW), raw.flushdb, args.runs)
        last = timed(write_all(ConflictRule.LAST_ARRIVAL), raw.flushdb, args.runs)
        single = timed(write_one_by_one, raw.flushdb, args.runs)
        store.write(FEATURE, panes)
        read = timed(lambda: store.read(FEATURE, keys), lambda: None, args.runs)
        assert all(held is not None for held in store.read(FEATURE, keys))
        version = raw.info("server")["redis_version"]
        store.close()
        raw.close()
    rates = {
        "pipelined_newest_window_panes_per_s": args.panes / newest[0],
        "pipelined_last_arrival_panes_per_s": args.panes / last[0],
        "unpipelined_panes_per_s": args.single / single[0],
        "read_pipelined_keys_per_s": args.keys / read[0],
    }
    client_us = {
        "pipelined_newest_window_client_cpu_us_per_pane": newest[1] / args.panes * 1e6,
        "pipelined_last_arrival_client_cpu_us_per_pane": last[1] / args.panes * 1e6,
        "unpipelined_client_cpu_us_per_pane": single[1] / args.single * 1e6,
        "read_pipelined_client_cpu_us_per_key": read[1] / args.keys * 1e6,
    }
    cpu = list(client_us.values())
    speedup = rates["pipelined_newest_window_panes_per_s"] / rates["unpipelined_panes_per_s"]
    print(f"redis-server {version} on 127.0.0.1, batches of {BATCH}, {args.panes:,} panes over {args.keys:,} keys, "
          f"median of {args.runs} (load {os.getloadavg()[0]:.1f}):")
    print(f"  write, pipelined, newest-window : {rates['pipelined_newest_window_panes_per_s']:>10,.0f} panes/s, "
          f"client CPU {cpu[0]:.0f} µs/pane")
    print(f"  write, pipelined, last-arrival  : {rates['pipelined_last_arrival_panes_per_s']:>10,.0f} panes/s, "
          f"client CPU {cpu[1]:.0f} µs/pane")
    print(f"  write, one round trip per pane  : {rates['unpipelined_panes_per_s']:>10,.0f} panes/s, "
          f"client CPU {cpu[2]:.0f} µs/pane (pipelined is {speedup:.1f}x faster)")
    print(f"  read, pipelined                 : {rates['read_pipelined_keys_per_s']:>10,.0f} keys/s, "
          f"client CPU {cpu[3]:.0f} µs/key")
    return {**rates, **client_us, "pipelined_speedup": speedup, "panes": args.panes, "keys": args.keys, "batch": BATCH,
            "redis_version": version, "load_1m": os.getloadavg()[0]}


if __name__ == "__main__":
    main(None)
