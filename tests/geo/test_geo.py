"""One geohash encoder for both engines: Spark SQL's `geohash()` and Beam's `parity.geo.geohash` agree, edges included."""

from __future__ import annotations

import apache_beam as beam
import pandas as pd
import pyarrow as pa
import pygeohash
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to

from parity.geo import ancestors, geohash, geohash_array, parent

# Cell corners and edges, poles, the antimeridian, and ordinary city points.
POINTS = [
    (0.0, 0.0), (-0.0, -0.0), (90.0, 180.0), (-90.0, -180.0), (45.0, 0.0), (0.0, 22.5),
    (37.7749, -122.4194), (51.5074, -0.1278), (-23.5505, -46.6333), (1.3521, 103.8198),
    (12.9716, 77.5946), (40.7128, -74.0060), (89.99999999, 179.99999999),
    # the exact corner of a geohash6 cell, and one ulp either side of it
    *((lat, lon) for lat, lon, _ in [(*pygeohash.decode_exactly("9q8yyk")[:2], 0)]),
]
INVALID = [(91.0, 0.0), (0.0, 181.0), (float("nan"), 0.0), (None, 10.0)]


def test_known_cells() -> None:
    assert geohash(37.7749, -122.4194, 6) == "9q8yyk"
    assert geohash(0.0, 0.0, 6) == "s00000"  # `>=` at the edge, as pygeohash: not 7zzzzz


@pytest.mark.parametrize(("lat", "lon"), INVALID)
def test_invalid_coordinates_have_no_cell(lat: float | None, lon: float) -> None:
    assert geohash(lat, lon, 6) is None


def test_prefix_hierarchy() -> None:
    cell = geohash(37.7749, -122.4194, 6)
    assert cell is not None
    assert parent(cell, 5) == geohash(37.7749, -122.4194, 5)
    assert ancestors(cell)[:2] == [cell[:5], cell[:4]]
    with pytest.raises(ValueError, match="precision-7 parent"):
        parent(cell, 7)


def test_spark_and_beam_encode_identically(spark) -> None:
    points = POINTS + [(lat, lon) for lat, lon in INVALID if lat is not None]
    frame = pd.DataFrame(points, columns=["lat", "lon"]).reset_index(names="id")
    spark.createDataFrame(frame).createOrReplaceTempView("points")
    rows = spark.sql("SELECT id, geohash(lat, lon, 6) AS gh6, geohash(lat, lon, 5) AS gh5 FROM points").collect()
    on_spark = {r.id: (r.gh6, r.gh5) for r in rows}
    expected = [(lat, lon, geohash(lat, lon, 6), geohash(lat, lon, 5)) for lat, lon in points]
    assert on_spark == {i: (gh6, gh5) for i, (_, _, gh6, gh5) in enumerate(expected)}
    assert on_spark[0] == ("s00000", "s0000")

    with TestPipeline() as pipeline:
        encoded = (
            pipeline
            | beam.Create(list(enumerate(points)))
            | beam.Map(lambda p: (p[0], geohash(p[1][0], p[1][1], 6), geohash(p[1][0], p[1][1], 5)))
        )
        assert_that(encoded, equal_to([(i, *cells) for i, cells in on_spark.items()]))


def test_vectorised_equals_scalar() -> None:
    lats, lons = pa.array([lat for lat, _ in POINTS]), pa.array([lon for _, lon in POINTS])
    assert geohash_array(lats, lons, 6).to_pylist() == [geohash(a, o, 6) for a, o in POINTS]


def _inside(box: tuple[float, float, float, float], lat: float, lon: float) -> bool:
    min_lat, min_lon, max_lat, max_lon = box
    return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon

