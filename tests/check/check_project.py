"""The feature projects and event sets of the end-to-end check tests (described in tests/check/conftest.py)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from parity.check import run_check
from parity.events import write_events
from parity.generate import SCHEMA
from parity.geo import geohash
from parity.realtime import StreamResult, run_stream
from parity.result import CheckResult
from parity.settings import Settings, load_settings
from parity.spec import FeatureSpec, load_feature

REPO = Path(__file__).resolve().parents[2]
FEATURES = Path(__file__).resolve().parent / "features"
BASE = dt.datetime(2024, 6, 3, 10, 0, tzinfo=dt.UTC)
START = "2024-06-03T10:00:00Z"
END = "2024-06-03T10:10:00Z"
MINUTE = dt.timedelta(minutes=1)

# Free-text cities, one per place: quotes, comment markers and backslashes that must stay data.
CITIES = (
    "sf",
    "a'); DROP TABLE x; --",
    "back\\slash\\' OR '1'='1",
    'say "hi" /* not a comment */',
    "oakland",
    "it's -- here",
    "berkeley",
    "daly city",
    "\\'; --\\",
)
PLACES = tuple((round(37.70 + 0.03 * i, 6), round(-122.45 + 0.02 * (i % 3), 6)) for i in range(len(CITIES)))
CELLS = tuple(geohash(lat, lon, 6) for lat, lon in PLACES)
DROPPED_CELL = "9q8yvx"  # the cell requests_but_one_cell drops, PLACES[3]
ONLY_LATE_PLACE = 8  # no events in clean_rides(); in late_rides() a single request, arriving too late

RIDE_EVENTS = SCHEMA  # the ride_events contract, as the generator writes it


def us(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def at(minute: int, second: float = 0.0) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minute, seconds=second)


def cutoff(window_start: dt.datetime, size: dt.timedelta = MINUTE) -> dt.datetime:
    """The first arrival the stream no longer counts in a window: window_end + 2m lateness + one 1 s tick."""
    return window_start + size + dt.timedelta(minutes=2, seconds=1)


def ride(
    event_id: str, event_time: dt.datetime, event_type: str, place: int, *, arrival: dt.timedelta | dt.datetime,
    **fields: Any,
) -> dict[str, Any]:
    """One ride event at `PLACES[place]`; `arrival` is its ingest_time or its delay after event_time."""
    row: dict[str, Any] = dict.fromkeys(RIDE_EVENTS.names)
    lat, lon = PLACES[place]
    row.update(
        event_id=event_id,
        event_time=event_time,
        ingest_time=arrival if isinstance(arrival, dt.datetime) else event_time + arrival,
        event_type=event_type,
        city=CITIES[place],
        lat=lat,
        lon=lon,
        device_id=f"dev-{event_id}",
    )
    row.update(fields)
    return row


def clean_rides(seed: int = 11) -> list[dict[str, Any]]:
    """The on-time event set of the module docstring (about 230 events)."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []

    def soon() -> dt.timedelta:
        return dt.timedelta(seconds=round(rng.uniform(0.2, 3.0), 6))

    for minute in range(10):
        for place in range(ONLY_LATE_PLACE):
            for n in range(rng.randint(1, 3)):
                eta = None if rng.random() < 0.125 else round(rng.uniform(60, 900), 3)
                rows.append(ride(f"r-{minute}-{place}-{n}", at(minute, rng.uniform(0, 59.9)), "ride_requested",
                                 place, arrival=soon(), rider_id=f"u{rng.randrange(50)}", eta_seconds=eta))
            if rng.random() < 0.25:
                rows.append(ride(f"c-{minute}-{place}", at(minute, rng.uniform(0, 59.9)), "ride_cancelled", place,
                                 arrival=soon(), rider_id=f"u{rng.randrange(50)}"))
            if rng.random() < 0.3:
                rows.append(ride(f"p-{minute}-{place}", at(minute, rng.uniform(0, 59.9)), "driver_ping", place,
                                 arrival=soon(), driver_id=f"d{rng.randrange(12)}", available=rng.random() < 0.8))
    requests = [row for row in rows if row["event_type"] == "ride_requested"]
    for original in rng.sample(requests, 8):
        again = dict(original, ingest_time=original["ingest_time"] + dt.timedelta(seconds=rng.uniform(5, 40)))
        rows.append(again)
    for tick in range(21):  # settles the range: the newest arrival ends up at about 10:17
        rows.append(ride(f"tail-{tick}", at(10, 20 * tick), "driver_ping", tick % ONLY_LATE_PLACE,
                         arrival=soon(), driver_id=f"d{tick % 12}", available=True))
    return rows


LATE_CELLS = (  # (place, window start): one request each that the stream could not count
    (1, at(2)),
    (2, at(4)),
    (5, at(5)),
    (ONLY_LATE_PLACE, at(6)),
)


def late_rides() -> list[dict[str, Any]]:
    """`clean_rides()` plus the late arrivals of the module docstring."""
    rows = clean_rides()
    rows += [
        ride("late-1", at(2, 20), "ride_requested", 1, arrival=at(6), eta_seconds=300.0),
        ride("late-2", at(4, 10), "ride_requested", 2, arrival=at(9, 30), eta_seconds=300.0),
        ride("late-at-cutoff", at(5, 20), "ride_requested", 5, arrival=cutoff(at(5)), eta_seconds=300.0),
        ride("late-only", at(6, 30), "ride_requested", ONLY_LATE_PLACE, arrival=at(12), eta_seconds=300.0),
        ride("just-in-time", at(5, 10), "ride_requested", 4,
             arrival=cutoff(at(5)) - dt.timedelta(microseconds=1), eta_seconds=300.0),
    ]
    first = next(row for row in rows if row["event_id"] == "r-3-6-0")
    rows.append(dict(first, ingest_time=cutoff(at(3)) + dt.timedelta(seconds=30)))  # a duplicate, too late
    return rows


def make_project(root: Path, rows: list[dict[str, Any]]) -> Settings:
    """A feature project in `root`: examples + test features, `[tool.parity]` inside it, `rows` in its event log."""
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder, dirs_exist_ok=True)
        shutil.copytree(FEATURES / folder, root / folder, dirs_exist_ok=True)
    (root / "pyproject.toml").write_text(
        "[tool.parity]\n"
        'event_log = "events"\n'
        'online_log = "online"\n'
        'quarantine = "quarantine"\n'
        'reports = "reports"\n'
        'database = "sqlite:///parity.db"\n'
        'spark_master = "local[2]"\n'
        'beam_runner = "BundleBasedDirectRunner"\n'
    )
    settings = load_settings(root)
    table = pa.Table.from_pylist(rows, schema=RIDE_EVENTS)
    written = write_events(table, settings.event_log, "ride_events", settings.quarantine)
    assert written.rows_written == len(rows) and written.rows_quarantined == 0
    return settings


@dataclasses.dataclass
class Project:
    """A feature project whose features are streamed once, on first use, over its whole event log."""

    settings: Settings
    rows: list[dict[str, Any]]
    streams: dict[str, StreamResult] = dataclasses.field(default_factory=dict)
    results: dict[str, CheckResult] = dataclasses.field(default_factory=dict)

    def spec(self, feature: str) -> FeatureSpec:
        return load_feature(feature, self.settings.project)

    def stream(self, feature: str) -> StreamResult:
        if feature not in self.streams:
            events = pa.Table.from_pylist(self.rows, schema=RIDE_EVENTS)
            self.streams[feature] = run_stream(self.spec(feature), self.settings, events)
        return self.streams[feature]

    def check(self, feature: str, spec: FeatureSpec | None = None, **options: Any) -> CheckResult:
        """A fresh `run_check` over windows starting in [10:00, 10:10), after streaming the feature."""
        self.stream(feature)
        return run_check(spec or self.spec(feature), self.settings, us(at(0)), us(at(10)), **options)

    def result(self, feature: str) -> CheckResult:
        """The check of a feature with its spec's settings, run once per project."""
        if feature not in self.results:
            self.results[feature] = self.check(feature)
        return self.results[feature]


def cells(
    rows: list[dict[str, Any]],
    keep: Callable[[dict[str, Any]], bool],
    key: Callable[[dict[str, Any]], Any],
    size: dt.timedelta = MINUTE,
    slide: dt.timedelta = MINUTE,
) -> dict[tuple[Any, str], list[dict[str, Any]]]:
    """The kept rows per cell `(key, ISO window start)`, for windows starting in [10:00, 10:10): what a
    correct job and its SQL both see when nothing is late."""
    found: dict[tuple[Any, str], list[dict[str, Any]]] = {}
    for row in rows:
        if not keep(row):
            continue
        moment = row["event_time"]
        last = BASE + (moment - BASE) // slide * slide
        start = last - size + slide
        while start <= last:
            if at(0) <= start < at(10) and start <= moment < start + size:
                found.setdefault((key(row), iso(start)), []).append(row)
            start += slide
    return found


def iso(moment: dt.datetime) -> str:
    """A window start as reports show it."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def geohash6(row: dict[str, Any]) -> str:
    return str(geohash(row["lat"], row["lon"], 6))


def is_request(row: dict[str, Any]) -> bool:
    return bool(row["event_type"] == "ride_requested")
