"""Replaying in segments (one pipeline per run of consecutive windows) emits exactly the panes of one pipeline.

Real BundleBasedDirectRunner in streaming mode; events 1-300 s late and duplicated, so late panes and drops
happen near segment bounds too.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from parity.realtime import StreamResult, replay_batches, replay_segments, run_stream
from parity.settings import Settings
from parity.spec import load_feature

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)


def late_and_duplicated(ride_event: Callable[..., dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """50 requests and pings in 3 cells over 8 minutes; a third arrive 1-300 s late, some twice."""
    rng = random.Random(seed)
    rows = []
    for n in range(50):
        moment = BASE + dt.timedelta(seconds=rng.uniform(0, 480))
        delay = rng.uniform(1, 300) if rng.random() < 0.35 else rng.uniform(0, 2)
        kind = rng.choice(["ride_requested", "driver_ping"])
        fields = {"driver_id": f"d{rng.randrange(6)}", "available": rng.random() < 0.8} if kind == "driver_ping" else {}
        place = (37.50 + 0.05 * rng.randrange(3), -122.40)
        for copy in range(2 if rng.random() < 0.15 else 1):
            arrival = moment + dt.timedelta(seconds=delay + copy * rng.uniform(1, 120))
            rows.append(ride_event(f"e{n}", moment, kind, place, ingest_time=arrival, **fields))
    return rows


def panes_without_emission_time(result: StreamResult) -> list[tuple[Any, ...]]:
    return sorted(tuple(row.values()) for row in result.panes().drop(["emitted_at"]).to_pylist())


@pytest.mark.parametrize("feature", ["ride_requests", "demand_supply"])  # 1m tumbling; 5m sliding by 1m
def test_segmented_replay_emits_the_same_panes_as_one_pipeline(
    feature: str,
    ride_event: Callable[..., dict[str, Any]],
    events_table: Callable[..., pa.Table],
    repo_settings: Settings,
    tmp_path: Path,
) -> None:
    events = events_table(late_and_duplicated(ride_event, seed=21))
    spec = load_feature(feature, repo_settings.project)
    whole = run_stream(spec, repo_settings, events, out_dir=tmp_path / "whole", segment_events=10**9)
    split = run_stream(spec, repo_settings, events, out_dir=tmp_path / "split", segment_events=15)

    ordered = events.sort_by([("ingest_time", "ascending"), ("event_time", "ascending"), ("event_id", "ascending")])
    event_us = pc.cast(ordered["event_time"], pa.int64()).to_pylist()
    ingest_us = pc.cast(ordered["ingest_time"], pa.int64()).to_pylist()
    batches = list(replay_batches(list(range(len(event_us))), event_us, ingest_us, spec))
    assert len(replay_segments(batches, spec, 15)) >= 3  # really split
    assert whole.rows > 0
    assert panes_without_emission_time(split) == panes_without_emission_time(whole)
    assert split.events_dropped == whole.events_dropped


def test_segments_own_disjoint_windows_and_get_every_event_of_them(
    ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table], repo_settings: Settings
) -> None:
    events = events_table(late_and_duplicated(ride_event, seed=22))
    spec = load_feature("demand_supply", repo_settings.project)  # an event lies in 5 windows
    event_us = sorted(pc.cast(events["event_time"], pa.int64()).to_pylist())
    batches = list(replay_batches(list(range(len(event_us))), event_us, event_us, spec))
    segments = replay_segments(batches, spec, 10)
    slide, size = spec.window.slide_us, spec.window.size_us
    for at in event_us:
        starts = range(at - at % slide - size + slide, at - at % slide + 1, slide)
        for start in starts:
            owners = [segment for segment in segments if segment.owns(start)]
            assert len(owners) == 1
            assert any(value.timestamp.micros == at for _, batch in owners[0].batches for value in batch)


def final_values(paths: list[StreamResult], spec_keys: tuple[str, ...]) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """{(keys..., window_start): the row of the cell's last pane}, failing on a cell written by two files."""
    finals: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for path in paths:
        table = path.panes().drop(["emitted_at", "pane_timing", "pane_index"]).to_pylist()
        last: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for row in table:  # sorted by keys, window_start, pane_index: the last one wins
            last[(*(row[k] for k in spec_keys), row["window_start"])] = tuple(row.values())
        shared = finals.keys() & last.keys()
        assert not shared, f"{len(shared)} cell(s) written by two streams, e.g. {min(shared)}"
        finals.update(last)
    return finals


def test_consecutive_streams_own_disjoint_windows_and_agree_with_one_stream(
    ride_event: Callable[..., dict[str, Any]],
    events_table: Callable[..., pa.Table],
    repo_settings: Settings,
    tmp_path: Path,
) -> None:
    from parity.offline import event_range

    events = events_table(late_and_duplicated(ride_event, seed=21))
    spec = load_feature("demand_supply", repo_settings.project)  # 5m sliding by 1m: windows straddle ranges
    minute = 60_000_000
    base_us = int(BASE.timestamp()) * 1_000_000

    def stream(lo: int, hi: int, out: str, own: bool = True) -> StreamResult:
        first, last = event_range(spec.window, base_us + lo * minute, base_us + hi * minute)
        times = pc.cast(events.column("event_time"), pa.int64())
        chosen = events.filter(pc.and_(pc.greater_equal(times, first), pc.less(times, last)))
        windows = (base_us + lo * minute, base_us + hi * minute) if own else None
        return run_stream(spec, repo_settings, chosen, out_dir=tmp_path / out, windows=windows)

    whole = final_values([stream(0, 8, "whole")], spec.keys)
    first, second = stream(0, 4, "split"), stream(4, 8, "split")  # one folder, as `parity stream` writes
    assert not set(first.files) & set(second.files), "each range keeps its own files"
    split = final_values([first, second], spec.keys)
    assert split == whole
    assert len(whole) > 10
    with pytest.raises(AssertionError, match="written by two streams"):  # what owning windows prevents
        final_values([stream(0, 4, "first-all", own=False), stream(4, 8, "second-all", own=False)], spec.keys)
