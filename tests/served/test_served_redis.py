"""Served parity against a real Redis (started by `conftest.redis_server`): the stream's panes of a simulated
world (`test_served_check.World`: 20 keys, 1-minute windows, on-time panes 5 s after the window, late panes 90 s
after) are written through `parity.online_store` on a simulated clock while `parity.tap.run_tap` reads every key
every 7 s into a served log; `read_served` and `served_check` then name what each read got.

Store faults are planted in the writer (never in the reads): lost writes, the last-arrival-wins rule with late
panes, a TTL, a writer lagging two windows, a truncated value. The store's own TTL is whole seconds of wall
time, so the TTL is planted as the store sets it (an expiry after each write of the entity) with `PEXPIRE`,
scaled to a clock paced at `WALL_SPEED` simulated seconds per wall second."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import redis
from test_served_check import KEYS, SPEC, T0, World

from parity.errors import OnlineStoreError
from parity.online_store import ConflictRule, OnlineStore, Pane, Retry, open_store
from parity.online_store.redis import store_key
from parity.online_store.server import LocalServer
from parity.result import Cause
from parity.served import ServedResult, StoreCause, served_check
from parity.served_log import Clock, ServedLogWriter, log_schema, read_served
from parity.spec import FeatureSpec
from parity.tap import TapResult, run_tap
from parity.units import HOUR_US, MINUTE_US, US

WALL_SPEED = 1000.0  # simulated seconds per wall second, for the TTL world only
ONLINE = pa.schema([("key", pa.string()), ("requests", pa.int64())])
START, END = T0 + 3 * MINUTE_US, T0 + 18 * MINUTE_US
ONCE = Retry(attempts=1)
HEALTHY: dict[bool, pd.DataFrame] = {}


@dataclass
class Replay:
    """The tap's clock: `sleep_until(t)` writes every pane due by `t` into the store (the fault planted), then
    moves the simulated clock to `t`. A write is due at `emitted_at + lag_us`; `written_at` is that instant."""

    store: OnlineStore
    panes: list[dict[str, Any]]  # keys, values, window_start, window_end, pane_index, emitted_at (µs)
    now: int = START
    spec: FeatureSpec = SPEC
    rule: ConflictRule = ConflictRule.NEWEST_WINDOW
    lose: float = 0.0
    lag_us: int = 0
    truncate: bool = False
    ttl_us: int | None = None
    raw: redis.Redis | None = None
    at: dict[int, Any] = field(default_factory=dict)  # simulated instant -> what to do then (the kill test)
    kind: Clock = Clock.SIMULATED
    speed: float = 1.0
    _writes: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(11)
        self._writes = sorted(((int(p["emitted_at"]) + self.lag_us, p) for p in self.panes
                               if rng.random() >= self.lose), key=lambda w: w[0])

    def now_us(self) -> int:
        return self.now

    def sleep_until(self, instant_us: int) -> None:
        instant_us = max(instant_us, self.now)
        if self.ttl_us is not None:
            time.sleep((instant_us - self.now) / US / WALL_SPEED)
        for moment in [m for m in self.at if self.now < m <= instant_us]:
            self.at.pop(moment)()
        self.now = instant_us
        while self._writes and self._writes[0][0] <= instant_us:
            stamp = self._writes[0][0]
            due = []
            while self._writes and self._writes[0][0] == stamp:
                due.append(self._writes.pop(0)[1])
            self._write(stamp, due)

    def _write(self, stamp: int, panes: list[dict[str, Any]]) -> None:
        rows = []
        for p in panes:
            values = {v: p[v] for v in self.spec.values}
            first = self.spec.values[0]
            if self.truncate and int(values[first]) >= 3:
                values[first] = int(values[first]) // 10 * 10
            rows.append(Pane({k: p[k] for k in self.spec.keys}, values, int(p["window_start"]),
                             int(p["window_end"]), int(p["pane_index"])))
        try:
            self.store.write(self.spec.name, rows, rule=self.rule, now_us=stamp)
        except OnlineStoreError:
            return  # the store is down (the kill test): these writes are lost, as a real writer's would be
        if self.ttl_us is not None and self.raw is not None:
            for row in rows:
                self.raw.pexpire(store_key(row.key), max(1, int(self.ttl_us / 1000 / WALL_SPEED)))


def world_panes(stream: pd.DataFrame) -> list[dict[str, Any]]:
    """The world's panes as the writer takes them: a window start, and the late pane (90 s after) as index 1."""
    return stream.assign(window_start=stream["window_end"] - MINUTE_US,
                         pane_index=(stream["emitted_at"] - stream["window_end"] > MINUTE_US).astype(int)
                         ).to_dict("records")


def _tap(replay: Replay, log: Path, *, url: str, until: int = END) -> TapResult:
    writer = ServedLogWriter(log, SPEC, log_schema(SPEC, ONLINE), Clock.SIMULATED)
    return run_tap(SPEC, lambda: open_store(url, retry=ONCE), pd.DataFrame({"key": KEYS}), writer, replay,
                   duration_us=until - replay.now, rate_per_s=len(KEYS) / 7, batch=len(KEYS),
                   unreachable=(OnlineStoreError,))


@pytest.fixture
def server(redis_server: LocalServer) -> Iterator[tuple[LocalServer, redis.Redis, OnlineStore]]:
    raw = redis.Redis.from_url(redis_server.url, decode_responses=True)
    raw.flushdb()
    store = open_store(redis_server.url)
    yield redis_server, raw, store
    store.close()
    raw.close()


def _served(world: World, tmp: Path, server: tuple[LocalServer, redis.Redis, OnlineStore], **fault: Any) -> ServedResult:
    local, raw, store = server
    raw.flushdb()
    offline, stream, _ = world.build()
    log = tmp / f"served-{len(list(tmp.iterdir()))}"
    _tap(Replay(store, world_panes(stream), raw=raw, **fault), log, url=local.url)
    reads = read_served(log, SPEC, T0, T0 + HOUR_US)
    assert len(reads) == len(KEYS) * ((END - START - 1) // (7 * US) + 1)
    return served_check(SPEC, SPEC.served_rules, reads, offline, stream, clock=reads["clock"].iloc[0])


def test_a_healthy_replay_through_redis_serves_what_offline_says_within_the_sla(tmp_path: Path, server: Any) -> None:
    result = _served(World(), tmp_path, server)
    assert result.agreement >= 0.999, result.reads[result.reads["status"] != "match"].head()
    assert result.within_sla is not None and result.within_sla >= 0.999 and result.clock == "simulated"
    assert result.freshness_p99_us is not None and result.freshness_p99_us <= SPEC.served_rules.freshness_us


@pytest.mark.parametrize(("late", "fault", "cause"), [
    (False, {"lose": 0.2}, StoreCause.MISSING_IN_STORE),
    (True, {"rule": ConflictRule.LAST_ARRIVAL}, StoreCause.OUT_OF_ORDER_WRITE),
    (False, {"ttl_us": 40 * US}, StoreCause.MISSING_IN_STORE),
    (False, {"lag_us": 2 * MINUTE_US}, StoreCause.STALE),
    (False, {"truncate": True}, StoreCause.STORE_VALUE_MISMATCH),
], ids=["lost_writes", "last_arrival_wins", "ttl_expiry", "writer_lags_two_windows", "truncated_value"])
def test_each_store_fault_in_redis_is_named_by_its_cause_never_a_compute_cause(
        tmp_path: Path, server: Any, late: bool, fault: dict[str, Any], cause: StoreCause) -> None:
    if late not in HEALTHY:  # the same world behind a correct store, once per module
        HEALTHY[late] = _served(World(late=late), tmp_path, server).reads
    healthy = HEALTHY[late]
    faulty = _served(World(late=late), tmp_path, server, **fault).reads
    joined = faulty.merge(healthy[["key", "read_at", "status"]], on=["key", "read_at"], suffixes=("", "_healthy"))
    assert len(joined) == len(faulty)
    divergent = joined[(joined["status"] != "match") & (joined["status_healthy"] == "match")]
    assert len(divergent) >= 20, "the planted fault must show"
    assert (divergent["cause"] == cause.value).mean() >= 0.95, divergent["cause"].value_counts()
    assert not divergent["cause"].isin([c.value for c in Cause]).any()


def test_a_compute_bug_behind_a_correct_redis_store_is_a_compute_cause(tmp_path: Path, server: Any) -> None:
    reads = _served(World(job_bug_key="k03"), tmp_path, server).reads
    divergent = reads[reads["status"] != "match"]
    assert len(divergent) >= 20 and set(divergent["key"]) == {"k03"}
    assert (divergent["cause"] == Cause.UNEXPLAINED.value).all()


def test_killing_redis_mid_tap_counts_missed_reads_tears_no_file_and_the_next_tap_resumes(tmp_path: Path) -> None:
    _, stream, _ = World().build()
    log = tmp_path / "served"
    with LocalServer() as local:
        raw = redis.Redis.from_url(local.url)
        store = open_store(local.url, retry=ONCE)

        def kill() -> None:
            os.kill(int(raw.info("server")["process_id"]), signal.SIGKILL)

        kill_at, back_at = START + 8 * MINUTE_US, START + 10 * MINUTE_US
        replay = Replay(store, world_panes(stream), at={kill_at: kill, back_at: local.restart})
        first = _tap(replay, log, url=local.url, until=START + 15 * MINUTE_US)
        assert first.missed > 0 and len(first.outages) == 1
        assert first.outages[0][0] >= kill_at and first.outages[0][1] >= back_at
        assert "redis://127.0.0.1" in (first.error or "") and "missed while the store was unreachable" in \
            first.describe(local.url)
        assert first.reads + first.missed == len(KEYS) * len(range(START, START + 15 * MINUTE_US, 7 * US))
        files = list(log.rglob("*"))
        assert not [f for f in files if f.name.startswith(".")]  # no temporaries left behind
        for file in (f for f in files if f.is_file()):
            pq.read_table(file)  # every file whole
        reads = read_served(log, SPEC, T0, T0 + HOUR_US)
        assert len(reads) == first.reads and reads["read_at"].max() > back_at  # it read again after the restart
        second = _tap(Replay(store, world_panes(stream), now=START + 15 * MINUTE_US), log, url=local.url,
                      until=START + 17 * MINUTE_US)
        store.close()
        raw.close()
    assert second.missed == 0 and second.reads > 0 and second.tap_id != first.tap_id
    assert len(read_served(log, SPEC, T0, T0 + HOUR_US)) == first.reads + second.reads
