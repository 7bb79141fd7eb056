"""Geohash, one encoder for both engines: Beam calls `geohash` per event (pygeohash), Spark SQL's `geohash()`
encodes whole Arrow batches with `geohash_array` (numpy), and the two agree on every point, cell edges included.

Cells form a hierarchy by prefix (gh6 -> gh5 -> gh4 -> ...), so rolling a key up is truncation.
Invalid coordinates (null, NaN, out of range) encode to None on both sides, never to a cell.

How `geohash_array` matches pygeohash exactly. pygeohash halves [-180, 180] and [-90, 90] in floats, taking
the upper half when the coordinate is `>=` the midpoint. Every midpoint it meets is `low + k * span / 2**d`,
which float64 holds exactly (k * 45 needs at most 36 bits), and so does its `(lo + hi) * 0.5`: each bit is an
exact comparison with an exact edge. The bits of one axis are then the binary digits of the cell index
`floor((x - low) / span * 2**30)` (clamped to 2**30 - 1 at the top edge, where every comparison says "upper"),
and the coarser precisions are prefixes of the finest. The index computed in floats can be one too high just
under an edge, so it is checked against its cell's lower edge, computed exactly: pygeohash's own comparison.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pygeohash

if TYPE_CHECKING:
    from numpy.typing import NDArray

MAX_PRECISION = 12
ALPHABET = "0123456789bcdefghjkmnpqrstuvwxyz"  # the geohash base32 alphabet, the one copy in parity
BASE32 = frozenset(ALPHABET)
_ALPHABET = np.frombuffer(ALPHABET.encode(), dtype=np.uint8)
_AXIS_BITS = 5 * MAX_PRECISION // 2  # 30 bits of longitude and 30 of latitude make 12 characters
_SHIFTS = np.arange(5 * MAX_PRECISION - 5, -1, -5, dtype=np.uint64)  # 55, 50, ..., 0: each character's 5 bits


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
    _check_precision(precision)
    if not valid_coordinates(lat, lon):
        return None
    return pygeohash.encode(float(lat), float(lon), precision)  # type: ignore[arg-type]


def geohash_array(lat: pa.Array, lon: pa.Array, precision: pa.Array | int) -> pa.StringArray:
    """`geohash` of every row of Arrow columns at once: numbers of any type, nulls and NaN allowed (they, and
    points out of range, encode to null); `precision` one value or a column (every value 1..MAX_PRECISION)."""
    lats, lons = _floats(lat), _floats(lon)
    valid = (lats >= -90.0) & (lats <= 90.0) & (lons >= -180.0) & (lons <= 180.0)  # False for NaN
    if isinstance(precision, int):
        _check_precision(precision)
        lengths = np.full(len(lats), precision, dtype=np.int64)
    else:
        if precision.null_count:
            raise ValueError(f"geohash precision must be 1..{MAX_PRECISION}, got None")
        lengths = _column(precision).to_numpy(zero_copy_only=False).astype(np.int64)
        if len(lengths) and not (1 <= lengths.min() and lengths.max() <= MAX_PRECISION):
            _check_precision(int(lengths[(lengths < 1) | (lengths > MAX_PRECISION)][0]))
    lengths[~valid] = 0
    characters = _characters(np.where(valid, lats, 0.0), np.where(valid, lons, 0.0))
    data = characters[np.arange(MAX_PRECISION) < lengths[:, None]]  # row after row, each its first p characters
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    nulls = int(len(valid) - np.count_nonzero(valid))
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.StringArray.from_buffers(len(lengths), pa.py_buffer(offsets), pa.py_buffer(data), bitmap, nulls)


def _check_precision(precision: int) -> None:
    if not 1 <= precision <= MAX_PRECISION:
        raise ValueError(f"geohash precision must be 1..{MAX_PRECISION}, got {precision}")


def _column(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _floats(values: pa.Array | pa.ChunkedArray) -> NDArray[np.float64]:
    """float64, null as NaN."""
    floats = pc.cast(_column(values), pa.float64()).fill_null(math.nan)
    return np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)


def _characters(lats: NDArray[np.float64], lons: NDArray[np.float64]) -> NDArray[np.uint8]:
    """The 12 base32 characters (ASCII codes, one row per point) of valid points."""
    code = (_spread(_cell_index(lons, -180.0, 360.0)) << np.uint64(1)) | _spread(_cell_index(lats, -90.0, 180.0))
    groups = (code[:, None] >> _SHIFTS[None, :]) & np.uint64(31)  # longitude first: its bits sit one higher
    return np.asarray(_ALPHABET[groups], dtype=np.uint8)


def _cell_index(values: NDArray[np.float64], low: float, span: float) -> NDArray[np.uint64]:
    """Each value's index among 2**30 equal cells of [low, low + span], the top edge in the last cell, exactly."""
    count = float(1 << _AXIS_BITS)
    width = span / count  # a power-of-two division: exact
    index = np.clip(np.floor((values - low) / width), 0.0, count - 1.0)
    # Rounding is monotonic and every edge is exact, so the estimate is never below the true index; just under
    # an edge it can round up onto it. The exact comparison with the cell's lower edge takes that back.
    index -= values < low + index * width
    return index.astype(np.uint64)


def _spread(bits: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """Bit i of a 32-bit number moved to bit 2i (Morton order), so two axes interleave by shift and or."""
    spread = bits
    for shift, mask in ((16, 0x0000FFFF0000FFFF), (8, 0x00FF00FF00FF00FF), (4, 0x0F0F0F0F0F0F0F0F),
                        (2, 0x3333333333333333), (1, 0x5555555555555555)):
        spread = (spread | (spread << np.uint64(shift))) & np.uint64(mask)
    return spread


def parent(cell: str, precision: int) -> str:
    """The enclosing cell at a coarser precision: `parent('9q8yyk', 5) == '9q8yy'`."""
    if not 1 <= precision <= len(cell):
        raise ValueError(f"cannot take a precision-{precision} parent of {cell!r}")
    return cell[:precision]


def ancestors(cell: str) -> list[str]:
    """Every enclosing cell, finest first: `9q8yyk -> [9q8yy, 9q8y, 9q8, 9q, 9]`."""
    return [cell[:n] for n in range(len(cell) - 1, 0, -1)]
