"""The online log's layout (`parity.online.files`) and its source registry (`parity.online`), on hand-made pane
tables: hour partitions, one claiming file per writer and generation, replacement by window, the old flat
layout, and reads that open only the hours asked for. No Beam, no Spark: the end-to-end versions are in
tests/check (test_diagnoses.py, test_log_outputs.py, test_replay.py)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from parity.check import read_online
from parity.errors import DataError
from parity.online import SOURCES, FileSource, OnlinePart, open_source
from parity.online import files as online_files
from parity.online.files import migrate_flat, read_hours, write_hours
from parity.settings import load_settings
from parity.spec import load_feature
from parity.units import HOUR_US

REPO = Path(__file__).resolve().parents[2]
MINUTE = 60_000_000
EIGHT = int(dt.datetime(2024, 6, 3, 8, tzinfo=dt.UTC).timestamp()) * 1_000_000
STAMP = pa.timestamp("us", tz="UTC")


def panes(first_minute: int, last_minute: int, requests: int, cells: tuple[str, ...] = ("9q8yyk", "dr5reg")) -> pa.Table:
    """One ON_TIME pane per cell and minute in [first, last) after 08:00, every count `requests`."""
    rows = [(cell, EIGHT + m * MINUTE) for m in range(first_minute, last_minute) for cell in cells]
    starts = pa.array([s for _, s in rows], type=pa.int64())
    return pa.table({
        "geohash6": [c for c, _ in rows],
        "requests": pa.array([requests] * len(rows), type=pa.int64()),
        "window_start": starts.cast(STAMP),
        "window_end": pc.add(starts, MINUTE).cast(STAMP),
        "pane_timing": ["ON_TIME"] * len(rows),
        "pane_index": pa.array([0] * len(rows), type=pa.int64()),
        "emitted_at": pc.add(starts, MINUTE + 3_000_000).cast(STAMP),
    })


def seen(parts: list[OnlinePart]) -> dict[tuple[str, int], list[int]]:
    """(cell, minute after 08:00) -> every requests value a reader sees for it."""
    found: dict[tuple[str, int], list[int]] = {}
    for part in parts:
        for row in part.table.to_pylist():
            minute = (int(row["window_start"].timestamp() * 1_000_000) - EIGHT) // MINUTE
            found.setdefault((row["geohash6"], minute), []).append(row["requests"])
    return found


def test_streaming_0800_0810_then_0805_0815_sees_every_cell_once_the_overlap_from_the_second(tmp_path: Path) -> None:
    write_hours(tmp_path, "stream", panes(0, 10, requests=1), (EIGHT, EIGHT + 10 * MINUTE))
    write_hours(tmp_path, "stream", panes(5, 15, requests=2), (EIGHT + 5 * MINUTE, EIGHT + 15 * MINUTE))
    values = seen(read_hours(tmp_path, EIGHT, EIGHT + HOUR_US))
    assert sorted({m for _, m in values}) == list(range(15))
    assert all(len(v) == 1 for v in values.values()), "no cell duplicated"
    assert {m: v[0] for (c, m), v in values.items() if c == "9q8yyk"} == {m: 1 if m < 5 else 2 for m in range(15)}


def test_restreaming_a_whole_claim_removes_the_file_it_supersedes(tmp_path: Path) -> None:
    first = write_hours(tmp_path, "stream", panes(0, 10, requests=1), (EIGHT, EIGHT + 10 * MINUTE))
    second = write_hours(tmp_path, "stream", panes(0, 10, requests=2), (EIGHT - MINUTE, EIGHT + 10 * MINUTE))
    assert not first[0].exists() and sorted(tmp_path.rglob("*.parquet")) == sorted(second)
    assert {v[0] for v in seen(read_hours(tmp_path, EIGHT, EIGHT + HOUR_US)).values()} == {2}


def test_a_range_over_two_hours_writes_one_file_per_hour_empty_hours_too(tmp_path: Path) -> None:
    written = write_hours(tmp_path, "stream", panes(50, 70, requests=1), (EIGHT + 50 * MINUTE, EIGHT + 130 * MINUTE))
    assert [f.parent.relative_to(tmp_path).as_posix() for f in written] == [
        "date=2024-06-03/hour=08", "date=2024-06-03/hour=09", "date=2024-06-03/hour=10"]
    assert [pq.read_metadata(f).num_rows for f in written] == [20, 20, 0]
    # The empty hour replaces what an earlier stream left in it.
    write_hours(tmp_path, "stream", panes(120, 125, requests=1), (EIGHT + 120 * MINUTE, EIGHT + 125 * MINUTE))
    write_hours(tmp_path, "stream", panes(50, 70, requests=1), (EIGHT + 50 * MINUTE, EIGHT + 130 * MINUTE))
    assert seen(read_hours(tmp_path, EIGHT + 2 * HOUR_US, EIGHT + 3 * HOUR_US)) == {}


def test_two_writers_of_one_hour_both_count(tmp_path: Path) -> None:
    write_hours(tmp_path, "stream", panes(0, 10, requests=1), (EIGHT, EIGHT + 10 * MINUTE))
    write_hours(tmp_path, "shadow", panes(5, 10, requests=1), (EIGHT + 5 * MINUTE, EIGHT + 10 * MINUTE))
    values = seen(read_hours(tmp_path, EIGHT, EIGHT + HOUR_US))
    assert {m for (_, m), v in values.items() if len(v) == 2} == set(range(5, 10))


def test_a_one_hour_read_over_a_month_of_outputs_opens_that_hours_files_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day in range(30):
        for hour in range(0, 24, 6):
            start = EIGHT + day * 24 * HOUR_US + hour * HOUR_US
            write_hours(tmp_path, "stream", pa.table({"window_start": pa.array([start], type=pa.int64()).cast(STAMP)}),
                        (start, start + HOUR_US))
    opened: list[Path] = []
    real = online_files._read
    monkeypatch.setattr(online_files, "_read", lambda file: opened.append(file) or real(file))
    parts = read_hours(tmp_path, EIGHT + 10 * 24 * HOUR_US, EIGHT + 10 * 24 * HOUR_US + HOUR_US)
    assert [p.name for p in parts] == [opened[0].relative_to(tmp_path).as_posix()] and len(opened) == 1
    assert opened[0].parent.relative_to(tmp_path).as_posix() == "date=2024-06-13/hour=08"
    everything = read_hours(tmp_path, 0, 2**62)  # a check of all time lists the date folders, in time order
    assert len(everything) == 120 and [p.name for p in everything] == sorted(p.name for p in everything)


def test_the_flat_layout_is_read_then_migrated_and_replaced_by_the_next_stream(tmp_path: Path) -> None:
    pq.write_table(panes(0, 10, requests=1), tmp_path / "windows-20240603T080000000000Z--20240603T081000000000Z.parquet")
    pq.write_table(panes(20, 22, requests=1, cells=("zzzzzz",)), tmp_path / "panes.parquet")  # claims nothing
    before = read_hours(tmp_path, EIGHT, EIGHT + HOUR_US)
    assert sorted((p.name, p.claim) for p in before) == [
        ("panes.parquet", None), ("windows-20240603T080000000000Z--20240603T081000000000Z.parquet", (EIGHT, EIGHT + 10 * MINUTE))]
    assert len(migrate_flat(tmp_path)) == 2 and not list(tmp_path.glob("*.parquet"))
    assert seen(read_hours(tmp_path, EIGHT, EIGHT + HOUR_US)) == seen(before)
    write_hours(tmp_path, "stream", panes(0, 10, requests=2), (EIGHT, EIGHT + 10 * MINUTE))
    after = seen(read_hours(tmp_path, EIGHT, EIGHT + HOUR_US))
    assert {v[0] for (c, _), v in after.items() if c != "zzzzzz"} == {2} and all(len(v) == 1 for v in after.values())


def test_sources_are_chosen_by_url_scheme_and_a_new_one_is_one_registry_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert open_source(tmp_path) == FileSource(tmp_path) == open_source(f"file://{tmp_path}")
    with pytest.raises(DataError, match="no online source for scheme 'kafka'"):
        open_source("kafka://broker/topic")

    class MemorySource:  # what a Kafka or key-value store module would provide
        def read(self, feature: str, start_us: int, end_us: int) -> list[OnlinePart]:
            return [OnlinePart(panes(0, 3, requests=7), f"memory/{feature}", None)]

    monkeypatch.setitem(SOURCES, "memory", lambda location: MemorySource())
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nonline_log = "memory://features"\n')
    settings = load_settings(tmp_path)
    assert settings.online_log == "memory://features"  # a URL stays a location, resolved by scheme at the edge
    spec = load_feature("ride_requests", REPO)
    read = read_online(spec, open_source(settings.online_log), EIGHT, EIGHT + HOUR_US)
    assert len(read.rows) == 6 and set(read.rows["requests"]) == {7} and set(read.rows["_file"]) == {"memory/ride_requests"}
