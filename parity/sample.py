"""Sample: pick the same cells on both sides, deterministically, without talking to the other side.

A cell is `(feature, key..., window_start)`. Its sampling hash is a 64-bit SipHash (pandas'
`hash_pandas_object`, keyed by the feature name) of a normalised form of the cell, so it is the same in every
process, on every machine and for every dtype the two engines happen to produce:

- each key value becomes text: strings as they are; integers, and floats holding a whole number, as the
  integer (`5`, `5.0`, `np.int32(5)` and `"5"` are one key, and `2**64 - 1` is never `-1`); other floats as
  Python's `repr`; timestamps as integer microseconds UTC. Values that are not a number or a string begin
  with `MARK` (U+0001), which no string key keeps: null (None, NaN, NA, NaT) is `NULL_KEY`, booleans are
  `TRUE_KEY`/`FALSE_KEY`, and a string that begins with `MARK` or holds a NUL byte anywhere is written as
  `MARK` + `s` + the hex of its UTF-8 (pandas hashes and factorises object strings as C strings, so `"a\x00b"`
  would otherwise be `"a"`). A null is never the string `"\x00null"`, and `True` is never `"True"`;
- `window_start` becomes integer microseconds since the epoch, UTC, from int64 microseconds or any
  `datetime64` unit, tz-aware or naive (naive is read as UTC).

Columns other than the keys and `window_start`, and the frame's index, never enter the hash.
A cell is in the sample when `hash / 2**64 < rate`, evaluated exactly in integers.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from parity.errors import DataError
from parity.spec import FeatureSpec

MARK = "\x01"
"""The first character of every normalised key that is not a plain string; no string key keeps it."""
NULL_KEY = MARK + "null"
"""The text a null key value hashes as (see `key_text`)."""
TRUE_KEY, FALSE_KEY = MARK + "true", MARK + "false"
"""The texts of the boolean keys: never the strings `True` and `False`."""

Frame = TypeVar("Frame", pd.DataFrame, pa.Table)

_TWO_63 = 2.0**63
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def cell_hash(feature: str, keys: pd.DataFrame, window_start: pd.Series) -> np.ndarray:
    """The uint64 sampling hash of each row's cell. Key columns are hashed in the order of `keys.columns`."""
    if len(keys) != len(window_start):
        raise ValueError(f"{len(keys)} key rows but {len(window_start)} window starts")
    hashed = pd.util.hash_pandas_object(_normalised(keys, window_start), index=False, hash_key=_hash_key(feature))
    return np.asarray(hashed, dtype=np.uint64)


def in_sample(feature: str, frame: pd.DataFrame | pa.Table, key_columns: Sequence[str], rate: float) -> np.ndarray:
    """Boolean mask of the rows whose cell is in the `rate` sample of `feature`: `hash / 2**64 < rate`.
    `frame` is a pandas frame or an Arrow table (only its cell columns are converted, to hash them)."""
    if not 0.0 < rate <= 1.0:
        raise ValueError(f"sample rate {rate} must be in (0, 1]")
    names = frame.column_names if isinstance(frame, pa.Table) else frame.columns
    missing = [c for c in (*key_columns, "window_start") if c not in names]
    if missing:
        raise DataError(f"{feature} output", f"missing cell column(s) {missing}; expected keys and window_start")
    if rate == 1.0:
        return np.ones(len(frame), dtype=bool)
    if isinstance(frame, pa.Table):
        frame = frame.select([*key_columns, "window_start"]).to_pandas()
    hashes = cell_hash(feature, frame[list(key_columns)], frame["window_start"])
    # h / 2**64 < rate  <=>  h < rate * 2**64  <=>  h < ceil(rate * 2**64) for integer h; rate * 2**64 is exact.
    return hashes < np.uint64(math.ceil(rate * 2.0**64))


def draw_sample(frame: Frame, spec: FeatureSpec, rate: float) -> Frame:
    """The rows of `frame` whose cell is in the `rate` sample of `spec`'s feature (panes of a cell stay together),
    as a frame of the same kind."""
    chosen = in_sample(spec.name, frame, spec.keys, rate)
    return frame.filter(pa.array(chosen)) if isinstance(frame, pa.Table) else frame.loc[chosen]


def cell_index(frame: pd.DataFrame, key_columns: Sequence[str]) -> pd.MultiIndex:
    """Each row's cell as normalised (key text..., window_start µs): equal across engines' dtypes, nulls equal."""
    return pd.MultiIndex.from_frame(_normalised(frame[list(key_columns)], frame["window_start"]))


def _normalised(keys: pd.DataFrame, window_start: pd.Series) -> pd.DataFrame:
    """Key columns as normalised text (`key_text`) and `window_start` as µs: the form cells are hashed and matched in."""
    parts = {f"key{i}": key_text(keys.iloc[:, i]) for i in range(keys.shape[1])}
    parts["window_start"] = window_micros(window_start)
    return pd.DataFrame(parts, copy=False)


def utc_timestamps(column: pd.Series) -> pd.Series:
    """A timestamp column as datetime64[us, UTC]; naive values are read as UTC. Already-datetime columns skip
    `pd.to_datetime`, which walks every value of a tz-aware column to decide whether to cache."""
    stamps = column if pd.api.types.is_datetime64_any_dtype(column) else pd.to_datetime(column, utc=True)
    stamps = stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    return stamps.astype("datetime64[us, UTC]")


def window_micros(window_start: pd.Series | pa.ChunkedArray | pa.Array) -> np.ndarray:
    """`window_start` as int64 microseconds since the epoch, UTC. Integers are taken to be microseconds already.
    An Arrow column (what the readers produce) is converted without going through pandas."""
    if isinstance(window_start, pa.ChunkedArray | pa.Array):
        return _arrow_micros(window_start)
    column = window_start
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(column.cat.categories.dtype)
    if column.isna().any():
        raise DataError("window_start", f"{int(column.isna().sum())} row(s) have no window_start; every cell needs one")
    if isinstance(column.dtype, pd.ArrowDtype):
        return _arrow_micros(pa.array(column))
    kind = column.dtype.kind
    if kind in "iu":
        return np.asarray(column, dtype=np.int64)
    if kind == "M":  # datetime64, naive or tz-aware: `.values` is UTC for tz-aware columns
        return np.asarray(column.values).astype("datetime64[us]").view(np.int64)
    if kind == "f":  # whole microseconds that went through a float column (an empty or merged frame)
        values = column.to_numpy(dtype=np.float64)
        if np.array_equal(np.floor(values), values) and (np.abs(values) < 2.0**53).all():
            return np.asarray(values, dtype=np.int64)
    if kind == "O":
        return window_micros(pd.Series(pd.to_datetime(column, utc=True)))
    raise DataError("window_start", f"dtype {column.dtype} is neither int64 microseconds nor a timestamp")


def _arrow_micros(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """An Arrow timestamp (any unit; Arrow stores UTC instants) or integer column as int64 microseconds."""
    kind = column.type
    if not (pa.types.is_timestamp(kind) or pa.types.is_integer(kind)):
        return window_micros(column.to_pandas())
    if column.null_count:
        raise DataError("window_start", f"{column.null_count} row(s) have no window_start; every cell needs one")
    if pa.types.is_timestamp(kind):
        column = column.cast(pa.timestamp("us", tz=kind.tz)).cast(pa.int64())
    return np.asarray(column.to_numpy(), dtype=np.int64)


def key_text(column: pd.Series) -> np.ndarray:
    """One key column as an object array of normalised text (see the module docstring); nulls are `NULL_KEY`."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        column = column.astype(object)
    null = column.isna().to_numpy(dtype=bool)
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype):
        text = np.where(column.to_numpy(dtype=bool, na_value=False), TRUE_KEY, FALSE_KEY).astype(object)
    elif pd.api.types.is_integer_dtype(dtype):
        text = column.to_numpy(dtype=getattr(dtype, "numpy_dtype", dtype), na_value=0).astype(str).astype(object)
    elif pd.api.types.is_float_dtype(dtype):
        text = _float_text(column.to_numpy(dtype=np.float64, na_value=np.nan))
    elif pd.api.types.is_datetime64_any_dtype(dtype):
        text = np.full(len(column), NULL_KEY, dtype=object)
        text[~null] = window_micros(column[~null]).astype(str)
    elif isinstance(dtype, pd.StringDtype) or (
        isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype)
    ):
        text = _escaped(column.to_numpy(dtype=object, na_value=""))
    else:
        values = column.to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
            text = values.copy()
            text[null] = ""
            text = _escaped(text)
        else:
            text = np.array([_scalar_text(v) for v in values], dtype=object)
    text[null] = NULL_KEY
    return text


def _escaped(text: np.ndarray) -> np.ndarray:
    """Strings (no nulls), those that begin with `MARK` or hold a NUL written as `_escape` does."""
    if len(text) == 0:
        return text
    strings = pa.array(text, type=pa.large_string())
    data = strings.buffers()[2]
    if data is None or np.frombuffer(data, dtype=np.uint8).min(initial=2) > 1:  # no byte 0 or 1 anywhere
        return text
    odd = pc.or_(pc.starts_with(strings, MARK), pc.match_substring(strings, "\x00"))
    marked = np.flatnonzero(odd.to_numpy(zero_copy_only=False))
    text[marked] = [_escape(value) for value in text[marked]]
    return text


def _escape(value: str) -> str:
    """A string key as text: itself, or `MARK` + `s` + its UTF-8 in hex when it begins with `MARK` or holds a NUL."""
    if value.startswith(MARK) or "\x00" in value:
        return f"{MARK}s{value.encode('utf-8', 'surrogatepass').hex()}"
    return value


def _float_text(values: np.ndarray) -> np.ndarray:
    """Whole numbers as integers (`5.0` -> `5`), others as Python's repr (`0.1`); NaN is null."""
    text = np.full(len(values), NULL_KEY, dtype=object)
    whole = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < _TWO_63)
    text[whole] = values[whole].astype(np.int64).astype(str)
    rest = np.flatnonzero(~whole & ~np.isnan(values))
    text[rest] = [_number_text(float(values[i])) for i in rest]
    return text


def _number_text(value: float) -> str:
    if math.isfinite(value) and value == math.floor(value):
        return str(int(value))
    return repr(value)


def _scalar_text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return NULL_KEY
    if isinstance(value, str):
        return _escape(value)
    if isinstance(value, bool | np.bool_):
        return TRUE_KEY if value else FALSE_KEY
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return NULL_KEY if math.isnan(value) else _number_text(float(value))
    if isinstance(value, decimal.Decimal):
        return str(int(value)) if value == value.to_integral_value() else str(value.normalize())
    if isinstance(value, dt.datetime | np.datetime64):
        stamp = pd.Timestamp(value)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
        return str((stamp - pd.Timestamp(_EPOCH)) // pd.Timedelta(microseconds=1))
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    return str(value)


def _hash_key(feature: str) -> str:
    """pandas' SipHash key: 16 ASCII characters derived from the feature name, so each feature samples afresh."""
    return hashlib.blake2b(f"parity-sample:{feature}".encode(), digest_size=8).hexdigest()
