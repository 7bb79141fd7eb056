"""Compare: line up the offline (ground truth) and online (realtime) values of every sampled cell.

A cell is `(key..., window_start)`. The online frame is the realtime output as written, several panes per cell;
under ACCUMULATING panes the realtime value of a cell is its last pane, the row with the highest `pane_index`.
The two sides are joined full-outer and null-safe (a null key equals a null key) on the keys and `window_start`,
and every cell gets exactly one `CellStatus`, first rule that applies:

1. `missing_online`: no online row for the cell;
2. `duplicate_online`: more than one online row carries the cell's highest `pane_index`;
3. `missing_offline`: no offline row for the cell;
4. `value_mismatch`: some value column disagrees (below);
5. `match`.

A numeric value agrees when both sides are in the same class among null, NaN, +inf and -inf (null == null,
NaN == NaN, +inf == +inf), or both are finite and

    |online - offline| <= abs + rel * |offline|

with the feature's `Tolerance(abs, rel)` for that column; a finite number never equals a non-finite one, and
neither equals null. A plain float64 column cannot hold null, so a NaN there is NaN; carry nulls in a nullable
dtype (`Float64`, `Int64`, Arrow, or `object` with None) to keep them apart. Non-numeric values agree when
both are null or both are equal.

The join works on one int64 code per cell, built from pandas' factorisation of each key column over both sides
(keys are normalised as in `parity.sample` when the two sides' dtypes differ, so `5` online is `"5"` offline)
and from `window_start` in integer microseconds UTC; every step is a numpy array operation, no Python loop
per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.errors import DataError, QueryError
from parity.result import CellStatus
from parity.sample import key_text, window_micros
from parity.spec import FeatureSpec, Tolerance

_STATUSES = tuple(CellStatus)
_CODE = {status: np.int8(i) for i, status in enumerate(_STATUSES)}
_INT64_MIN = np.iinfo(np.int64).min
_COMBINE_LIMIT = 2**62

# value classes: only FINITE values are compared with the tolerance formula
_FINITE, _NULL, _NAN, _POS_INF, _NEG_INF = range(5)


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """The outcome of `compare`, one row per sampled cell.

    `cells` has the key columns, `window_start` and `window_end` (int64 microseconds UTC; `window_end` is
    `window_start` plus the spec's window size), `status` (categorical of `CellStatus` values) and, per value
    column `v`, `v_online` and `v_offline` (null where that side has no row). `counts` holds every status,
    zeros included. `compared` is the number of cells (every sampled cell, whichever side it came from),
    `matched` the number of matches, and `agreement = matched / compared`, or None when `compared == 0`:
    an empty sample shows nothing, neither full agreement nor none.
    """

    cells: pd.DataFrame
    counts: dict[CellStatus, int]
    compared: int
    matched: int
    agreement: float | None

    def divergent(self) -> pd.DataFrame:
        """The cells whose status is anything but `match`."""
        return self.cells.loc[self.cells["status"] != CellStatus.MATCH.value]


def compare(offline: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec) -> Comparison:
    """Join `offline` and `online` cell by cell and give each cell one `CellStatus` (see the module docstring).

    `offline` has one row per cell: the keys, `window_start` and the value columns. `online` has the keys, the
    values, `window_start` and `pane_index` (other columns such as `window_end`, `pane_timing` and `emitted_at`
    are carried but not used). A value agrees when `|online - offline| <= abs + rel * |offline|`.
    """
    _require(offline, (*spec.cell_columns, *spec.values), "offline result", spec)
    _require(online, (*spec.cell_columns, *spec.values, "pane_index"), "online output", spec)
    n_offline = len(offline)
    cell, n_cells, key_values, micros = _cell_codes(offline, online, spec)
    offline_cell, online_cell = cell[:n_offline], cell[n_offline:]

    offline_row = np.full(n_cells, -1, dtype=np.int64)
    offline_row[offline_cell] = np.arange(n_offline)
    if n_offline and np.bincount(offline_cell, minlength=n_cells).max() > 1:
        raise QueryError(spec.name, f"the result repeats cells; GROUP BY exactly {', '.join(spec.cell_columns)}")
    try:
        pane = online["pane_index"].to_numpy(dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"online output of {spec.name}", "pane_index must be a non-null integer") from exc
    online_row, last_panes = _last_panes(online_cell, pane, n_cells)

    has_offline = offline_row >= 0
    has_online = online_row >= 0
    agree = np.ones(n_cells, dtype=bool)
    value_columns: dict[str, object] = {}
    for name, tolerance in spec.tolerance.items():
        online_value = _Values.of(online[name]).take(online_row, has_online)
        offline_value = _Values.of(offline[name]).take(offline_row, has_offline)
        agree &= _agree(online_value, offline_value, tolerance)
        value_columns[f"{name}_online"] = online_value.column()
        value_columns[f"{name}_offline"] = offline_value.column()

    code = np.where(agree, _CODE[CellStatus.MATCH], _CODE[CellStatus.VALUE_MISMATCH])
    code[~has_offline] = _CODE[CellStatus.MISSING_OFFLINE]
    code[last_panes > 1] = _CODE[CellStatus.DUPLICATE_ONLINE]
    code[~has_online] = _CODE[CellStatus.MISSING_ONLINE]

    source = np.where(has_offline, offline_row, n_offline + online_row)
    columns: dict[str, object] = {key: _take_keys(values, source) for key, values in key_values.items()}
    columns["window_start"] = micros[source]
    columns["window_end"] = columns["window_start"] + spec.window.size_us
    columns["status"] = pd.Categorical.from_codes(code, categories=[s.value for s in _STATUSES])
    columns.update(value_columns)
    cells = pd.DataFrame(columns, copy=False)

    tally = np.bincount(code, minlength=len(_STATUSES))
    counts = {status: int(tally[_CODE[status]]) for status in _STATUSES}
    matched = counts[CellStatus.MATCH]
    return Comparison(
        cells=cells,
        counts=counts,
        compared=n_cells,
        matched=matched,
        agreement=matched / n_cells if n_cells else None,
    )


# --- the join: one dense int64 code per cell ----------------------------------------------------------


def _cell_codes(
    offline: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec
) -> tuple[np.ndarray, int, dict[str, pd.Series | np.ndarray], np.ndarray]:
    """Dense cell codes 0..n-1 for the offline rows followed by the online rows, the number of cells, each key
    column over both sides (as joined) and `window_start` in microseconds over both sides."""
    total = len(offline) + len(online)
    code = np.zeros(total, dtype=np.int64)
    size = 1
    key_values: dict[str, pd.Series | np.ndarray] = {}
    for key in spec.keys:
        values = _joined_keys(offline[key], online[key])
        codes, uniques = pd.factorize(values)  # nulls get -1: one code for every null, so null == null
        codes += 1
        code, size = _combine(code, size, codes, len(uniques) + 1)
        key_values[key] = values
    micros = np.concatenate([window_micros(offline["window_start"]), window_micros(online["window_start"])])
    codes, n_windows = _window_codes(micros, spec.window.slide_us)
    code, size = _combine(code, size, codes, n_windows)
    dense, n_cells = _dense(code, size)
    return dense, n_cells, key_values, micros


def _joined_keys(offline: pd.Series, online: pd.Series) -> pd.Series | np.ndarray:
    """One key column over both sides, offline rows first. Same dtype on both sides: joined as is; otherwise
    (or for object columns that hold anything but strings) both sides as `parity.sample.key_text`."""
    if offline.dtype == online.dtype and (offline.dtype != object or (_all_text(offline) and _all_text(online))):
        return pd.concat([offline, online], ignore_index=True)
    return np.concatenate([key_text(offline), key_text(online)])


def _all_text(column: pd.Series) -> bool:
    return pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty")


def _window_codes(micros: np.ndarray, slide_us: int) -> tuple[np.ndarray, int]:
    """Codes for window starts: their position on the slide grid when they all lie on it, else a factorisation."""
    if len(micros) == 0:
        return micros, 1
    low = micros.min()
    steps, off_grid = np.divmod(micros - low, slide_us)
    span = int(steps.max()) + 1
    if not off_grid.any() and span <= 4 * len(micros) + 1024:
        return steps, span
    codes, uniques = pd.factorize(micros)
    return codes, len(uniques)


def _combine(code: np.ndarray, size: int, codes: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    if size * n >= _COMBINE_LIMIT:
        code, size = _dense(code, size)
    return code * n + codes, size * n


def _dense(code: np.ndarray, size: int) -> tuple[np.ndarray, int]:
    """Renumber codes to 0..n-1: through a presence table when the code space is small, else a factorisation."""
    if size <= 4 * len(code) + 1024:
        present = np.zeros(size, dtype=bool)
        present[code] = True
        renumber = np.cumsum(present, dtype=np.int64) - 1
        return renumber[code], int(renumber[-1]) + 1 if size else 0
    dense, uniques = pd.factorize(code)
    return dense.astype(np.int64, copy=False), len(uniques)


def _last_panes(online_cell: np.ndarray, pane: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the online row of its last pane (-1 if none) and how many rows carry that last pane."""
    top = np.full(n_cells, _INT64_MIN, dtype=np.int64)
    np.maximum.at(top, online_cell, pane)
    last = np.flatnonzero(pane == top[online_cell])
    last_cell = online_cell[last]
    row = np.full(n_cells, -1, dtype=np.int64)
    row[last_cell] = last
    return row, np.bincount(last_cell, minlength=n_cells)


def _take_keys(values: pd.Series | np.ndarray, source: np.ndarray) -> pd.Series | np.ndarray:
    if isinstance(values, pd.Series):
        return pd.Series(values.array.take(source), copy=False)
    return values[source]


def _require(frame: pd.DataFrame, columns: tuple[str, ...], side: str, spec: FeatureSpec) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{side} of {spec.name}", f"missing column(s) {missing}")


# --- values: numbers by class and tolerance, anything else by equality --------------------------------


@dataclass(frozen=True, slots=True)
class _Values:
    """One value column as a plain numpy array plus a null mask. `data` is float64 or int64 for numbers."""

    data: np.ndarray
    null: np.ndarray
    numeric: bool

    @classmethod
    def of(cls, column: pd.Series) -> _Values:
        dtype = column.dtype
        if isinstance(dtype, pd.ArrowDtype) or dtype == object:
            return cls._from_arrow(column)
        if pd.api.types.is_bool_dtype(dtype):
            return cls(column.to_numpy(dtype=bool, na_value=False), column.isna().to_numpy(), numeric=False)
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
            wide = np.float64 if dtype.kind == "f" else np.int64
            return cls(column.to_numpy(dtype=wide), np.zeros(len(column), dtype=bool), numeric=True)
        if pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype):  # Float64, Int64: masked
            wide = np.float64 if pd.api.types.is_float_dtype(dtype) else np.int64
            return cls(column.to_numpy(dtype=wide, na_value=0), column.isna().to_numpy(), numeric=True)
        return cls(column.to_numpy(dtype=object), column.isna().to_numpy(), numeric=False)

    @classmethod
    def _from_arrow(cls, column: pd.Series) -> _Values:
        """Arrow keeps null (missing) and NaN (a float) apart; so does an object column of None and nan."""
        try:
            arrow = pa.array(column, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return cls(column.to_numpy(dtype=object), column.isna().to_numpy(), numeric=False)
        null = arrow.is_null().to_numpy(zero_copy_only=False)
        kind = arrow.type
        if pa.types.is_integer(kind):
            return cls(arrow.fill_null(0).cast(pa.int64()).to_numpy(), null, numeric=True)
        if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            return cls(arrow.cast(pa.float64()).fill_null(0.0).to_numpy(), null, numeric=True)
        return cls(column.to_numpy(dtype=object), column.isna().to_numpy(), numeric=False)

    def take(self, row: np.ndarray, present: np.ndarray) -> _Values:
        """The values at `row` per cell; a cell without a row (`present` false) is null."""
        if len(self.data) == 0:
            empty = np.zeros(len(row), dtype=self.data.dtype)
            return _Values(empty, np.ones(len(row), dtype=bool), self.numeric)
        at = np.where(present, row, 0)
        return _Values(self.data[at], self.null[at] | ~present, self.numeric)

    def classes(self) -> np.ndarray:
        kind = np.full(len(self.data), _FINITE, dtype=np.int8)
        if self.data.dtype.kind == "f":
            odd = ~np.isfinite(self.data)
            if odd.any():
                kind[odd & np.isnan(self.data)] = _NAN
                kind[odd & (self.data > 0)] = _POS_INF
                kind[odd & (self.data < 0)] = _NEG_INF
        kind[self.null] = _NULL
        return kind

    def column(self) -> pd.api.extensions.ExtensionArray | np.ndarray:
        """The values as a pandas column that keeps null apart from NaN."""
        kind = self.data.dtype.kind
        if kind == "f":
            return pd.arrays.FloatingArray(self.data, self.null)
        if kind in "iu":
            return pd.arrays.IntegerArray(self.data.astype(np.int64, copy=False), self.null)
        if kind == "b":
            return pd.arrays.BooleanArray(self.data, self.null)
        shown = self.data.astype(object)
        shown[self.null] = None
        return shown


def _agree(online: _Values, offline: _Values, tolerance: Tolerance) -> np.ndarray:
    """Per cell: do the two values agree? Numbers by class, then `|online - offline| <= abs + rel * |offline|`."""
    if online.numeric and offline.numeric:
        online_class, offline_class = online.classes(), offline.classes()
        with np.errstate(invalid="ignore", over="ignore"):
            within = np.abs(online.data - offline.data) <= tolerance.abs + tolerance.rel * np.abs(offline.data)
        return (online_class == offline_class) & ((offline_class != _FINITE) | within)
    both_null = online.null & offline.null
    neither_null = ~online.null & ~offline.null
    with np.errstate(invalid="ignore"):
        equal = np.asarray(online.data.astype(object) == offline.data.astype(object), dtype=bool)
    return both_null | (neither_null & equal)
