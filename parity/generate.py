"""Realistic example data: the `ride_events` source of a ride-hailing app, reproducible from a seed.

What it plants, each in the share a real stream shows, so every check and every cause has work to do:
- traffic skewed 80/20: a few big cities carry most events, and inside a city a few hot spots
  (airports, stations, downtown) carry most of the rest;
- riders and drivers with stable ids and one device each; rides with a lifecycle
  (requested -> accepted -> completed, or cancelled) and drivers pinging their position and availability;
- arrival delays: mostly 0.2-5 s, ~1.5% between 30 s and 100 s (weak signal: a feature allowing 2 minutes of
  lateness still counts them), and ~0.015% between 3 and 30 minutes (phones in tunnels: every stream has dropped
  them by then, which keeps a healthy feature near 99.95% raw agreement, as on the platform parity is modelled on);
- ~0.5% duplicate deliveries: same event_id and payload, later ingest_time;
- a few devices whose clocks run minutes ahead, so their event_time is after their ingest_time;
- ~0.05% broken rows (null event_time, latitude out of range) for the quarantine to catch.

All generation is vectorised numpy; the same seed gives the identical table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from parity.events import TIMESTAMP, quarantine_reasons
from parity.units import US, iso

MINUTE_US = 60 * US

EVENT_TYPES = ("ride_requested", "ride_accepted", "ride_cancelled", "ride_completed", "driver_ping")
REQUESTED, ACCEPTED, CANCELLED, COMPLETED, PING = range(len(EVENT_TYPES))

PING_SHARE = 0.55  # of all events: drivers report position and availability every few seconds
HOTSPOT_SHARE = 0.7  # of locations: near a hot spot rather than anywhere in the city
HOTSPOT_SD_DEG = 0.003  # ~300 m around a hot spot
PINGS_PER_DRIVER_PER_MIN = 5
RIDER_CANCELS = 0.12  # of requests, before any driver accepts
CANCELLED_AFTER_ACCEPT = 0.07  # of accepted rides
ETA_NULL_SHARE = 0.03  # the ETA service timed out
LATE_SHARE = 0.015  # arrivals 30 s - 100 s after the event
TUNNEL_SHARE = 0.00015  # arrivals 3 - 30 min after the event
DUPLICATE_SHARE = 0.005
SKEWED_SHARE = 0.002  # of events, from a few devices whose clocks run 2-9 minutes ahead
BAD_SHARE = 0.0005
LATE_THRESHOLD_US = 30 * US
# Rides requested this long before the start still complete inside the range: generate them too.
RIDE_LEAD_US = 75 * MINUTE_US


@dataclass(frozen=True, slots=True)
class City:
    name: str
    code: str
    weight: float  # share of the traffic
    lat: float
    lon: float
    spread_deg: float  # standard deviation of locations away from hot spots
    eta_median_s: float
    hotspots: tuple[tuple[float, float, float], ...]  # (lat, lon, weight)


CITIES: tuple[City, ...] = (
    City("São Paulo", "sao", 0.30, -23.5505, -46.6333, 0.06, 480.0, (
        (-23.5614, -46.6559, 5.0),  # Avenida Paulista
        (-23.4356, -46.4731, 3.0),  # Guarulhos airport
        (-23.5667, -46.6917, 2.0),  # Pinheiros
        (-23.5503, -46.6339, 1.0),  # Sé
    )),
    City("New York", "nyc", 0.22, 40.7128, -74.0060, 0.05, 420.0, (
        (40.7580, -73.9855, 5.0),  # Times Square
        (40.6413, -73.7781, 3.0),  # JFK
        (40.7506, -73.9935, 2.0),  # Penn Station
        (40.7081, -73.9571, 1.0),  # Williamsburg
    )),
    City("London", "lon", 0.15, 51.5074, -0.1278, 0.06, 390.0, (
        (51.5152, -0.1419, 4.0),  # Oxford Circus
        (51.4700, -0.4543, 3.0),  # Heathrow
        (51.5308, -0.1238, 2.0),  # King's Cross
        (51.5054, -0.0235, 1.0),  # Canary Wharf
    )),
    City("Bengaluru", "blr", 0.12, 12.9716, 77.5946, 0.06, 540.0, (
        (12.9756, 77.6050, 4.0),  # MG Road
        (12.9352, 77.6245, 3.0),  # Koramangala
        (13.1986, 77.7066, 2.0),  # Kempegowda airport
        (12.9698, 77.7500, 1.0),  # Whitefield
    )),
    City("Mexico City", "mex", 0.08, 19.4326, -99.1332, 0.05, 450.0, (
        (19.4326, -99.1332, 3.0),  # Zócalo
        (19.4333, -99.1900, 2.0),  # Polanco
        (19.4361, -99.0719, 2.0),  # AICM airport
    )),
    City("San Francisco", "sfo", 0.06, 37.7749, -122.4194, 0.04, 300.0, (
        (37.7880, -122.4075, 3.0),  # Union Square
        (37.6213, -122.3790, 2.0),  # SFO
        (37.7946, -122.3999, 2.0),  # Financial District
    )),
    City("Singapore", "sin", 0.045, 1.3521, 103.8198, 0.05, 330.0, (
        (1.2834, 103.8607, 3.0),  # Marina Bay
        (1.3644, 103.9915, 2.0),  # Changi
        (1.3048, 103.8318, 2.0),  # Orchard Road
    )),
    City("Nairobi", "nbo", 0.025, -1.2921, 36.8219, 0.05, 510.0, (
        (-1.2864, 36.8172, 3.0),  # CBD
        (-1.3192, 36.9278, 1.0),  # JKIA
        (-1.2676, 36.8108, 2.0),  # Westlands
    )),
)

SCHEMA = pa.schema([
    pa.field("event_id", pa.string(), nullable=False),
    pa.field("event_time", TIMESTAMP),
    pa.field("ingest_time", TIMESTAMP),
    pa.field("event_type", pa.string()),
    pa.field("city", pa.string()),
    pa.field("lat", pa.float64()),
    pa.field("lon", pa.float64()),
    pa.field("rider_id", pa.string()),
    pa.field("driver_id", pa.string()),
    pa.field("available", pa.bool_()),
    pa.field("eta_seconds", pa.float64()),
    pa.field("device_id", pa.string()),
])


@dataclass(frozen=True, slots=True)
class _People:
    """Riders and drivers of every city, one device each. Index arrays point into `ids`/`devices`."""

    ids: pa.Array
    devices: pa.Array
    riders: tuple[np.ndarray, ...]  # per city: global indexes of its riders
    drivers: tuple[np.ndarray, ...]
    driver_availability: np.ndarray  # per person: how often a driver reports available


@dataclass(frozen=True, slots=True)
class _Events:
    """Column arrays before they become a table; -1 marks a missing person, NaN a missing ETA."""

    true_us: np.ndarray
    kind: np.ndarray
    city: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    rider: np.ndarray
    driver: np.ndarray
    device_owner: np.ndarray
    available: np.ndarray  # 0/1, -1 when not a ping
    eta: np.ndarray

    @staticmethod
    def concat(parts: list[_Events]) -> _Events:
        return _Events(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Events.__slots__))

    def take(self, index: np.ndarray) -> _Events:
        return _Events(*(getattr(self, f)[index] for f in _Events.__slots__))


def generate_rides(start_us: int, duration_us: int, rate_per_min: int, seed: int = 7) -> pa.Table:
    """About `rate_per_min` ride events a minute whose true time is in [start_us, start_us + duration_us).

    Rows come in arrival (`ingest_time`) order. On top of the `rate_per_min * minutes` events come the
    duplicate deliveries; the broken rows are some of those events, damaged.
    """
    if duration_us <= 0 or rate_per_min <= 0:
        raise ValueError(f"duration_us and rate_per_min must be positive, got {duration_us} and {rate_per_min}")
    rng = np.random.default_rng(seed)
    total = max(1, round(rate_per_min * duration_us / MINUTE_US))
    end_us = start_us + duration_us
    weights = np.array([c.weight for c in CITIES])
    weights /= weights.sum()

    requests_per_min = rate_per_min * (1 - PING_SHARE) / _EVENTS_PER_RIDE
    people = _people(rng, weights, requests_per_min, rate_per_min * PING_SHARE)
    rides = _rides(rng, people, weights, round(requests_per_min * (duration_us + RIDE_LEAD_US) / MINUTE_US),
                   start_us - RIDE_LEAD_US, end_us)
    rides = rides.take(np.flatnonzero((rides.true_us >= start_us) & (rides.true_us < end_us)))
    if len(rides.true_us) > total:
        rides = rides.take(np.sort(rng.choice(len(rides.true_us), total, replace=False)))
    pings = _pings(rng, people, weights, total - len(rides.true_us), start_us, end_us)
    events = _Events.concat([rides, pings])
    return _deliver(rng, people, events)


# Expected events per ride request: the request, then either a rider cancel or an accept, and an accepted
# ride ends completed or cancelled.
_EVENTS_PER_RIDE = 1 + RIDER_CANCELS + 2 * (1 - RIDER_CANCELS)


def _people(rng: np.random.Generator, weights: np.ndarray, requests_per_min: float, pings_per_min: float) -> _People:
    n_riders = np.maximum(20, np.round(weights * max(200.0, requests_per_min * 60))).astype(int)
    n_drivers = np.maximum(3, np.round(weights * pings_per_min / PINGS_PER_DRIVER_PER_MIN)).astype(int)
    ids: list[str] = []
    riders: list[np.ndarray] = []
    drivers: list[np.ndarray] = []
    for city, rider_count, driver_count in zip(CITIES, n_riders.tolist(), n_drivers.tolist(), strict=True):
        riders.append(np.arange(len(ids), len(ids) + rider_count))
        ids.extend(f"rider-{city.code}-{i:06d}" for i in range(rider_count))
        drivers.append(np.arange(len(ids), len(ids) + driver_count))
        ids.extend(f"driver-{city.code}-{i:05d}" for i in range(driver_count))
    return _People(
        ids=pa.array(ids, pa.string()),
        devices=_hex_strings(rng, len(ids), 12, prefix="dev-"),
        riders=tuple(riders),
        drivers=tuple(drivers),
        driver_availability=rng.beta(6, 3, len(ids)),
    )


def _rides(
    rng: np.random.Generator, people: _People, weights: np.ndarray, n: int, start_us: int, end_us: int
) -> _Events:
    """Ride lifecycles starting in [start_us, end_us); later steps may fall after `end_us` (the caller trims)."""
    requested = rng.integers(start_us, end_us, n)
    city = rng.choice(len(CITIES), n, p=weights)
    lat, lon = _locations(rng, city)
    rider = _pick(rng, people.riders, city, skew=1.5)
    driver = _pick(rng, people.drivers, city, skew=1.0)
    eta_median = np.array([c.eta_median_s for c in CITIES])[city]
    eta = np.round(np.clip(eta_median * rng.lognormal(0.0, 0.45, n), 45.0, 2400.0), 1)
    eta[rng.random(n) < ETA_NULL_SHARE] = np.nan

    rider_cancels = rng.random(n) < RIDER_CANCELS
    accepted_at = requested + _seconds(np.clip(rng.lognormal(np.log(15.0), 0.7, n), 2.0, 120.0))
    cancelled_after_accept = ~rider_cancels & (rng.random(n) < CANCELLED_AFTER_ACCEPT)
    completed = ~rider_cancels & ~cancelled_after_accept
    trip_s = np.nan_to_num(eta, nan=360.0) + np.clip(rng.lognormal(np.log(900.0), 0.5, n), 180.0, 3600.0)
    cancel_at = np.where(
        rider_cancels,
        requested + _seconds(rng.uniform(10.0, 180.0, n)),
        accepted_at + _seconds(rng.uniform(30.0, 400.0, n)),
    )
    drop_lat, drop_lon = _locations(rng, city)
    near_lat = lat + rng.normal(0.0, 0.008, n)
    near_lon = lon + rng.normal(0.0, 0.008, n)
    no_one = np.full(n, -1)
    no_eta = np.full(n, np.nan)
    no_flag = np.full(n, -1)

    def step(mask: np.ndarray, kind: int, at: np.ndarray, lat_: np.ndarray, lon_: np.ndarray,
             driver_: np.ndarray, owner: np.ndarray, eta_: np.ndarray) -> _Events:
        return _Events(at[mask], np.full(int(mask.sum()), kind), city[mask], lat_[mask], lon_[mask],
                       rider[mask], driver_[mask], owner[mask], no_flag[mask], eta_[mask])

    every = np.ones(n, dtype=bool)
    return _Events.concat([
        step(every, REQUESTED, requested, lat, lon, no_one, rider, eta),
        step(~rider_cancels, ACCEPTED, accepted_at, near_lat, near_lon, driver, driver, no_eta),
        step(rider_cancels, CANCELLED, cancel_at, lat, lon, no_one, rider, no_eta),
        step(cancelled_after_accept, CANCELLED, cancel_at, lat, lon, driver, rider, no_eta),
        step(completed, COMPLETED, accepted_at + _seconds(trip_s), drop_lat, drop_lon, driver, driver, no_eta),
    ])


def _pings(rng: np.random.Generator, people: _People, weights: np.ndarray, n: int, start_us: int,
           end_us: int) -> _Events:
    n = max(0, n)
    city = rng.choice(len(CITIES), n, p=weights)
    lat, lon = _locations(rng, city)
    driver = _pick(rng, people.drivers, city, skew=1.0)
    available = (rng.random(n) < people.driver_availability[driver]).astype(int)
    return _Events(rng.integers(start_us, end_us, n), np.full(n, PING), city, lat, lon, np.full(n, -1), driver,
                   driver, available, np.full(n, np.nan))


def _deliver(rng: np.random.Generator, people: _People, events: _Events) -> pa.Table:
    """Stamp device clocks and arrival times, damage a few rows, redeliver a few, order by arrival."""
    n = len(events.true_us)
    event_us = events.true_us + _clock_skew(rng, events.device_owner, len(people.ids))[events.device_owner]
    draw = rng.random(n)
    delay_s = np.select(
        [draw < TUNNEL_SHARE, draw < TUNNEL_SHARE + LATE_SHARE],
        [np.exp(rng.uniform(np.log(180.0), np.log(1800.0), n)), rng.uniform(30.0, 100.0, n)],
        np.clip(rng.lognormal(np.log(0.9), 0.6, n), 0.2, 5.0),
    )
    ingest_us = events.true_us + _seconds(delay_s)
    event_ids = _hex_strings(rng, n, 32)

    lat = events.lat.copy()
    event_missing = np.zeros(n, dtype=bool)
    broken = rng.choice(n, round(n * BAD_SHARE), replace=False)
    event_missing[broken[: len(broken) // 2]] = True
    lat[broken[len(broken) // 2 :]] += 180.0  # out of range whatever the city

    again = np.sort(rng.choice(n, round(n * DUPLICATE_SHARE), replace=False))
    rows = np.concatenate([np.arange(n), again])
    ingest_us = np.concatenate([ingest_us, ingest_us[again] + _seconds(rng.uniform(1.0, 120.0, len(again)))])
    order = rows[np.argsort(ingest_us, kind="stable")]
    ingest_us = np.sort(ingest_us, kind="stable")

    def people_column(index: np.ndarray) -> pa.Array:
        return people.ids.take(pa.array(index[order], mask=index[order] < 0))

    available = events.available[order]
    eta = events.eta[order]
    columns = {
        "event_id": event_ids.take(pa.array(order)),
        "event_time": pa.array(event_us[order], pa.int64(), mask=event_missing[order]).cast(TIMESTAMP),
        "ingest_time": pa.array(ingest_us, pa.int64()).cast(TIMESTAMP),
        "event_type": pa.array(EVENT_TYPES).take(pa.array(events.kind[order])),
        "city": pa.array([c.name for c in CITIES]).take(pa.array(events.city[order])),
        "lat": pa.array(lat[order], pa.float64()),
        "lon": pa.array(events.lon[order], pa.float64()),
        "rider_id": people_column(events.rider),
        "driver_id": people_column(events.driver),
        "available": pa.array(available == 1, pa.bool_(), mask=available < 0),
        "eta_seconds": pa.array(eta, pa.float64(), mask=np.isnan(eta)),
        "device_id": people.devices.take(pa.array(events.device_owner[order])),
    }
    return pa.Table.from_pydict(columns, schema=SCHEMA)


def _clock_skew(rng: np.random.Generator, owner: np.ndarray, people: int) -> np.ndarray:
    """Per device, how far its clock runs ahead: 0 for all but a few, which together send ~SKEWED_SHARE of events.

    The busiest devices that each stay under that share are picked first, so it takes a few, not hundreds.
    """
    sent = np.bincount(owner, minlength=people)
    candidates = rng.permutation(np.flatnonzero((sent > 0) & (sent <= SKEWED_SHARE * len(owner))))
    candidates = candidates[np.argsort(-sent[candidates], kind="stable")]
    reached = np.cumsum(sent[candidates]) >= SKEWED_SHARE * len(owner)
    chosen = candidates[: int(np.argmax(reached)) + 1 if reached.any() else len(candidates)]
    skew = np.zeros(people, dtype=np.int64)
    skew[chosen] = rng.integers(2 * MINUTE_US, 9 * MINUTE_US, len(chosen))
    return skew


def _locations(rng: np.random.Generator, city: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points near a hot spot of their city (weighted), or anywhere around the city centre."""
    n = len(city)
    lat = np.empty(n)
    lon = np.empty(n)
    near_hotspot = rng.random(n) < HOTSPOT_SHARE
    for index, spec in enumerate(CITIES):
        here = np.flatnonzero(city == index)
        spots = np.array([(a, o) for a, o, _ in spec.hotspots])
        spot_weights = np.array([w for _, _, w in spec.hotspots])
        chosen = spots[rng.choice(len(spots), len(here), p=spot_weights / spot_weights.sum())]
        hot = near_hotspot[here]
        lat[here] = np.where(hot, chosen[:, 0] + rng.normal(0.0, HOTSPOT_SD_DEG, len(here)),
                             spec.lat + rng.normal(0.0, spec.spread_deg, len(here)))
        lon[here] = np.where(hot, chosen[:, 1] + rng.normal(0.0, HOTSPOT_SD_DEG, len(here)),
                             spec.lon + rng.normal(0.0, spec.spread_deg, len(here)))
    return lat, lon


def _pick(rng: np.random.Generator, pools: tuple[np.ndarray, ...], city: np.ndarray, skew: float) -> np.ndarray:
    """A person of each event's city; `skew > 1` makes a few people much busier than the rest."""
    sizes = np.array([len(p) for p in pools])[city]
    offsets = np.array([p[0] for p in pools])[city]
    picked: np.ndarray = offsets + np.minimum((sizes * rng.random(len(city)) ** skew).astype(int), sizes - 1)
    return picked


def _seconds(values: np.ndarray) -> np.ndarray:
    """Seconds to whole microseconds: real timestamps carry sub-millisecond digits."""
    return np.round(values * US).astype(np.int64)


def _hex_strings(rng: np.random.Generator, n: int, width: int, prefix: str = "") -> pa.Array:
    """n random hex ids of `width` digits, built as one Arrow buffer (no per-row Python)."""
    digits = rng.bytes((width + 1) // 2 * n).hex()
    row = len(prefix) + width
    rows = np.frombuffer(digits.encode(), dtype=np.uint8).reshape(n, -1)[:, :width]
    if prefix:
        rows = np.hstack([np.tile(np.frombuffer(prefix.encode(), dtype=np.uint8), (n, 1)), rows])
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(rows)))


def describe(table: pa.Table) -> dict[str, Any]:
    """Counts for the demo: per type, per city, late arrivals, duplicate deliveries, skewed clocks, broken rows."""
    event_us = pc.cast(table["event_time"], pa.int64())
    ingest_us = pc.cast(table["ingest_time"], pa.int64())
    delay = pc.subtract(ingest_us, event_us)
    rows = table.num_rows
    distinct = pc.count_distinct(table["event_id"]).as_py()
    late = pc.sum(pc.greater(delay, LATE_THRESHOLD_US)).as_py() or 0
    skewed = pc.sum(pc.less(delay, 0)).as_py() or 0
    broken = pc.sum(pc.is_valid(quarantine_reasons(table))).as_py() or 0
    bounds = pc.min_max(event_us).as_py()

    def counts(column: str) -> dict[str, int]:
        found = pc.value_counts(table[column]).to_pylist()
        return {c["values"]: c["counts"] for c in sorted(found, key=lambda c: (-c["counts"], str(c["values"])))}

    def share(count: int) -> float:
        return round(count / rows, 5) if rows else 0.0

    return {
        "rows": rows,
        "distinct_events": distinct,
        "duplicates": rows - distinct,
        "duplicate_share": share(rows - distinct),
        "late": late,
        "late_share": share(late),
        "skewed": skewed,
        "skewed_share": share(skewed),
        "broken": broken,
        "first_event": _iso(bounds["min"]),
        "last_event": _iso(bounds["max"]),
        "by_type": counts("event_type"),
        "by_city": counts("city"),
    }


def _iso(us: int | None) -> str | None:
    return None if us is None else iso(us)
