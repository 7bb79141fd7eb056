"""The example `ride_events` data: reproducible, and realistic in the shares the checks depend on."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from parity.events import TIMESTAMP, read_events, write_events
from parity.generate import EVENT_TYPES, describe, generate_rides
from parity.geo import geohash

US = 1_000_000
MINUTE_US = 60 * US
START = int(datetime(2026, 11, 26, 8, tzinfo=UTC).timestamp()) * US
DURATION = 30 * MINUTE_US
RATE = 1000


@pytest.fixture(scope="module")
def rides() -> pa.Table:
    """30 minutes at 1,000 events a minute, seed 7."""
    return generate_rides(START, DURATION, RATE, seed=7)


def delays_us(table: pa.Table) -> np.ndarray:
    delay = pc.subtract(pc.cast(table["ingest_time"], pa.int64()), pc.cast(table["event_time"], pa.int64()))
    values: np.ndarray = delay.to_numpy(zero_copy_only=False)
    return values


def test_same_seed_gives_the_identical_table_and_another_seed_does_not(rides: pa.Table) -> None:
    assert generate_rides(START, DURATION, RATE, seed=7).equals(rides)
    assert not generate_rides(START, DURATION, RATE, seed=8).equals(rides)


def test_schema_is_the_ride_events_contract(rides: pa.Table) -> None:
    assert [(f.name, f.type) for f in rides.schema] == [
        ("event_id", pa.string()),
        ("event_time", TIMESTAMP),
        ("ingest_time", TIMESTAMP),
        ("event_type", pa.string()),
        ("city", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("rider_id", pa.string()),
        ("driver_id", pa.string()),
        ("available", pa.bool_()),
        ("eta_seconds", pa.float64()),
        ("device_id", pa.string()),
    ]


def test_rate_times_minutes_distinct_events_arrive_in_ingest_order(rides: pa.Table) -> None:
    assert pc.count_distinct(rides["event_id"]).as_py() == RATE * DURATION // MINUTE_US
    ingest = pc.cast(rides["ingest_time"], pa.int64()).to_numpy()
    assert (np.diff(ingest) >= 0).all()


def test_event_times_keep_microsecond_precision(rides: pa.Table) -> None:
    micros = pc.cast(pc.drop_null(rides["event_time"]), pa.int64()).to_numpy()
    assert (micros % 1000 != 0).mean() > 0.99


def test_every_event_type_appears_with_its_own_fields(rides: pa.Table) -> None:
    by_type = {kind: rides.filter(pc.equal(rides["event_type"], kind)) for kind in EVENT_TYPES}
    assert all(t.num_rows > 0 for t in by_type.values())
    assert by_type["driver_ping"].num_rows > rides.num_rows / 3  # pings dominate a ride-hailing stream
    for kind, table in by_type.items():
        assert (table["available"].null_count == 0) == (kind == "driver_ping"), kind
        assert (table["driver_id"].null_count == 0) == (kind in ("driver_ping", "ride_accepted", "ride_completed")), kind
        assert (table["rider_id"].null_count == table.num_rows) == (kind == "driver_ping"), kind
        if kind != "ride_requested":
            assert table["eta_seconds"].null_count == table.num_rows, kind
    requested = by_type["ride_requested"]
    eta = pc.drop_null(requested["eta_seconds"]).to_numpy()
    assert 0.005 < requested["eta_seconds"].null_count / requested.num_rows < 0.08  # the ETA service times out
    assert eta.min() >= 30 and eta.max() <= 3600 and 180 < np.median(eta) < 900


def test_riders_and_drivers_keep_one_device_and_one_city(rides: pa.Table) -> None:
    pings = rides.filter(pc.equal(rides["event_type"], "driver_ping"))
    requests = rides.filter(pc.equal(rides["event_type"], "ride_requested"))
    for table, person in ((pings, "driver_id"), (requests, "rider_id")):
        pairs = table.select([person, "device_id", "city"]).group_by(person).aggregate(
            [("device_id", "count_distinct"), ("city", "count_distinct")]
        )
        assert pc.max(pairs["device_id_count_distinct"]).as_py() == 1
        assert pc.max(pairs["city_count_distinct"]).as_py() == 1
    assert pc.count_distinct(pings["driver_id"]).as_py() < pings.num_rows / 20  # drivers ping again and again


def test_a_few_cities_and_hot_spots_carry_most_events(rides: pa.Table) -> None:
    cities = describe(rides)["by_city"]
    assert len(cities) >= 6
    assert sum(list(cities.values())[:3]) / rides.num_rows >= 0.6
    valid = rides.filter(pc.less_equal(pc.abs(rides["lat"]), 90.0))
    cells = Counter(
        geohash(lat, lon, 6) for lat, lon in zip(valid["lat"].to_pylist(), valid["lon"].to_pylist(), strict=True)
    )
    counts = np.sort(np.array(list(cells.values())))[::-1]
    top = counts[: int(np.ceil(len(counts) * 0.2))]
    assert top.sum() / counts.sum() >= 0.6


def test_most_events_arrive_within_seconds_one_or_two_percent_a_minute_late_and_a_few_in_a_tunnel(rides: pa.Table) -> None:
    first_delivery = pc.index_in(rides["event_id"], value_set=rides["event_id"]).to_numpy() == np.arange(rides.num_rows)
    delay = delays_us(rides.filter(pa.array(first_delivery)))
    delay = delay[~np.isnan(delay.astype(float))]
    on_time = (delay >= 0.2 * US) & (delay <= 5 * US)
    late = (delay >= 30 * US) & (delay <= 100 * US)
    tunnel = (delay >= 180 * US) & (delay <= 1800 * US)
    assert on_time.mean() > 0.97
    assert 0.01 <= late.mean() <= 0.02
    assert 0 < tunnel.sum() and tunnel.mean() < 0.001
    assert 0.01 <= describe(rides)["late_share"] <= 0.03


def test_duplicates_repeat_event_and_payload_and_arrive_later(rides: pa.Table) -> None:
    stats = describe(rides)
    assert 0.003 <= stats["duplicate_share"] <= 0.007
    counts = pc.value_counts(rides["event_id"])
    repeated = counts.field("values").filter(pc.greater(counts.field("counts"), 1))
    copies = rides.filter(pc.is_in(rides["event_id"], repeated)).sort_by([("event_id", "ascending"), ("ingest_time", "ascending")])
    assert copies.num_rows == 2 * len(repeated) == 2 * stats["duplicates"]
    first, second = copies.take(np.arange(0, copies.num_rows, 2)), copies.take(np.arange(1, copies.num_rows, 2))
    payload = [c for c in rides.column_names if c != "ingest_time"]
    assert first.select(payload).equals(second.select(payload))
    assert pc.all(pc.greater(second["ingest_time"], first["ingest_time"])).as_py()


def test_a_few_devices_run_ahead_so_their_events_seem_to_arrive_before_they_happen(rides: pa.Table) -> None:
    ahead = rides.filter(pc.less(rides["ingest_time"], rides["event_time"]))
    devices = pc.count_distinct(ahead["device_id"]).as_py()
    assert 1 <= devices <= 30
    assert 0.0005 <= ahead.num_rows / rides.num_rows <= 0.01
    lead = -delays_us(ahead)
    assert lead.min() > 0 and lead.max() < 10 * MINUTE_US and np.median(lead) > MINUTE_US


def test_broken_rows_are_quarantined_when_written(tmp_path: Path, rides: pa.Table) -> None:
    result = write_events(rides, tmp_path / "log", "ride_events", tmp_path / "q")
    stats = describe(rides)
    assert result.rows_quarantined == stats["broken"]
    assert 0.0002 <= stats["broken"] / rides.num_rows <= 0.001
    assert result.rows_written + result.rows_quarantined == rides.num_rows
    assert result.quarantine_file is not None
    reasons = set(pq.read_table(result.quarantine_file)["reason"].to_pylist())
    assert reasons == {"event_time is null", "lat out of range [-90, 90]"}
    assert read_events(tmp_path / "log", "ride_events").num_rows == result.rows_written


def test_two_hours_at_two_thousand_a_minute_generate_in_seconds() -> None:
    began = time.perf_counter()
    table = generate_rides(START, 120 * MINUTE_US, 2000)
    elapsed = time.perf_counter() - began
    assert pc.count_distinct(table["event_id"]).as_py() == 240_000
    assert elapsed < 10.0, f"took {elapsed:.1f}s"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        generate_rides(START, 0, 100)
    with pytest.raises(ValueError, match="must be positive"):
        generate_rides(START, MINUTE_US, 0)
