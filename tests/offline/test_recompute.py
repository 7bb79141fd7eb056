"""parity.offline.recompute on the hand-made ride_events log (see tests/conftest.py for what is planted)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pyspark.sql import SparkSession

from parity.attribute import in_time_frame
from parity.errors import QueryError
from parity.in_time import in_time_query
from parity.offline import recompute, recompute_restricted
from parity.query import read_query
from parity.settings import Settings
from parity.spec import FeatureSpec, load_feature

REPO = Path(__file__).resolve().parents[2]
BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)


def at(minute: int, second: int = 0) -> int:
    """Microseconds of BASE + minutes + seconds."""
    moment = BASE + dt.timedelta(minutes=minute, seconds=second)
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


def rows(frame: pd.DataFrame, *columns: str) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """{(keys..., window_start in minutes after BASE): (columns...)}."""
    out = {}
    for record in frame.to_dict("records"):
        start = record["window_start"]
        cell = (record[frame.columns[0]], int((start - pd.Timestamp(BASE)).total_seconds() // 60))
        out[cell] = tuple(None if pd.isna(record[c]) else record[c] for c in columns)
    return out


def in_time_rows(method: str, spec: FeatureSpec, settings: Settings, cells: pd.DataFrame, *values: str) -> dict:
    """The cells' in-time values, as `rows` gives them: by the second query (`per_phase`) or by the recompute's
    own in-time columns (`one_pass`)."""
    if method == "per_phase":
        return rows(recompute_restricted(spec, settings, cells), *values)
    in_time = in_time_query(read_query(spec, REPO), spec.source, (spec.allowed_lateness_us,))
    assert in_time is not None
    full = recompute(spec, settings, at(0), at(15), cells=cells, in_time=in_time)
    return rows(in_time_frame(full, spec, in_time, 0), *values)


def one_minute_feature(
    settings: Settings, project: Path, name: str, key: str, value: str, sql: str
) -> tuple[FeatureSpec, Settings]:
    """A project in `project` holding feature `name` (1-minute windows over ride_events) with the offline `sql`."""
    (project / "realtime_jobs").mkdir()
    (project / "offline_queries").mkdir()
    (project / "realtime_jobs" / f"{name}.yaml").write_text(
        f"feature: {name}\nsource: ride_events\nkeys: [{key}]\nwindow: {{size: 1m}}\nvalues: {{{value}: {{}}}}\n"
        f"transform_ref: realtime_jobs/{name}.py:Job\n"
    )
    (project / "offline_queries" / f"{name}.sql").write_text(sql)
    return load_feature(name, project), dataclasses.replace(settings, project=project)


def test_ride_requests_count_a_duplicate_delivery_once(spark: SparkSession, ride_events_settings: Settings) -> None:
    spec = load_feature("ride_requests", REPO)
    frame = recompute(spec, ride_events_settings, at(0), at(5))
    assert rows(frame, "requests") == {
        ("9q8yyk", 0): (4,),  # r1, r2 (twice delivered), r3 at 10:00:59.999999, late1
        ("9q8yyk", 1): (1,),
        ("9q8yyk", 2): (1,),  # r6 twice delivered
        ("9q8yyk", 4): (1,),
        ("dr5reg", 0): (1,),
        ("dr5reg", 2): (1,),
    }


def test_recompute_returns_the_spec_columns_with_utc_microsecond_windows(
    spark: SparkSession, ride_events_settings: Settings
) -> None:
    spec = load_feature("ride_requests", REPO)
    frame = recompute(spec, ride_events_settings, at(0), at(2))
    assert list(frame.columns) == ["geohash6", "window_start", "window_end", "requests"]
    assert str(frame["window_start"].dtype) == "datetime64[us, UTC]"
    assert str(frame["window_end"].dtype) == "datetime64[us, UTC]"
    assert (frame["window_end"] - frame["window_start"] == pd.Timedelta(minutes=1)).all()
    assert frame["window_start"].min() == pd.Timestamp(BASE)


def test_avg_eta_averages_a_duplicate_delivery_once(spark: SparkSession, ride_events_settings: Settings) -> None:
    spec = load_feature("avg_eta", REPO)
    frame = recompute(spec, ride_events_settings, at(0), at(10))
    values = rows(frame, "avg_eta_seconds")
    assert set(values) == {("9q8yyk", 0), ("dr5reg", 0)}, "windows without an ETA are absent, not zero"
    assert values[("9q8yyk", 0)][0] == pytest.approx(300.0, rel=1e-12)  # (100 + 200 + 600) / 3, not 340
    assert values[("dr5reg", 0)][0] == pytest.approx(50.0)


@pytest.fixture(scope="module")
def demand_supply_10_05_to_10_07(spark: SparkSession, ride_events_settings: Settings) -> pd.DataFrame:
    """demand_supply recomputed for windows starting in [10:05, 10:07)."""
    return recompute(load_feature("demand_supply", REPO), ride_events_settings, at(5), at(7))


def test_demand_supply_ratio_is_null_without_available_drivers(demand_supply_10_05_to_10_07: pd.DataFrame) -> None:
    values = rows(demand_supply_10_05_to_10_07, "requests", "drivers", "ratio")
    assert values[("dr5re", 5)] == (1, 0, None)


def test_demand_supply_sliding_windows_at_the_range_edge_see_all_their_events(
    demand_supply_10_05_to_10_07: pd.DataFrame,
) -> None:
    values = rows(demand_supply_10_05_to_10_07, "requests", "drivers", "ratio")
    # 10:06-10:11 needs events until 10:11 although the check range ends at 10:07.
    assert values[("9q8yy", 6)] == (3, 3, 1.0)
    assert values[("9q8yy", 5)] == (3, 2, 1.5)
    assert set(values) == {("9q8yy", 5), ("9q8yy", 6), ("dr5re", 5)}, "only windows starting in [10:05, 10:07)"


def test_available_drivers_counts_distinct_available_drivers(
    spark: SparkSession, ride_events_settings: Settings
) -> None:
    spec = load_feature("available_drivers", REPO)
    values = rows(recompute(spec, ride_events_settings, at(5), at(12)), "drivers")
    assert values == {("9q8yyk", 8): (2,), ("9q8yyk", 10): (1,), ("9q8yyk", 11): (1,)}


def test_recompute_keeps_only_the_requested_cells(spark: SparkSession, ride_events_settings: Settings) -> None:
    spec = load_feature("ride_requests", REPO)
    cells = pd.DataFrame(
        {
            "geohash6": ["9q8yyk", "dr5reg", "nowhere"],
            "window_start": pd.to_datetime([at(0), at(2), at(1)], unit="us", utc=True),
        }
    )
    frame = recompute(spec, ride_events_settings, at(0), at(5), cells=cells)
    assert rows(frame, "requests") == {("9q8yyk", 0): (4,), ("dr5reg", 2): (1,)}


@pytest.mark.parametrize("method", ["one_pass", "per_phase"])
def test_restricted_recompute_excludes_events_that_arrived_after_the_cutoff(
    spark: SparkSession, ride_events_settings: Settings, method: str
) -> None:
    spec = load_feature("ride_requests", REPO)
    cells = pd.DataFrame({"geohash6": ["9q8yyk", "9q8yyk", "dr5reg"], "window_start": [at(0), at(2), at(0)]})
    # late1 arrived at 10:04:00, after 10:00's cutoff 10:03:01; r2's second delivery is still one event.
    assert in_time_rows(method, spec, ride_events_settings, cells, "requests") == {("9q8yyk", 0): (3,), ("9q8yyk", 2): (1,), ("dr5reg", 0): (1,)}


@pytest.mark.parametrize("method", ["one_pass", "per_phase"])
def test_restricted_recompute_leaves_out_a_cell_whose_events_all_arrived_late(
    spark: SparkSession, ride_events_settings: Settings, method: str
) -> None:
    spec = load_feature("ride_requests", REPO)
    cells = pd.DataFrame({"geohash6": ["dr5reg", "9q8yyk"], "window_start": [at(2), at(1)]})
    full = rows(recompute(spec, ride_events_settings, at(0), at(5), cells=cells), "requests")
    restricted = in_time_rows(method, spec, ride_events_settings, cells, "requests")
    assert full == {("dr5reg", 2): (1,), ("9q8yyk", 1): (1,)}
    assert restricted == {("9q8yyk", 1): (1,)}


@pytest.mark.parametrize("method", ["one_pass", "per_phase"])
def test_restricted_recompute_of_sliding_windows_uses_each_windows_cutoff(
    spark: SparkSession, ride_events_settings: Settings, method: str
) -> None:
    spec = dataclasses.replace(load_feature("demand_supply", REPO), allowed_lateness_us=0)
    cells = pd.DataFrame({"geohash5": ["9q8yy", "9q8yy", "dr5re"], "window_start": [at(5), at(6), at(5)]})
    # late3 (10:09:00, arrived 10:10:30) missed 10:05-10:10's cutoff 10:10:01 but made 10:06-10:11's 10:11:01.
    values = in_time_rows(method, spec, ride_events_settings, cells, "requests", "drivers")
    assert values == {("9q8yy", 5): (2, 2), ("9q8yy", 6): (3, 3), ("dr5re", 5): (1, 0)}


def test_grouping_by_the_window_first_recomputes_as_grouping_by_the_key_first(
    spark: SparkSession, ride_events_settings: Settings, tmp_path: Path
) -> None:
    select = (
        "SELECT geohash(lat, lon, 6) AS geohash6, window.start AS window_start, window.end AS window_end, "
        "COUNT(DISTINCT event_id) AS requests FROM ride_events WHERE event_type = 'ride_requested' "
    )
    window_first, settings = one_minute_feature(
        ride_events_settings, tmp_path, "window_first", "geohash6", "requests",
        select + "GROUP BY window(event_time, '1 minute'), geohash(lat, lon, 6)",
    )
    frame = recompute(window_first, settings, at(0), at(5))
    expected = recompute(load_feature("ride_requests", REPO), ride_events_settings, at(0), at(5))
    assert rows(frame, "requests") == rows(expected, "requests")
    assert rows(frame, "requests")[("9q8yyk", 0)] == (4,)


def test_a_spark_error_is_a_one_line_query_error(
    spark: SparkSession, ride_events_settings: Settings, tmp_path: Path
) -> None:
    spec, settings = one_minute_feature(
        ride_events_settings, tmp_path, "broken", "city", "n",
        "SELECT city, window.start AS window_start, window.end AS window_end, SUM(no_such_column) AS n\n"
        "FROM ride_events GROUP BY city, window(event_time, '1 minute')",
    )
    with pytest.raises(QueryError) as caught:
        recompute(spec, settings, at(0), at(5))
    message = str(caught.value)
    assert message.startswith("offline query of broken: ")
    assert "no_such_column" in message
    assert "\n" not in message
    assert not math.isnan(len(message)) and len(message) < 400
