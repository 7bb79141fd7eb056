"""The event log contract: hour partitions of event_time, quarantine instead of loss, pruned reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from parity.errors import DataError
from parity.events import (
    HOUR_US,
    REQUIRED_COLUMNS,
    TIMESTAMP,
    newest_arrival_us,
    read_events,
    sources,
    write_events,
)

US = 1_000_000
T0 = int(datetime(2026, 11, 26, 8, tzinfo=UTC).timestamp()) * US  # 08:00 UTC, an hour boundary


def events(times_us: list[int | None], **extra: list[object]) -> pa.Table:
    """One event per time: ids e0, e1, ...; arrival 1.5 s after the event; extra columns as given."""
    columns: dict[str, object] = {
        "event_id": [f"e{i}" for i in range(len(times_us))],
        "event_time": pa.array(times_us, pa.int64()).cast(TIMESTAMP),
        "ingest_time": pa.array([None if t is None else t + 1_500_000 for t in times_us], pa.int64()).cast(TIMESTAMP),
    }
    columns.update(extra)
    return pa.table(columns)


@pytest.fixture
def three_hours() -> pa.Table:
    """Two events in each of 08:00, 09:00 and 10:00 UTC, with sub-millisecond digits."""
    times = [T0 + 7, T0 + HOUR_US - 1, T0 + HOUR_US, T0 + HOUR_US + 123_456_789, T0 + 2 * HOUR_US + 5, T0 + 3 * HOUR_US - 3]
    return events(times, city=["a", "b", "c", "d", "e", "f"], lat=[1.0] * 6, lon=[2.0] * 6)


def ids(table: pa.Table) -> list[str]:
    return sorted(table["event_id"].to_pylist())


def test_round_trip_returns_every_row_with_its_values(tmp_path: Path, three_hours: pa.Table) -> None:
    result = write_events(three_hours, tmp_path / "log", "rides", tmp_path / "q")
    back = read_events(tmp_path / "log", "rides")
    assert result.rows_written == 6 and result.rows_quarantined == 0 and result.quarantine_file is None
    assert back.sort_by("event_id").equals(three_hours.sort_by("event_id"))
    assert back.schema.field("event_time").type == TIMESTAMP
    assert back.schema.field("ingest_time").type == TIMESTAMP


def test_each_row_lands_in_the_utc_hour_partition_of_its_event_time(tmp_path: Path, three_hours: pa.Table) -> None:
    result = write_events(three_hours, tmp_path / "log", "rides", tmp_path / "q")
    source = tmp_path / "log" / "rides"
    assert [p.relative_to(source).as_posix() for p in result.partitions] == [
        "date=2026-11-26/hour=08",
        "date=2026-11-26/hour=09",
        "date=2026-11-26/hour=10",
    ]
    for hour, file in enumerate(result.files):
        assert file.parent == result.partitions[hour] and file.suffix == ".parquet"
        stored = pq.read_table(file)
        assert stored.schema.field("event_time").type == TIMESTAMP
        hour_start = T0 + hour * HOUR_US
        micros = pc.cast(stored["event_time"], pa.int64()).to_pylist()
        assert len(micros) == 2 and all(hour_start <= t < hour_start + HOUR_US for t in micros)


def test_a_day_boundary_starts_a_new_date_partition(tmp_path: Path) -> None:
    result = write_events(events([T0 - 8 * HOUR_US - 1, T0 - 8 * HOUR_US]), tmp_path / "log", "rides", tmp_path / "q")
    assert [p.relative_to(tmp_path / "log" / "rides").as_posix() for p in result.partitions] == [
        "date=2026-11-25/hour=23",
        "date=2026-11-26/hour=00",
    ]


def test_a_second_write_appends_rather_than_replaces(tmp_path: Path) -> None:
    write_events(events([T0 + 1]), tmp_path / "log", "rides", tmp_path / "q")
    write_events(events([T0 + 2]).set_column(0, "event_id", pa.array(["later"])), tmp_path / "log", "rides", tmp_path / "q")
    assert ids(read_events(tmp_path / "log", "rides")) == ["e0", "later"]


def test_read_opens_only_the_hour_partitions_the_range_touches(tmp_path: Path, three_hours: pa.Table) -> None:
    result = write_events(three_hours, tmp_path / "log", "rides", tmp_path / "q")
    for outside in (result.files[0], result.files[2]):
        outside.write_bytes(b"not parquet: opening this file must fail")

    middle = read_events(tmp_path / "log", "rides", T0 + HOUR_US, T0 + 2 * HOUR_US)

    assert ids(middle) == ["e2", "e3"]
    with pytest.raises(DataError, match="unreadable Parquet"):  # the corrupted files would be noticed if opened
        read_events(tmp_path / "log", "rides", T0 + HOUR_US - 1, T0 + 2 * HOUR_US)


def test_range_is_start_inclusive_end_exclusive_to_the_microsecond(tmp_path: Path, three_hours: pa.Table) -> None:
    write_events(three_hours, tmp_path / "log", "rides", tmp_path / "q")
    got = read_events(tmp_path / "log", "rides", T0 + HOUR_US - 1, T0 + HOUR_US + 123_456_789)
    assert ids(got) == ["e1", "e2"]
    assert ids(read_events(tmp_path / "log", "rides", start_us=T0 + 2 * HOUR_US)) == ["e4", "e5"]
    assert ids(read_events(tmp_path / "log", "rides", end_us=T0 + 8)) == ["e0"]


def test_a_range_without_events_gives_an_empty_table_with_the_source_schema(tmp_path: Path, three_hours: pa.Table) -> None:
    write_events(three_hours, tmp_path / "log", "rides", tmp_path / "q")
    empty = read_events(tmp_path / "log", "rides", T0 + 30 * HOUR_US, T0 + 31 * HOUR_US)
    assert empty.num_rows == 0
    assert empty.schema.names == three_hours.schema.names
    assert empty.schema.field("event_time").type == TIMESTAMP


def test_bad_rows_go_to_quarantine_with_reasons_and_counts(tmp_path: Path) -> None:
    table = pa.table({
        "event_id": ["ok", "", "   ", None, "no-time", "no-arrival", "north", "nan", "east", "no-lat", "edge"],
        "event_time": pa.array([T0, T0, T0, T0, None, T0, T0, T0, T0, T0, T0], pa.int64()).cast(TIMESTAMP),
        "ingest_time": pa.array([T0, T0, T0, T0, T0, None, T0, T0, T0, T0, T0], pa.int64()).cast(TIMESTAMP),
        "lat": [10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 90.5, float("nan"), 10.0, None, -90.0],
        "lon": [20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0, -180.01, 20.0, 180.0],
    })

    result = write_events(table, tmp_path / "log", "rides", tmp_path / "q")

    assert (result.rows_written, result.rows_quarantined) == (2, 9)
    assert ids(read_events(tmp_path / "log", "rides")) == ["edge", "ok"]
    assert result.quarantine_file is not None
    assert result.quarantine_file.parent == tmp_path / "q" / "rides"
    held = pq.read_table(result.quarantine_file)
    assert held.schema.names == [*table.schema.names, "reason"]
    reasons = dict(zip(held["event_id"].to_pylist(), held["reason"].to_pylist(), strict=True))
    assert reasons == {
        "": "event_id is empty",
        "   ": "event_id is empty",
        None: "event_id is null",
        "no-time": "event_time is null",
        "no-arrival": "ingest_time is null",
        "north": "lat out of range [-90, 90]",
        "nan": "lat is NaN",
        "east": "lon out of range [-180, 180]",
        "no-lat": "lat is null",
    }


def test_every_reason_of_a_row_is_recorded(tmp_path: Path) -> None:
    table = pa.table({
        "event_id": [None],
        "event_time": pa.array([None], TIMESTAMP),
        "ingest_time": pa.array([T0], pa.int64()).cast(TIMESTAMP),
        "lat": [-91.0],
        "lon": [float("nan")],
    })
    result = write_events(table, tmp_path / "log", "rides", tmp_path / "q")
    assert result.quarantine_file is not None
    assert pq.read_table(result.quarantine_file)["reason"].to_pylist() == [
        "event_id is null; event_time is null; lat out of range [-90, 90]; lon is NaN"
    ]


def test_coordinates_are_only_checked_when_the_table_has_them(tmp_path: Path) -> None:
    result = write_events(events([T0]), tmp_path / "log", "clicks", tmp_path / "q")
    assert (result.rows_written, result.rows_quarantined) == (1, 0)


@pytest.mark.parametrize("column", REQUIRED_COLUMNS)
def test_a_missing_required_column_is_a_data_error_naming_it(tmp_path: Path, column: str) -> None:
    table = events([T0]).drop_columns([column])
    with pytest.raises(DataError, match=f"missing required column '{column}'"):
        write_events(table, tmp_path / "log", "rides", tmp_path / "q")
    assert not (tmp_path / "log" / "rides").exists() and not (tmp_path / "q").exists()


def test_a_timestamp_column_of_another_type_is_a_data_error(tmp_path: Path) -> None:
    table = events([T0]).set_column(1, "event_time", pa.array([T0], pa.int64()))
    with pytest.raises(DataError, match="column 'event_time' has type int64"):
        write_events(table, tmp_path / "log", "rides", tmp_path / "q")


def test_reading_a_source_never_written_is_a_data_error_saying_to_generate(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"rides.*run `parity generate` first") as caught:
        read_events(tmp_path / "log", "rides")
    assert caught.value.path == str(tmp_path / "log" / "rides")
    with pytest.raises(DataError, match="run `parity generate` first"):
        newest_arrival_us(tmp_path / "log", "rides")


def test_files_from_other_writers_are_normalised_to_microseconds_utc(tmp_path: Path) -> None:
    """Another writer's files: nanoseconds (sub-microsecond digits), milliseconds, naive and non-UTC zones."""
    hour = tmp_path / "log" / "rides" / "date=2026-11-26" / "hour=08"
    hour.mkdir(parents=True)
    ns = T0 * 1000 + 1_234_567  # 1.234567 ms after 08:00 -> floors to 1234 us
    pq.write_table(pa.table({
        "event_id": pa.array(["ns"], pa.large_string()),
        "event_time": pa.array([ns], pa.timestamp("ns")),
        "ingest_time": pa.array([ns + 999], pa.timestamp("ns", tz="America/Sao_Paulo")),
    }), hour / "ns.parquet")
    pq.write_table(pa.table({
        "event_id": ["ms"],
        "event_time": pa.array([T0 // 1000 + 5], pa.timestamp("ms", tz="UTC")),
        "ingest_time": pa.array([T0 // 1000 + 6], pa.timestamp("ms")),
    }), hour / "ms.parquet")
    (hour / "_SUCCESS").write_bytes(b"")

    got = read_events(tmp_path / "log", "rides").sort_by("event_id")

    assert got.schema.field("event_id").type == pa.string()
    assert got.schema.field("event_time").type == TIMESTAMP and got.schema.field("ingest_time").type == TIMESTAMP
    assert pc.cast(got["event_time"], pa.int64()).to_pylist() == [T0 + 5000, T0 + 1234]
    assert pc.cast(got["ingest_time"], pa.int64()).to_pylist() == [T0 + 6000, T0 + 1235]
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 6000


def test_newest_arrival_is_the_largest_ingest_time_across_partitions(tmp_path: Path, three_hours: pa.Table) -> None:
    # The newest arrival need not be in the newest partition: a late event of 08:00 arrived last.
    late = events([T0 + 10]).set_column(0, "event_id", pa.array(["late"]))
    late = late.set_column(2, "ingest_time", pa.array([T0 + 5 * HOUR_US], pa.int64()).cast(TIMESTAMP))
    write_events(three_hours, tmp_path / "log", "rides", tmp_path / "q")
    write_events(late, tmp_path / "log", "rides", tmp_path / "q")
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 5 * HOUR_US


def test_newest_arrival_reads_the_column_when_a_file_has_no_statistics(tmp_path: Path) -> None:
    hour = tmp_path / "log" / "rides" / "date=2026-11-26" / "hour=08"
    hour.mkdir(parents=True)
    pq.write_table(events([T0 + 3, T0 + 9, T0 + 4]), hour / "nostats.parquet", write_statistics=False)
    assert pq.ParquetFile(hour / "nostats.parquet").metadata.row_group(0).column(2).statistics is None
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 9 + 1_500_000


def test_sources_lists_the_written_sources(tmp_path: Path) -> None:
    assert sources(tmp_path / "log") == []
    write_events(events([T0]), tmp_path / "log", "rides", tmp_path / "q")
    write_events(events([T0]), tmp_path / "log", "clicks", tmp_path / "q")
    (tmp_path / "log" / "_tmp").mkdir()
    assert sources(tmp_path / "log") == ["clicks", "rides"]


def test_a_stray_directory_in_a_source_is_reported_not_skipped(tmp_path: Path) -> None:
    write_events(events([T0]), tmp_path / "log", "rides", tmp_path / "q")
    (tmp_path / "log" / "rides" / "date=2026-11-26" / "hour=8am").mkdir()
    with pytest.raises(DataError, match="hour=8am: not an hour=HH partition"):
        read_events(tmp_path / "log", "rides")
