"""Clock sanity: a row whose clock is off by more than `clock_skew_bound` (an ingest_time beyond now, an event_time
beyond its ingest_time) never decides what is settled and is counted where it is read; parity's own writer refuses
a time beyond now into a partition."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parity.errors import DataError
from parity.events import TIMESTAMP, arrivals, newest_arrival_us, read_event_range, write_events
from parity.units import HOUR_US, MINUTE_US

US = 1_000_000
T0 = int(datetime(2026, 11, 26, 8, tzinfo=UTC).timestamp()) * US
NOW = T0 + 10 * HOUR_US
BOUND = 5 * MINUTE_US
YEAR_2099 = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp()) * US


def rows(ids: list[str], event_us: list[int], ingest_us: list[int]) -> pa.Table:
    return pa.table({
        "event_id": ids,
        "event_time": pa.array(event_us, pa.int64()).cast(TIMESTAMP),
        "ingest_time": pa.array(ingest_us, pa.int64()).cast(TIMESTAMP),
    })


def planted_log(root: Path) -> Path:
    """Two sane events of 08:00 (newest arrival T0 + 2 min), and, written by another system straight into the
    08:00 partition, one arriving in 2099 and one stamped an hour after it arrived."""
    log = root / "log"
    write_events(rows(["a", "b"], [T0, T0 + MINUTE_US], [T0 + MINUTE_US, T0 + 2 * MINUTE_US]), log, "rides",
                 root / "q", now_us=NOW)
    hour = log / "rides" / "date=2026-11-26" / "hour=08"
    pq.write_table(rows(["future", "ahead"], [T0 + 3 * MINUTE_US, T0 + 59 * MINUTE_US],
                        [YEAR_2099, T0 - MINUTE_US]), hour / "other-system.parquet")
    return log


def test_a_skewed_clock_never_moves_the_newest_arrival_and_is_counted(tmp_path: Path) -> None:
    log = planted_log(tmp_path)
    found = arrivals(log, "rides", BOUND, NOW)
    assert (found.newest_us, found.skewed) == (T0 + 2 * MINUTE_US, 2)
    assert newest_arrival_us(log, "rides", BOUND, NOW) == T0 + 2 * MINUTE_US  # again, from the arrival index
    assert arrivals(log, "rides", BOUND, NOW).skewed == 2


def test_reading_an_hour_counts_its_skewed_rows(tmp_path: Path) -> None:
    read = read_event_range(planted_log(tmp_path), "rides", T0, T0 + HOUR_US, skew_bound_us=BOUND, now_us=NOW)
    assert read.events.num_rows == 4 and read.skewed == 2


def test_the_writer_quarantines_a_time_beyond_now_instead_of_making_a_2099_partition(tmp_path: Path) -> None:
    written = write_events(rows(["ok", "2099"], [T0, YEAR_2099], [T0 + US, YEAR_2099 + US]), tmp_path / "log",
                           "rides", tmp_path / "q", now_us=NOW)
    assert (written.rows_written, written.rows_quarantined) == (1, 1)
    assert sorted(p.name for p in (tmp_path / "log" / "rides").iterdir() if p.is_dir()) == ["date=2026-11-26"]
    reasons = pq.read_table(written.quarantine_file)["reason"].to_pylist()
    assert reasons == ["event_time beyond now + clock_skew_bound 5m; ingest_time beyond now + clock_skew_bound 5m"]


def test_a_log_whose_only_file_has_a_text_event_time_names_that_file_and_column(tmp_path: Path) -> None:
    hour = tmp_path / "log" / "rides" / "date=2026-11-26" / "hour=08"
    hour.mkdir(parents=True)
    pq.write_table(pa.table({"event_id": ["a"], "event_time": ["2026-11-26 08:00:00"],
                             "ingest_time": pa.array([T0], pa.int64()).cast(TIMESTAMP)}), hour / "text.parquet")
    with pytest.raises(DataError) as raised:
        arrivals(tmp_path / "log", "rides", BOUND, NOW)
    assert "text.parquet" in str(raised.value) and "event_time" in str(raised.value)
    assert "clock-skew bound" not in str(raised.value)  # the skew bound is not what is wrong here
