"""Geohash, one encoder for both engines: pygeohash, called from Spark SQL and from Beam alike.

Cells form a hierarchy by prefix (gh6 -> gh5 -> gh4 -> ...), so rolling a key up is truncation.
Invalid coordinates (null, NaN, out of range) encode to None on both sides, never to a cell.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd
import pygeohash

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MAX_PRECISION = 12
BASE32 = frozenset("0123456789bcdefghjkmnpqrstuvwxyz")
# Widening of a cell's box, in degrees: a point on the edge of a cell is inside the box whatever the rounding.


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


def register_spark(spark: SparkSession) -> None:
    """Make `geohash(lat, lon, precision)` and `geohash_parent(cell, precision)` Spark SQL functions."""
    from pyspark.sql.functions import pandas_udf  # type: ignore[attr-defined]

    @pandas_udf("string")  # type: ignore[untyped-decorator]
    def geohash_udf(lat: pd.Series, lon: pd.Series, precision: pd.Series) -> pd.Series:
        return geohash_series(lat, lon, precision)

    spark.udf.register("geohash", geohash_udf)
    spark.sql("CREATE OR REPLACE TEMPORARY FUNCTION geohash_parent(cell STRING, p INT) RETURNS STRING RETURN substr(cell, 1, p)")
