"""The fast replay (`Mode.FAST`, batch on the FnApiRunner) against the faithful one (`Mode.FAITHFUL`, TestStream on
the streaming BundleBasedDirectRunner): every ON_TIME value and every final value must be the same.

Real Beam on both sides. Over the hand-made ride_events log (tests/conftest.py: duplicate deliveries, events
arriving after their window's cutoff, a window whose only event is late), planted arrivals at the window-end and
cutoff ticks, and random event sets (hypothesis; bounded here, more examples under PARITY_FUZZ=full).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from parity.geo import geohash
from parity.realtime import Mode, StreamResult, run_stream
from parity.settings import Settings
from parity.spec import FeatureSpec, load_feature

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
EXAMPLES = ("ride_requests", "available_drivers", "avg_eta", "demand_supply")
FULL = os.environ.get("PARITY_FUZZ") == "full"
Cells = dict[tuple[Any, ...], tuple[Any, ...]]


def values_by_pane(result: StreamResult, spec: FeatureSpec) -> tuple[Cells, Cells]:
    """({cell: values of its ON_TIME pane}, {cell: values of its last pane}); a cell is (keys..., window_start)."""
    rows = sorted(result.panes().to_pylist(), key=lambda r: r["pane_index"]) if result.files else []
    on_time: Cells = {}
    final: Cells = {}
    for row in rows:
        cell = (*(row[k] for k in spec.keys), row["window_start"])
        values = tuple(row[v] for v in spec.values)
        if row["pane_timing"] == "ON_TIME":
            assert cell not in on_time, f"two ON_TIME panes for {cell}"
            on_time[cell] = values
        final[cell] = values
    return on_time, final


def same(faithful: Cells, fast: Cells) -> bool:
    """Same cells and values; floats equal within 1e-12 (a mean's sum taken in another order), NaN equal to NaN."""
    def equal(x: Any, y: Any) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0)
        return bool(x == y)

    return faithful.keys() == fast.keys() and all(
        all(equal(x, y) for x, y in zip(faithful[cell], fast[cell], strict=True)) for cell in faithful)


def both_modes(spec: FeatureSpec, settings_: Settings, events: pa.Table, out: Path) -> tuple[StreamResult, StreamResult]:
    faithful = run_stream(spec, settings_, events, mode=Mode.FAITHFUL, out_dir=out / "faithful")
    fast = run_stream(spec, settings_, events, mode=Mode.FAST, out_dir=out / "fast")
    return faithful, fast


def assert_same_values(spec: FeatureSpec, faithful: StreamResult, fast: StreamResult) -> None:
    faithful_on_time, faithful_final = values_by_pane(faithful, spec)
    fast_on_time, fast_final = values_by_pane(fast, spec)
    assert same(faithful_on_time, fast_on_time), (faithful_on_time, fast_on_time)
    assert same(faithful_final, fast_final), (faithful_final, fast_final)
    assert fast.events_dropped == faithful.events_dropped


@pytest.mark.parametrize("feature", EXAMPLES)
def test_fast_mode_gives_the_faithful_on_time_and_final_values_of_each_example_feature(
    feature: str, ride_events_settings: Settings, tmp_path: Path
) -> None:
    events = ds.dataset(ride_events_settings.event_log / "ride_events", format="parquet").to_table()
    spec = load_feature(feature, ride_events_settings.project)
    faithful, fast = both_modes(spec, ride_events_settings, events, tmp_path)
    assert faithful.rows > 0
    assert_same_values(spec, faithful, fast)


def test_fast_mode_writes_an_on_time_pane_then_one_late_pane_with_the_final_value(
    ride_events_settings: Settings, tmp_path: Path
) -> None:
    # ride_requests, SF cell of 10:00: r1, r2 on time; r3 and r2's duplicate late in one batch -> ON_TIME 2, LATE 3.
    events = ds.dataset(ride_events_settings.event_log / "ride_events", format="parquet").to_table()
    spec = load_feature("ride_requests", ride_events_settings.project)
    fast = run_stream(spec, ride_events_settings, events, mode=Mode.FAST, out_dir=tmp_path)
    sf = geohash(37.7749, -122.4194, 6)
    panes = sorted((r["pane_timing"], r["pane_index"], r["requests"]) for r in fast.panes().to_pylist()
                   if r["window_start"] == BASE and r["geohash6"] == sf)
    assert panes == [("LATE", 1, 3), ("ON_TIME", 0, 2)]
    # late2 (NYC, 10:02) was its cell's only event and arrived after the cutoff: no row at all, as in faithful mode
    nyc = geohash(40.7128, -74.0060, 6)
    assert [r for r in fast.panes().to_pylist() if r["geohash6"] == nyc and r["window_start"] == at(120)] == []


def at(seconds: float) -> dt.datetime:
    return BASE + dt.timedelta(seconds=seconds)


def place(n: int) -> tuple[float, float]:
    """A point in its own geohash6 (and geohash5) cell per n."""
    return (37.50 + 0.05 * n, -122.40)


@pytest.mark.parametrize("feature", ["ride_requests", "demand_supply"])  # tumbling 1m; sliding 5m by 1m
def test_fast_mode_matches_faithful_for_arrivals_at_the_window_end_and_cutoff_ticks(
    feature: str, ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table],
    repo_settings: Settings, tmp_path: Path,
) -> None:
    spec = load_feature(feature, repo_settings.project)
    lateness = spec.allowed_lateness_us / 1e6
    end = 60.0 if not spec.window.sliding else 300.0  # the end of the window starting at BASE
    arrivals = [end - 1.0, end - 1e-6, end, end + 0.5, end + 0.999999, end + 1.0, end + lateness - 0.5,
                end + lateness, end + lateness + 0.999999, end + lateness + 1.0, end + lateness + 60]
    rows = [ride_event("anchor", at(5), "ride_requested", place(0), ingest_time=at(5.5))]
    for n, arrival in enumerate(arrivals):
        rows.append(ride_event(f"e{n}", at(30), "ride_requested", place(n % 3), ingest_time=at(arrival)))
        rows.append(ride_event(f"p{n}", at(20), "driver_ping", place(n % 3), ingest_time=at(arrival),
                               driver_id=f"d{n}", available=True))
    rows.append(ride_event("tail", at(end + lateness + 200), "ride_requested", place(0)))
    faithful, fast = both_modes(spec, repo_settings, events_table(rows), tmp_path)
    assert_same_values(spec, faithful, fast)


def random_rows(ride_event: Callable[..., dict[str, Any]], draw: Any) -> list[dict[str, Any]]:
    rows = []
    count = draw(st.integers(1, 40))
    for n in range(count):
        moment = at(draw(st.floats(0, 420)))
        late = draw(st.booleans())
        delay = draw(st.floats(0, 400)) if late else draw(st.floats(0, 2))
        kind = draw(st.sampled_from(["ride_requested", "driver_ping", "ride_cancelled"]))
        fields = {"driver_id": f"d{draw(st.integers(0, 5))}", "available": draw(st.booleans())} if kind == "driver_ping" else {}
        if kind == "ride_requested":
            fields["eta_seconds"] = draw(st.sampled_from([None, 60.0, 125.5, 300.0]))
        where = place(draw(st.integers(0, 2)))
        for copy in range(draw(st.integers(1, 2))):  # a duplicate delivery now and then, later
            arrival = moment + dt.timedelta(seconds=delay + copy * draw(st.floats(0, 200)))
            rows.append(ride_event(f"e{n}", moment, kind, where, ingest_time=arrival, **fields))
    return rows


@pytest.mark.parametrize("feature", ["ride_requests", "demand_supply", "avg_eta"])  # tumbling 1m, sliding 5m/1m, 5m
def test_fast_mode_matches_faithful_on_random_event_sets(
    feature: str, ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table],
    repo_settings: Settings, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    spec = load_feature(feature, repo_settings.project)

    @settings(max_examples=40 if FULL else 4, deadline=None, derandomize=not FULL,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        rows = random_rows(ride_event, data.draw)
        faithful, fast = both_modes(spec, repo_settings, events_table(rows), tmp_path_factory.mktemp(feature))
        assert_same_values(spec, faithful, fast)

    check()
