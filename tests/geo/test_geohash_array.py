"""The vectorised encoder (`geohash_array`, Spark's `geohash()`) gives pygeohash's cell for every point.

pygeohash bisects in floats and takes the upper half on `>=`; `geohash_array` quantises to integers. They can
only disagree exactly on a cell edge, so the points drawn here are mostly edges at the precision encoded (and at
the finest one), one ulp either side of an edge, the poles (+-90), the antimeridian (+-180), -0.0, and invalid
coordinates (null, NaN, infinities, out of range), which encode to null as `parity.geo.geohash` does.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pygeohash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.geo import MAX_PRECISION, geohash, geohash_array

Point = tuple[float | None, float | None]


def _axis_bits(precision: int) -> tuple[int, int]:
    """Bits of latitude and of longitude in a geohash of `precision` characters (longitude takes the odd one)."""
    return 5 * precision // 2, (5 * precision + 1) // 2


def _edge(low: float, span: float, bits: int, index: int) -> float:
    """The `index`-th cell edge of 2**bits cells over [low, low + span]: exact in float64, as pygeohash's."""
    return low + index * (span / 2**bits)


def _pygeohash(lat: float | None, lon: float | None, precision: int) -> str | None:
    if lat is None or lon is None or not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        return None
    return pygeohash.encode(lat, lon, precision)


def _encoded(points: list[Point], precision: int | list[int]) -> list[str | None]:
    lats = pa.array([lat for lat, _ in points], pa.float64())
    lons = pa.array([lon for _, lon in points], pa.float64())
    column = precision if isinstance(precision, int) else pa.array(precision, pa.int32())
    return geohash_array(lats, lons, column).to_pylist()


@st.composite
def coordinates(draw: st.DrawFn, low: float, span: float, precision: int) -> float | None:
    kind = draw(st.sampled_from(["edge", "edge", "edge", "finest_edge", "any", "invalid"]))
    if kind == "any":
        return draw(st.floats(low, low + span))
    if kind == "invalid":
        return draw(st.sampled_from([None, math.nan, math.inf, -math.inf, low - 1e-9, low + span + 1e-9,
                                     low + 2 * span]))
    axis = 1 if low == -180.0 else 0
    bits = _axis_bits(precision if kind == "edge" else MAX_PRECISION)[axis]
    edge = _edge(low, span, bits, draw(st.integers(0, 2**bits)))
    nudge = draw(st.sampled_from([None, -math.inf, math.inf]))  # on the edge, or one ulp below / above it
    return edge if nudge is None else float(np.nextafter(edge, nudge))


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[Point], int]:
    precision = draw(st.integers(1, MAX_PRECISION))
    points = draw(st.lists(st.tuples(coordinates(-90.0, 180.0, precision), coordinates(-180.0, 360.0, precision)),
                           min_size=1, max_size=40))
    return points, precision


@settings(max_examples=400, deadline=None)
@given(batches())
def test_every_point_gets_pygeohash_cell(batch: tuple[list[Point], int]) -> None:
    points, precision = batch
    expected = [_pygeohash(lat, lon, precision) for lat, lon in points]
    assert _encoded(points, precision) == expected
    assert expected == [geohash(lat, lon, precision) for lat, lon in points]  # the Beam side's encoder


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(coordinates(-90.0, 180.0, MAX_PRECISION), coordinates(-180.0, 360.0, MAX_PRECISION),
                          st.integers(1, MAX_PRECISION)), min_size=1, max_size=40))
def test_a_precision_per_row(rows: list[tuple[float | None, float | None, int]]) -> None:
    expected = [_pygeohash(lat, lon, precision) for lat, lon, precision in rows]
    assert _encoded([(lat, lon) for lat, lon, _ in rows], [precision for *_, precision in rows]) == expected


@pytest.mark.parametrize("precision", range(1, MAX_PRECISION + 1))
def test_cell_edges_at_every_precision(precision: int) -> None:
    """Up to 2,049 longitude edges (all of them up to precision 4), each paired with a latitude edge, on the edge
    and one ulp either side, both poles and both sides of the antimeridian included."""
    lat_bits, lon_bits = _axis_bits(precision)
    lon_index = np.unique(np.linspace(0, 2**lon_bits, min(2**lon_bits + 1, 2049)).round().astype(np.int64))
    lat_index = (lon_index * 2**lat_bits) // 2**lon_bits
    lats = np.array([_edge(-90.0, 180.0, lat_bits, int(i)) for i in lat_index])
    lons = np.array([_edge(-180.0, 360.0, lon_bits, int(i)) for i in lon_index])
    for lat_nudge, lon_nudge in [(0, 0), (-1, -1), (1, 1), (-1, 1), (1, -1)]:
        nudged_lats = lats if not lat_nudge else np.nextafter(lats, lat_nudge * np.inf)
        nudged_lons = lons if not lon_nudge else np.nextafter(lons, lon_nudge * np.inf)
        points: list[Point] = list(zip(nudged_lats.tolist(), nudged_lons.tolist(), strict=True))
        assert _encoded(points, precision) == [_pygeohash(lat, lon, precision) for lat, lon in points]


def test_poles_antimeridian_and_invalid_points() -> None:
    points: list[Point] = [(90.0, 180.0), (-90.0, -180.0), (90.0, -180.0), (-90.0, 180.0), (0.0, -0.0),
                           (-0.0, 0.0), (None, 1.0), (1.0, None), (math.nan, 1.0), (90.000001, 0.0),
                           (0.0, -180.000001), (math.inf, 0.0)]
    assert _encoded(points, 6) == ["zzzzzz", "000000", "bpbpbp", "pbpbpb", "s00000", "s00000", *[None] * 6]


def test_numbers_of_any_type_and_chunked_columns() -> None:
    lats = pa.chunked_array([pa.array([37, None], pa.int64()), pa.array([40], pa.int64())])
    lons = pa.chunked_array([pa.array([-122.5, 3.0], pa.float32()), pa.array([-74.0], pa.float32())])
    assert geohash_array(lats, lons, 5).to_pylist() == [geohash(37.0, -122.5, 5), None, geohash(40.0, -74.0, 5)]


@pytest.mark.parametrize("precision", [0, 13, pa.array([6, 13]), pa.array([6, None])])
def test_precision_out_of_range_is_refused(precision: int | pa.Array) -> None:
    with pytest.raises(ValueError, match=r"geohash precision must be 1\.\.12, got (13|None|0)"):
        geohash_array(pa.array([1.0, 2.0]), pa.array([1.0, 2.0]), precision)


def test_empty_batch() -> None:
    assert geohash_array(pa.array([], pa.float64()), pa.array([], pa.float64()), pa.array([], pa.int32())) == pa.array(
        [], pa.string())


def test_spark_sql_geohash_is_pygeohash(spark) -> None:  # type: ignore[no-untyped-def]
    """Spark SQL's `geohash()` over a table: edges at every precision (a precision column), nulls and NaN."""
    rng = np.random.default_rng(3)
    rows = []
    for precision in range(1, MAX_PRECISION + 1):
        lat_bits, lon_bits = _axis_bits(precision)
        for _ in range(60):
            lat = _edge(-90.0, 180.0, lat_bits, int(rng.integers(0, 2**lat_bits + 1)))
            lon = _edge(-180.0, 360.0, lon_bits, int(rng.integers(0, 2**lon_bits + 1)))
            nudge = rng.choice([-np.inf, 0.0, np.inf])
            if nudge:
                lat, lon = float(np.nextafter(lat, nudge)), float(np.nextafter(lon, -nudge))
            rows.append((len(rows), lat, lon, precision))
    rows += [(len(rows), None, 1.0, 6), (len(rows) + 1, math.nan, 1.0, 6), (len(rows) + 2, 1.0, 200.0, 6)]
    spark.createDataFrame(rows, "id INT, lat DOUBLE, lon DOUBLE, p INT").createOrReplaceTempView("edge_points")
    got = {r.id: r.cell for r in spark.sql("SELECT id, geohash(lat, lon, p) AS cell FROM edge_points").collect()}
    assert got == {id_: _pygeohash(lat, lon, p) for id_, lat, lon, p in rows}
    assert list(got.values())[-3:] == [None, None, None]
