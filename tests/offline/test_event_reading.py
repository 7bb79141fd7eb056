"""Which events a check reads: the grid-aligned event range, and only the hour partitions covering it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyspark.sql import SparkSession

from parity.errors import DataError
from parity.offline import event_files, event_range, read_events, recompute
from parity.settings import Settings
from parity.spec import Window, load_feature

REPO = Path(__file__).resolve().parents[2]
MINUTE = 60_000_000
HOUR = 60 * MINUTE
DAY_START = dt.datetime(2024, 5, 2, tzinfo=dt.UTC)
DAY_START_US = int(DAY_START.timestamp()) * 1_000_000


def test_event_range_of_tumbling_windows_is_the_check_range() -> None:
    assert event_range(Window(MINUTE, MINUTE), 10 * MINUTE, 20 * MINUTE) == (10 * MINUTE, 20 * MINUTE)


def test_event_range_of_sliding_windows_reaches_the_end_of_the_last_window() -> None:
    # windows 5m sliding by 1m starting 10:05 and 10:06 need events [10:05, 10:11)
    assert event_range(Window(5 * MINUTE, MINUTE), 5 * MINUTE, 7 * MINUTE) == (5 * MINUTE, 11 * MINUTE)


def test_event_range_aligns_unaligned_bounds_to_the_window_grid() -> None:
    # window starts in [10:00:30, 10:02:30) are 10:01 and 10:02
    assert event_range(Window(5 * MINUTE, MINUTE), 30_000_000, 150_000_000) == (MINUTE, 7 * MINUTE)


def test_event_range_is_empty_when_no_window_starts_in_the_range() -> None:
    lo, hi = event_range(Window(HOUR, HOUR), 10 * MINUTE, 20 * MINUTE)
    assert lo == hi


@given(
    slides=st.integers(1, 6),
    factor=st.integers(1, 5),
    start=st.integers(-10_000, 10_000),
    length=st.integers(0, 3_000),
)
def test_event_range_is_exactly_the_span_of_the_windows_in_range(
    slides: int, factor: int, start: int, length: int
) -> None:
    slide = slides * 7
    window = Window(size_us=slide * factor, slide_us=slide)
    end = start + length
    starts = [s for s in range(start - slide, end + slide) if s % slide == 0 and start <= s < end]
    lo, hi = event_range(window, start, end)
    if not starts:
        assert lo == hi
    else:
        assert (lo, hi) == (min(starts), max(starts) + window.size_us)


@pytest.fixture(scope="module")
def day_log(
    tmp_path_factory: pytest.TempPathFactory,
    event_log_writer: Callable[..., None],
    ride_event: Callable[..., dict[str, Any]],
) -> Path:
    """24 hours of ride requests, 6 per hour (one every 10 minutes), 2 files per hour."""
    root = tmp_path_factory.mktemp("day_log")
    rows = [
        ride_event(f"e{h}-{m}", DAY_START + dt.timedelta(hours=h, minutes=m), "ride_requested")
        for h in range(24)
        for m in range(0, 60, 10)
    ]
    event_log_writer(root, "ride_events", rows, files_per_hour=2)
    return root


def test_one_hour_range_lists_only_that_hours_files(day_log: Path, settings_over: Callable[[Path], Settings]) -> None:
    files = event_files(settings_over(day_log), "ride_events", DAY_START_US + 5 * HOUR, DAY_START_US + 6 * HOUR)
    assert [f.relative_to(day_log).as_posix() for f in files] == [
        "ride_events/date=2024-05-02/hour=05/part-0.parquet",
        "ride_events/date=2024-05-02/hour=05/part-1.parquet",
    ]


def test_spark_reads_only_the_covering_hours_of_a_day(
    spark: SparkSession, day_log: Path, settings_over: Callable[[Path], Settings]
) -> None:
    settings = settings_over(day_log)
    tumbling = event_range(Window(MINUTE, MINUTE), DAY_START_US + 5 * HOUR, DAY_START_US + 6 * HOUR)
    read = read_events(spark, settings, "ride_events", *tumbling).inputFiles()
    assert len(read) == 2 and all("hour=05" in f for f in read), read
    sliding = event_range(Window(5 * MINUTE, MINUTE), DAY_START_US + 5 * HOUR, DAY_START_US + 6 * HOUR)
    read = read_events(spark, settings, "ride_events", *sliding).inputFiles()
    assert sorted({f.split("/")[-2] for f in read}) == ["hour=05", "hour=06"], "4 extra minutes reach into 06"


def test_one_hour_recompute_over_a_day_counts_that_hour(
    spark: SparkSession, day_log: Path, settings_over: Callable[[Path], Settings]
) -> None:
    spec = load_feature("ride_requests", REPO)
    frame = recompute(spec, settings_over(day_log), DAY_START_US + 5 * HOUR, DAY_START_US + 6 * HOUR)
    assert frame["requests"].sum() == 6
    assert frame["window_start"].dt.hour.unique().tolist() == [5]


def test_missing_event_log_is_a_data_error_naming_the_path(
    tmp_path: Path, settings_over: Callable[[Path], Settings]
) -> None:
    with pytest.raises(DataError) as caught:
        event_files(settings_over(tmp_path), "ride_events", 0, HOUR)
    assert caught.value.path == str(tmp_path / "ride_events")
    assert str(tmp_path / "ride_events") in str(caught.value)


def test_range_without_partitions_is_a_data_error(day_log: Path, settings_over: Callable[[Path], Settings]) -> None:
    with pytest.raises(DataError, match=r"no event partitions cover 2024-05-03T01:00:00Z \.\. 2024-05-03T02:00:00Z"):
        event_files(settings_over(day_log), "ride_events", DAY_START_US + 25 * HOUR, DAY_START_US + 26 * HOUR)


def test_an_unreadable_event_file_is_a_one_line_error_naming_the_log(
    spark: SparkSession, ride_events_settings: Settings, tmp_path: Path
) -> None:
    import dataclasses
    import shutil

    from parity.errors import ParityError

    log = tmp_path / "events"
    shutil.copytree(ride_events_settings.event_log, log)
    for file in (log / "ride_events").rglob("*.parquet"):
        file.write_bytes(b"not parquet: the footer cannot be read")
    settings = dataclasses.replace(ride_events_settings, event_log=log)
    spec = load_feature("ride_requests", REPO)
    start = int(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000
    with pytest.raises(ParityError) as caught:
        recompute(spec, settings, start, start + 5 * MINUTE)
    message = str(caught.value)
    assert "\n" not in message
    assert "ride_events" in message
