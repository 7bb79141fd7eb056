"""Geohash, one encoder for both engines: pygeohash, called from Spark SQL and from Beam alike.

Cells form a hierarchy by prefix (gh6 -> gh5 -> gh4 -> ...), so rolling a key up is truncation.
Invalid coordinates (null, NaN, out of range) encode to None on both sides, never to a cell.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd
import pygeohash

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MAX_PRECISION = 12
BASE32 = frozenset("0123456789bcdefghjkmnpqrstuvwxyz")
# Widening of a cell's box, in degrees: a point on the edge of a cell is inside the box whatever the rounding.
_EDGE = 1e-9


def valid_coordinates(lat: float | None, lon: float | None) -> bool:
    return (
        lat is not None
        and lon is not None
        and not (math.isnan(lat) or math.isnan(lon))
        and -90.0 <= lat <= 90.0
        and -180.0 <= lon <= 180.0
    )


def geohash(lat: float | None, lon: float | None, precision: int) -> str | None:
    """The geohash cell of a point, or None when the point is not a valid coordinate."""
    if not 1 <= precision <= MAX_PRECISION:
        raise ValueError(f"geohash precision must be 1..{MAX_PRECISION}, got {precision}")
    if not valid_coordinates(lat, lon):
        return None
    return pygeohash.encode(float(lat), float(lon), precision)  # type: ignore[arg-type]


def geohash_series(lat: pd.Series, lon: pd.Series, precision: pd.Series | int) -> pd.Series:
    """Vectorised form of `geohash` over pandas columns (what Spark's Arrow UDF calls per batch)."""
    if isinstance(precision, pd.Series):
        precisions = precision.astype("int64").tolist()
    else:
        precisions = [int(precision)] * len(lat)
    encoded = [
        geohash(a, o, p)
        for a, o, p in zip(lat.astype("float64").tolist(), lon.astype("float64").tolist(), precisions, strict=True)
    ]
    return pd.Series(encoded, index=lat.index, dtype="object")


def parent(cell: str, precision: int) -> str:
    """The enclosing cell at a coarser precision: `parent('9q8yyk', 5) == '9q8yy'`."""
    if not 1 <= precision <= len(cell):
        raise ValueError(f"cannot take a precision-{precision} parent of {cell!r}")
    return cell[:precision]


def ancestors(cell: str) -> list[str]:
    """Every enclosing cell, finest first: `9q8yyk -> [9q8yy, 9q8y, 9q8, 9q, 9]`."""
    return [cell[:n] for n in range(len(cell) - 1, 0, -1)]


def covering_boxes(cells: Iterable[str], precision: int, limit: int) -> list[tuple[float, float, float, float]]:
    """Closed boxes `(min_lat, min_lon, max_lat, max_lon)` holding every point that `geohash(.., precision)` puts
    in one of `cells`, at most `limit` boxes: when there are more cells, the boxes of their shortest-enough common
    prefixes (a parent's box holds its children's). A string no geohash of that precision can be gets no box."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    wanted = {c for c in cells if is_cell(c, precision)}
    while len(wanted) > limit:
        wanted = {c[:-1] for c in wanted}
    boxes = []
    for cell in sorted(wanted):
        if not cell:  # cells with no common prefix at all: the whole world
            boxes.append((-90.0, -180.0, 90.0, 180.0))
            continue
        box = pygeohash.get_bounding_box(cell)
        boxes.append((box.min_lat - _EDGE, box.min_lon - _EDGE, box.max_lat + _EDGE, box.max_lon + _EDGE))
    return boxes


def grid_steps(precision: int) -> tuple[float, float]:
    """Degrees of latitude and of longitude one geohash cell of `precision` spans: its 5 * precision bits
    alternate longitude first, so cells form a regular grid of 2^(lat bits) rows by 2^(lon bits) columns."""
    bits = 5 * precision
    return 180.0 / 2 ** (bits // 2), 360.0 / 2 ** (bits - bits // 2)


def grid_cell(cell: str) -> tuple[int, int]:
    """The row and column of a geohash cell on its precision's grid (`grid_steps`): a point of the cell has
    `floor((lat + 90) / lat_step)` and `floor((lon + 180) / lon_step)` equal to them, give or take one on a
    cell's edge, where rounding and the side an edge belongs to decide."""
    lat, lon, _, _ = pygeohash.decode_exactly(cell)  # the centre: far from any edge
    lat_step, lon_step = grid_steps(len(cell))
    return math.floor((lat + 90) / lat_step), math.floor((lon + 180) / lon_step)


def is_cell(value: object, precision: int) -> bool:
    """Whether `value` is a geohash that `geohash(.., precision)` can return."""
    return isinstance(value, str) and len(value) == precision and set(value) <= BASE32


def register_spark(spark: SparkSession) -> None:
    """Make `geohash(lat, lon, precision)` and `geohash_parent(cell, precision)` Spark SQL functions."""
    from pyspark.sql.functions import pandas_udf  # type: ignore[attr-defined]

    @pandas_udf("string")  # type: ignore[untyped-decorator]
    def geohash_udf(lat: pd.Series, lon: pd.Series, precision: pd.Series) -> pd.Series:
        return geohash_series(lat, lon, precision)

    spark.udf.register("geohash", geohash_udf)
    spark.sql("CREATE OR REPLACE TEMPORARY FUNCTION geohash_parent(cell STRING, p INT) RETURNS STRING RETURN substr(cell, 1, p)")
