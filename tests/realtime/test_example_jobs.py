"""The four example jobs, replayed on real Beam (BundleBasedDirectRunner, streaming) over the shared
hand-made ride_events log (see tests/conftest.py for what is planted in it: duplicate deliveries of r2
and r6, late1 arriving after its window's cutoff, late2 whose cell has no on-time event, a NYC cell
without available drivers)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from parity.geo import geohash
from parity.realtime import StreamResult, run_stream
from parity.settings import Settings
from parity.spec import load_feature

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
SF6, SF5 = geohash(37.7749, -122.4194, 6), geohash(37.7749, -122.4194, 5)
NYC6, NYC5 = geohash(40.7128, -74.0060, 6), geohash(40.7128, -74.0060, 5)


def at(minute: int, second: float = 0.0) -> dt.datetime:
    return BASE + dt.timedelta(minutes=minute, seconds=second)


def panes(result: StreamResult, key: str, cell: str, start: dt.datetime, value: str) -> list[tuple[str, int, Any]]:
    """(pane_timing, pane_index, value) of one cell, in pane order."""
    rows = result.panes().to_pylist()
    return sorted(
        (r["pane_timing"], r["pane_index"], r[value])
        for r in rows
        if r[key] == cell and r["window_start"] == start
    )


@pytest.fixture(scope="module")
def replayed(ride_events_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], StreamResult]:
    events = ds.dataset(ride_events_settings.event_log / "ride_events", format="parquet").to_table()
    done: dict[str, StreamResult] = {}

    def run(feature: str) -> StreamResult:
        if feature not in done:
            spec = load_feature(feature, ride_events_settings.project)
            done[feature] = run_stream(spec, ride_events_settings, events, out_dir=tmp_path_factory.mktemp(feature))
        return done[feature]

    return run


def test_ride_requests_emits_on_time_then_late_panes_and_counts_a_duplicate_once(replayed: Callable[[str], StreamResult]) -> None:
    # r1, r2 on time; r3 (10:00:59.999999) arrives at 10:01:01.999999, after the watermark passed 10:01, and
    # r2's duplicate at 10:01:22: both late, delivered in one batch (no decisive watermark move between them),
    # so one LATE pane that counts r1, r2, r3 and not r2 twice.
    assert panes(replayed("ride_requests"), "geohash6", SF6, at(0), "requests") == [
        ("LATE", 1, 3),
        ("ON_TIME", 0, 2),
    ]


def test_ride_requests_drops_events_arriving_after_the_cutoff(replayed: Callable[[str], StreamResult]) -> None:
    result = replayed("ride_requests")
    # late1 (SF 10:00:40) arrived at 10:04:00, after 10:03:01: no pane ever counts 4.
    assert max(v for _, _, v in panes(result, "geohash6", SF6, at(0), "requests")) == 3
    # late2 was the only event of (NYC, 10:02) and arrived at 10:10: the cell is missing, not zero.
    assert panes(result, "geohash6", NYC6, at(2), "requests") == []
    assert result.events_dropped == 2  # late1, late2; every other event reached its window


def test_avg_eta_averages_each_request_once_across_duplicates(replayed: Callable[[str], StreamResult]) -> None:
    # r1 100, r2 200 (delivered twice), r6 600 (delivered twice): 300, not the 340 of a duplicate-counting mean.
    assert panes(replayed("avg_eta"), "geohash6", SF6, at(0), "avg_eta_seconds") == [("ON_TIME", 0, pytest.approx(300.0))]


def test_available_drivers_counts_distinct_available_drivers_only(replayed: Callable[[str], StreamResult]) -> None:
    result = replayed("available_drivers")
    # 10:08: d1 twice and d4 (a ping without driver_id is ignored).
    assert panes(result, "geohash6", SF6, at(8), "drivers") == [("ON_TIME", 0, 2)]
    # 10:07: only d3, unavailable: no row at all.
    assert panes(result, "geohash6", SF6, at(7), "drivers") == []


def test_demand_supply_ratio_over_sliding_windows(replayed: Callable[[str], StreamResult]) -> None:
    result = replayed("demand_supply")
    rows = [r for r in result.panes().to_pylist() if r["geohash5"] == SF5]
    final = {r["window_start"]: (r["requests"], r["drivers"], r["ratio"]) for r in sorted(rows, key=lambda r: r["pane_index"])}
    on_time = {r["window_start"]: (r["requests"], r["drivers"], r["ratio"]) for r in rows if r["pane_timing"] == "ON_TIME"}
    assert on_time[at(5)] == (2, 2, 1.0)  # r8, r9 / d1, d4
    # late3 (10:09:00) arrives at 10:10:30: after 10:05-10:10 fired, within its 2m lateness, so a LATE pane counts it.
    assert final[at(5)] == (3, 2, 1.5)
    assert final[at(6)] == (3, 3, 1.0)  # r8, late3, r9 / d1, d4, d2; r10 at 10:11 is outside


def test_demand_supply_cell_without_available_drivers_has_null_ratio(replayed: Callable[[str], StreamResult]) -> None:
    result = replayed("demand_supply")
    assert panes(result, "geohash5", NYC5, at(5), "drivers") == [("ON_TIME", 0, 0)]
    assert panes(result, "geohash5", NYC5, at(5), "ratio") == [("ON_TIME", 0, None)]


def test_demand_supply_cell_with_only_unavailable_pings_emits_zero_zero_none(
    ride_event: Callable[..., dict[str, Any]],
    events_table: Callable[..., pa.Table],
    repo_settings: Settings,
    tmp_path: Path,
) -> None:
    events = events_table(
        [
            ride_event("u1", at(0, 10), "driver_ping", driver_id="d1", available=False),
            ride_event("u2", at(0, 20), "driver_ping", driver_id="d2", available=False),
            ride_event("x1", at(0, 30), "ride_cancelled", (40.7128, -74.0060)),  # filtered out: no NYC cell
        ]
    )
    spec = load_feature("demand_supply", repo_settings.project)
    rows = pq.read_table(run_stream(spec, repo_settings, events, out_dir=tmp_path).path).to_pylist()
    assert {r["geohash5"] for r in rows} == {SF5}
    assert {(r["requests"], r["drivers"], r["ratio"]) for r in rows} == {(0, 0, None)}
    assert len(rows) == 5  # the five sliding windows holding 10:00:10-10:00:20, one on-time pane each
