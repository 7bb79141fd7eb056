"""The attribution's prefilter keeps every event of the wanted geohash cells, points on cell edges included."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pygeohash
import pytest
from pyspark.sql import SparkSession

from parity.geo import geohash, grid_cell, grid_steps
from parity.offline import recompute, recompute_restricted
from parity.settings import Settings
from parity.spec import load_feature

REPO = Path(__file__).resolve().parents[2]
BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)


FAR = (40.7128, -74.0060)


def _edge_points(cell: str) -> list[tuple[float, float]]:
    """The corners, edge midpoints and centre of `cell`: each belongs to it or to a neighbour."""
    box = pygeohash.get_bounding_box(cell)
    mid_lat, mid_lon = (box.min_lat + box.max_lat) / 2, (box.min_lon + box.max_lon) / 2
    return [
        (lat, lon)
        for lat in (box.min_lat, mid_lat, box.max_lat)
        for lon in (box.min_lon, mid_lon, box.max_lon)
    ]


@pytest.fixture(scope="module")
def edge_settings(
    tmp_path_factory: pytest.TempPathFactory, repo_settings: Settings, ride_event: Callable[..., dict[str, Any]],
    event_log_writer: Callable[..., None],
) -> Settings:
    root = tmp_path_factory.mktemp("edges")
    rows = []
    for minute in range(3):
        for index, place in enumerate([*_edge_points("9q8yyk"), *_edge_points("9q8yy"), FAR]):
            for copy in range(index % 3 + 1):  # distinct counts per point, so a lost point changes a value
                moment = BASE + dt.timedelta(minutes=minute, seconds=index + copy)
                rows.append(ride_event(f"r{minute}-{index}-{copy}", moment, "ride_requested", place))
                rows.append(ride_event(f"d{minute}-{index}-{copy}", moment, "driver_ping", place,
                                       driver_id=f"driver-{index}-{copy}", available=True))
    event_log_writer(root, "ride_events", rows)
    return dataclasses.replace(repo_settings, event_log=root)


def _micros(moment: dt.datetime) -> int:
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


@pytest.mark.parametrize("feature", ["ride_requests", "demand_supply"])
@pytest.mark.parametrize("method", ["copies", "phases"])
def test_cells_on_the_edges_of_a_cell_recompute_as_in_the_full_query(
    spark: SparkSession, edge_settings: Settings, feature: str, method: str
) -> None:
    spec = load_feature(feature, REPO)
    precision = 5 if feature == "demand_supply" else 6
    start, end = _micros(BASE), _micros(BASE + dt.timedelta(minutes=3))
    full = recompute(spec, edge_settings, start, end)
    cells_of_points = {geohash(lat, lon, precision) for lat, lon in _edge_points("9q8yyk"[:precision])}
    wanted = full[full[spec.keys[0]].isin(cells_of_points)]
    assert wanted[spec.keys[0]].nunique() >= 4, "the corners of a cell touch its neighbours"
    assert geohash(*FAR, precision) not in set(wanted[spec.keys[0]]), "a cell far away is not wanted"
    # Every event arrived 2 s after it happened: restricted to timely arrivals, each cell is its full value.
    restricted = recompute_restricted(spec, edge_settings, wanted, method=method)
    columns = [*spec.keys, "window_start", *spec.values]
    expected = wanted[columns].sort_values(columns[:2], ignore_index=True)
    pd.testing.assert_frame_equal(restricted[columns].sort_values(columns[:2], ignore_index=True), expected)


def test_an_event_one_ulp_below_a_cell_edge_counts_in_its_own_cell(
    spark: SparkSession, repo_settings: Settings, tmp_path: Path, ride_event: Callable[..., dict[str, Any]],
    event_log_writer: Callable[..., None],
) -> None:
    # (lat + 90) rounds up onto the edge, so the grid row computed in Spark is the cell above the event's own.
    box = pygeohash.get_bounding_box("9q8yyk")
    below = (math.nextafter(box.min_lat, -math.inf), (box.min_lon + box.max_lon) / 2)
    own = geohash(*below, 6)
    assert own != "9q8yyk" and grid_cell(own)[0] + 1 == math.floor((below[0] + 90) / grid_steps(6)[0])
    event_log_writer(tmp_path, "ride_events", [ride_event(f"r{i}", BASE, "ride_requested", below) for i in range(3)])
    settings = dataclasses.replace(repo_settings, event_log=tmp_path)
    spec = load_feature("ride_requests", REPO)
    cells = pd.DataFrame({"geohash6": [own], "window_start": [_micros(BASE)]})
    for method in ("copies", "phases"):
        restricted = recompute_restricted(spec, settings, cells, method=method)
        assert restricted[["geohash6", "requests"]].to_dict("list") == {"geohash6": [own], "requests": [3]}, method
