"""`parity.testing`: the frame builders, and what `assert_parity` checks beyond a plain pass (lateness, the
settling of the last window, pandas frames, input that cannot enter the log, the session fixture)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from parity.geo import geohash
from parity.result import Cause
from parity.testing import (
    DEFAULT_CELL,
    SETTLING_EVENT,
    assert_parity,
    events,
    parity_spark,  # noqa: F401  (the plugin's fixture, used by test_parity_spark_fixture_is_the_session)
    ride_event,
)

REPO = Path(__file__).resolve().parents[2]
UTC = dt.UTC


def test_ride_event_fills_every_column_with_a_default_by_event_type() -> None:
    table = events(ride_event(), ride_event(event_type="driver_ping"), ride_event(event_type="ride_cancelled"))
    rows = table.to_pylist()
    assert [row["event_id"] for row in rows] == ["e1", "e2", "e3"]
    assert rows[0]["rider_id"] == "u1" and rows[0]["eta_seconds"] == 300.0 and rows[0]["driver_id"] is None
    assert rows[1]["driver_id"] == "d1" and rows[1]["available"] is True and rows[1]["rider_id"] is None
    assert rows[2]["eta_seconds"] is None and rows[2]["available"] is None
    assert all(row["device_id"] == f"dev-{row['event_id']}" for row in rows)
    assert all(geohash(row["lat"], row["lon"], 6) == DEFAULT_CELL for row in rows)
    assert rows[0]["ingest_time"] - rows[0]["event_time"] == dt.timedelta(seconds=1)  # on time by default


def test_ride_event_takes_iso_strings_datetimes_cells_delays_and_explicit_nulls() -> None:
    rows = events(
        ride_event("a", "2026-11-26T10:00:05", cell="dr5reg", delay="3m"),
        ride_event("b", dt.datetime(2026, 11, 26, 10, 0, 5), lat=1.5, lon=2.5,
                   ingest_time="2026-11-26T11:00:00+01:00", eta_seconds=None),
    ).to_pylist()
    moment = dt.datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC)
    assert rows[0]["event_time"] == moment == rows[1]["event_time"]
    assert rows[0]["ingest_time"] == moment + dt.timedelta(minutes=3)
    assert rows[1]["ingest_time"] == dt.datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    assert geohash(rows[0]["lat"], rows[0]["lon"], 6) == "dr5reg"
    assert (rows[1]["lat"], rows[1]["lon"], rows[1]["eta_seconds"]) == (1.5, 2.5, None)


@pytest.mark.parametrize(("fields", "words"), [
    ({"cell": "9q8yyk", "lat": 1.0, "lon": 2.0}, "cell or lat/lon"),
    ({"lat": 1.0}, "both lat and lon"),
    ({"ingest_time": "2026-11-26T10:00:00Z", "delay": "1s"}, "ingest_time or delay"),
    ({"event_time": "yesterday"}, "'yesterday' is not an ISO-8601 time"),
])
def test_ride_event_refuses_contradictory_fields(fields: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        ride_event("x", **fields)  # type: ignore[arg-type]


def test_events_names_an_unknown_column() -> None:
    with pytest.raises(ValueError, match="event 1: unknown column.s. colour"):
        events({**ride_event(), "colour": "red"})


def late_frame() -> pd.DataFrame:
    """ride_requests (2 minutes of lateness): one request of the 10:00 window arrives at 10:05, after its cutoff
    10:03:01, so the stream cannot count it; given as a pandas frame with ISO-string times."""
    frame = events(
        ride_event("r1", "2026-11-26T10:00:05Z"),
        ride_event("r2", "2026-11-26T10:00:20Z", ingest_time="2026-11-26T10:05:00Z"),
        ride_event("r3", "2026-11-26T10:01:10Z"),
    ).to_pandas()
    frame["event_time"] = frame["event_time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return frame


def test_late_arrival_is_allowed_by_default_and_fails_when_not(spark: SparkSession, tmp_path: Path) -> None:
    result = assert_parity("ride_requests", late_frame(), REPO)
    assert result.causes[Cause.LATE_ARRIVAL] == 1 and result.compared == 2
    with pytest.raises(AssertionError, match=r"1 of 2 cells diverge \(1 late_arrival\)") as failed:
        assert_parity("ride_requests", late_frame(), REPO, allow=(), workdir=tmp_path)  # a failure keeps its folder: pytest's
    assert "geohash6=9q8yyk  2026-11-26T10:00:00Z  requests  2" in str(failed.value)


def test_the_last_window_is_checked_although_the_frame_ends_inside_it(spark: SparkSession, tmp_path: Path) -> None:
    """Without the settling event the check would cut the 10:05 window as not final and compare only 10:00."""
    frame = events(ride_event("r1", "2026-11-26T10:00:05Z"), ride_event("r2", "2026-11-26T10:05:59Z"))
    result = assert_parity("ride_requests", frame, REPO, workdir=tmp_path)
    assert result.end == "2026-11-26T10:06:00Z" and result.unsettled is None
    assert [w.window_start for w in result.windows] == ["2026-11-26T10:00:00Z", "2026-11-26T10:05:00Z"]
    assert result.extra["events_read"] == 2  # the settling event is in no checked window
    log = pd.concat(pd.read_parquet(file) for file in (tmp_path / "events").rglob("*.parquet"))
    settling = log[log["event_id"] == SETTLING_EVENT]
    assert len(settling) == 1 and settling["event_time"].iloc[0] == pd.Timestamp("2026-11-26T10:08:01Z")


def test_a_row_the_log_would_quarantine_is_an_error_not_a_silent_drop(spark: SparkSession) -> None:
    frame = events(ride_event("r1", "2026-11-26T10:00:05Z"), ride_event("bad", "2026-11-26T10:00:06Z", lat=None, lon=1.0))
    with pytest.raises(ValueError, match=r"1 event\(s\) of the test frame cannot enter the event log \(lat is null\)"):
        assert_parity("ride_requests", frame, REPO)


def test_a_frame_no_side_has_cells_for_is_inconclusive(spark: SparkSession, tmp_path: Path) -> None:
    pings = events(ride_event("p1", "2026-11-26T10:00:05Z", "driver_ping"))
    with pytest.raises(AssertionError, match="inconclusive: no cell on either side"):
        assert_parity("ride_requests", pings, REPO, workdir=tmp_path)


def test_inputs_failing_their_data_expectations_are_inconclusive_with_the_expectation_named(
        spark: SparkSession, tmp_path: Path) -> None:
    """Every event happened 10 minutes after it arrived: a clock skew past the 5-minute bound."""
    skewed = events(ride_event(f"r{n}", f"2026-11-26T10:0{n}:05Z", ingest_time=f"2026-11-26T09:5{n}:05Z")
                    for n in range(3))
    with pytest.raises(AssertionError, match=r"inconclusive: events expectation failed: event_time at most 300s ahead"):
        assert_parity("ride_requests", skewed, REPO, workdir=tmp_path)


def test_parity_spark_fixture_is_the_session(parity_spark: SparkSession) -> None:  # noqa: F811
    assert parity_spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert parity_spark.sql("SELECT geohash(37.77374, -122.41516, 6) AS cell").first()["cell"] == DEFAULT_CELL
