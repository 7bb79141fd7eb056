"""The event log's files: one listing for every reader, atomic and repeatable writes, unreadable files that
block nothing but their own hour, and the arrival index that spares a check opening every footer."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from parity import events as event_log
from parity.errors import DataError
from parity.events import ARRIVALS_INDEX, TIMESTAMP, event_files, newest_arrival_us, read_events, write_events
from parity.publish import published
from parity.units import HOUR_US

US = 1_000_000
T0 = int(datetime(2026, 11, 26, 8, tzinfo=UTC).timestamp()) * US  # 08:00 UTC


def events(times_us: list[int], prefix: str = "e", arrival_us: int = 1_500_000) -> pa.Table:
    return pa.table({
        "event_id": [f"{prefix}{i}" for i in range(len(times_us))],
        "event_time": pa.array(times_us, pa.int64()).cast(TIMESTAMP),
        "ingest_time": pa.array([t + arrival_us for t in times_us], pa.int64()).cast(TIMESTAMP),
        "lat": [1.0] * len(times_us),
        "lon": [2.0] * len(times_us),
    })


def three_hours(root: Path) -> Path:
    """Two events in each of 08:00, 09:00, 10:00; the newest arrival is T0 + 3h - 3 + 1.5 s."""
    times = [T0 + 7, T0 + HOUR_US - 1, T0 + HOUR_US, T0 + HOUR_US + 9, T0 + 2 * HOUR_US + 5, T0 + 3 * HOUR_US - 3]
    write_events(events(times), root / "log", "rides", root / "q")
    return root / "log" / "rides"


def truncate(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


def every_file(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


# --- one listing for every reader ---------------------------------------------------------------------


def test_hidden_and_underscore_parquet_files_are_events_to_no_reader(tmp_path: Path) -> None:
    source = three_hours(tmp_path)
    hour = source / "date=2026-11-26" / "hour=08"
    for name in ("_stray.parquet", ".stray.parquet"):
        pq.write_table(events([T0 + 100], prefix=name[:2]), hour / name)
    from parity.offline import event_files as spark_event_files
    from parity.settings import load_settings

    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "log"\n')
    settings = load_settings(tmp_path)
    python_side = event_files(tmp_path / "log", "rides", T0, T0 + HOUR_US)
    spark_side = spark_event_files(settings, "rides", T0, T0 + HOUR_US)
    assert spark_side == python_side
    assert [p.name.startswith(("_", ".")) for p in python_side] == [False]
    assert read_events(tmp_path / "log", "rides", T0, T0 + HOUR_US).num_rows == 2


def test_listing_a_range_lists_only_its_hours(tmp_path: Path) -> None:
    three_hours(tmp_path)
    files = event_files(tmp_path / "log", "rides", T0 + HOUR_US + 1, T0 + 2 * HOUR_US)
    assert [f.parent.name for f in files] == ["hour=09"]
    assert [f.parent.name for f in event_files(tmp_path / "log", "rides")] == ["hour=08", "hour=09", "hour=10"]


# --- writes: atomic, repeatable, nothing left behind ----------------------------------------------------


def test_writing_the_same_events_again_replaces_its_files_instead_of_duplicating(tmp_path: Path) -> None:
    table = events([T0 + 1, T0 + HOUR_US + 2])
    first = write_events(table, tmp_path / "log", "rides", tmp_path / "q")
    second = write_events(table, tmp_path / "log", "rides", tmp_path / "q")
    assert first.files == second.files
    assert sorted(read_events(tmp_path / "log", "rides")["event_id"].to_pylist()) == ["e0", "e1"]


def test_rewriting_bad_rows_replaces_their_quarantine_file(tmp_path: Path) -> None:
    table = events([T0 + 1, T0 + 2]).set_column(3, "lat", pa.array([1.0, 99.0]))
    first = write_events(table, tmp_path / "log", "rides", tmp_path / "q")
    second = write_events(table, tmp_path / "log", "rides", tmp_path / "q")
    assert first.quarantine_file == second.quarantine_file
    assert [p.name for p in published(tmp_path / "q" / "rides", ".parquet")] == [first.quarantine_file.name]


def test_a_write_that_fails_midway_leaves_no_file_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = pq.write_table

    def half_then_fail(table: pa.Table, where: Any, **options: Any) -> None:
        real_write(table, where, **options)
        truncate(Path(where))
        raise OSError("disk full")

    monkeypatch.setattr(event_log.pq, "write_table", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_events(events([T0 + 1]), tmp_path / "log", "rides", tmp_path / "q")
    assert every_file(tmp_path / "log") == []


def test_published_files_are_fsynced_before_they_are_renamed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording(descriptor: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{descriptor}"))
        real_fsync(descriptor)

    monkeypatch.setattr(os, "fsync", recording)
    result = write_events(events([T0 + 1]), tmp_path / "log", "rides", tmp_path / "q")
    (file,) = result.files
    temporaries = [Path(p) for p in synced if Path(p).name.startswith(".parity-tmp-")]
    assert [(p.parent, p.name.endswith(file.name)) for p in temporaries] == [(file.parent, True)]
    assert str(file.parent) in synced  # and the folder, so the rename itself is durable


def dead_pid() -> int:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    return int(child.stdout)


def test_a_write_removes_temporary_files_that_a_killed_write_left(tmp_path: Path) -> None:
    from parity.publish import _host

    source = three_hours(tmp_path)
    hour = source / "date=2026-11-26" / "hour=09"
    killed = hour / f".parity-tmp-{_host()}-{dead_pid()}-0123456789ab-part-x.parquet"
    running = hour / f".parity-tmp-{_host()}-{os.getppid()}-0123456789ab-part-y.parquet"
    for leftover in (killed, running):
        leftover.write_bytes(b"PAR1 half")
    write_events(events([T0 + 3]), tmp_path / "log", "rides", tmp_path / "q")
    assert not killed.exists()
    assert running.exists(), "a temporary file of a writer still running is not touched"


# --- unreadable files and the newest arrival -----------------------------------------------------------


def test_an_unreadable_old_file_does_not_stop_finding_the_newest_arrival(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = three_hours(tmp_path)
    (old,) = published(source / "date=2026-11-26" / "hour=08", ".parquet")
    truncate(old)
    with caplog.at_level(logging.WARNING, logger="parity.events"):
        assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 3 * HOUR_US - 3 + 1_500_000
    assert [r.getMessage() for r in caplog.records if str(old) in r.getMessage()], caplog.text
    assert read_events(tmp_path / "log", "rides", T0 + HOUR_US, T0 + 3 * HOUR_US).num_rows == 4
    with pytest.raises(DataError, match=f"{old}: unreadable Parquet file"):
        read_events(tmp_path / "log", "rides", T0, T0 + HOUR_US)


def test_a_range_without_files_takes_its_schema_from_a_readable_file(tmp_path: Path) -> None:
    source = three_hours(tmp_path)
    (newest,) = published(source / "date=2026-11-26" / "hour=10", ".parquet")
    truncate(newest)
    empty = read_events(tmp_path / "log", "rides", T0 + 5 * HOUR_US, T0 + 6 * HOUR_US)
    assert empty.num_rows == 0 and "lat" in empty.column_names


class FooterCount:
    """Counts the Parquet footers `parity.events` opens (pyarrow's reader, wrapped, still does the reading)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.opened: list[Path] = []
        real = pq.ParquetFile

        def counting(source: Any, *args: Any, **kwargs: Any) -> pq.ParquetFile:
            self.opened.append(Path(source))
            return real(source, *args, **kwargs)

        monkeypatch.setattr(event_log.pq, "ParquetFile", counting)


def test_newest_arrival_opens_only_the_footers_of_new_or_changed_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = three_hours(tmp_path)
    footers = FooterCount(monkeypatch)
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 3 * HOUR_US - 3 + 1_500_000
    assert len(footers.opened) == 3 and (source / ARRIVALS_INDEX).is_file()

    footers.opened.clear()
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 3 * HOUR_US - 3 + 1_500_000
    assert footers.opened == []

    late = events([T0 + 10], prefix="late", arrival_us=5 * HOUR_US)  # lands in 08:00, arrives last
    (added,) = write_events(late, tmp_path / "log", "rides", tmp_path / "q").files
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 10 + 5 * HOUR_US
    assert footers.opened == [added]


def test_a_file_replaced_in_place_is_read_again(tmp_path: Path) -> None:
    source = three_hours(tmp_path)
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 3 * HOUR_US - 3 + 1_500_000
    (old,) = published(source / "date=2026-11-26" / "hour=08", ".parquet")
    pq.write_table(events([T0 + 20, T0 + 30], arrival_us=9 * HOUR_US), old)
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 30 + 9 * HOUR_US


def test_a_damaged_arrival_index_is_rebuilt(tmp_path: Path) -> None:
    source = three_hours(tmp_path)
    (source / ARRIVALS_INDEX).write_text("{not json")
    assert newest_arrival_us(tmp_path / "log", "rides") == T0 + 3 * HOUR_US - 3 + 1_500_000
    assert (source / ARRIVALS_INDEX).read_text().startswith('{"version":2')
