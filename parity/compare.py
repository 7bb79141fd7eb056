"""Compare: line up the offline (ground truth) and online (realtime) values of every sampled cell.

A cell is `(key..., window_start)`. The online frame is the realtime output as written, several panes per cell;
under ACCUMULATING panes the realtime value of a cell is its last pane, the row with the highest `pane_index`.
When the rows say which file they came from (a `_file` column), the last pane is taken per writer
(`parity.online.files.writer_of`): a cell that two writers wrote has two final panes, one each.
The two sides are joined full-outer and null-safe (a null key equals a null key) on the keys and `window_start`,
and every cell gets exactly one `CellStatus`, first rule that applies:

1. `missing_online`: no online row for the cell;
2. `duplicate_online`: more than one online row is a final pane (two rows of one writer carry its highest
   `pane_index`, or two writers wrote the cell);
3. `missing_offline`: no offline row for the cell;
4. `value_mismatch`: some value column disagrees (below);
5. `match`.

A numeric value agrees when both sides are in the same class among null, NaN, +inf and -inf (null == null,
NaN == NaN, +inf == +inf), or both are finite and

    |online - offline| <= abs + rel * |offline|

with the feature's `Tolerance(abs, rel)` for that column, computed without overflow (a zero tolerance is exact
equality, integers are subtracted exactly where int64 holds the difference, and wherever either side is 2**53
or more in magnitude, where float64 no longer holds every integer, the two numbers (int64, uint64, decimal or
float, as they are) are compared exactly as fractions: uint64 `2**64 - 1` is never int64 `-1`, and int64
`2**53 + 1` is never float64 `2**53`); a finite number never equals a
non-finite one, and neither equals null. A plain float64 column cannot hold null, so a NaN there is NaN; carry nulls in a nullable
dtype (`Float64`, `Int64`, Arrow, or `object` with None) to keep them apart. Non-numeric values agree when
both are null or both are equal.

Each side is a pandas frame or an Arrow table (what the readers produce: Spark's `toArrow()`, Parquet); Arrow
columns are read as Arrow, not converted to pandas first. The join works on one int64 code per cell. A key
column is coded by its distinct values: two Arrow columns of strings (or of integers) by Arrow, the offline
side dictionary-encoded and the online rows looked up in that dictionary (pandas columns of strings too);
other pandas columns factorised on each side, the two small sets of distinct values then unified; and where
the two sides' types differ, both are first normalised as in `parity.sample`, so `5` online is `"5"` offline,
while a null, a boolean and a string never share a text (`True` is not `"True"`). `window_start`, in integer
microseconds UTC, is coded by its step on the slide grid. Every step is an Arrow or numpy array operation, no
Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from parity.errors import DataError, QueryError
from parity.frames import NULLABLE_KEYS
from parity.online.files import writer_of
from parity.result import CellStatus
from parity.sample import NULL_KEY, key_text, window_micros
from parity.spec import FeatureSpec, Tolerance

FILE_COLUMN = "_file"  # the online file a row was read from, when the reader says (`parity.check.read_online`)
_STATUSES = tuple(CellStatus)
_CODE = {status: np.int8(i) for i, status in enumerate(_STATUSES)}
_INT64_MIN = np.iinfo(np.int64).min
_INT64_MAX = int(np.iinfo(np.int64).max)
_TWO_53 = 2.0**53
_COMBINE_LIMIT = 2**62

# value classes: only FINITE values are compared with the tolerance formula
_FINITE, _NULL, _NAN, _POS_INF, _NEG_INF = range(5)

Frame: TypeAlias = pd.DataFrame | pa.Table
Column: TypeAlias = pd.Series | pa.ChunkedArray


@dataclass(frozen=True, slots=True, eq=False)
class Comparison:
    """The outcome of `compare`, one row per sampled cell.

    `cells` has the key columns (categorical: each distinct key stored once; a null key is NaN), `window_start`
    and `window_end` (int64 microseconds UTC; `window_end` is `window_start` plus the spec's window size),
    `status` (categorical of `CellStatus` values) and, per value column `v`, `v_online` and `v_offline`
    (nullable dtypes that keep null apart from NaN; null where that side has no row). Rows come in no promised
    order. `counts` holds every status,
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


def compare(offline: Frame, online: Frame, spec: FeatureSpec) -> Comparison:
    """Join `offline` and `online` cell by cell and give each cell one `CellStatus` (see the module docstring).

    `offline` has one row per cell: the keys, `window_start` and the value columns. `online` has the keys, the
    values, `window_start` and `pane_index` (other columns such as `window_end`, `pane_timing` and `emitted_at`
    are carried but not used). Either is a pandas frame or an Arrow table. A value agrees when
    `|online - offline| <= abs + rel * |offline|`.
    """
    _require(offline, (*spec.cell_columns, *spec.values), "offline result", spec)
    _require(online, (*spec.cell_columns, *spec.values, "pane_index"), "online output", spec)
    keys = [_key_codes(_column(offline, key), _column(online, key)) for key in spec.keys]
    offline_micros = window_micros(_column(offline, "window_start"))
    online_micros = window_micros(_column(online, "window_start"))
    cell = _cells([key_code for key_code, _ in keys], offline_micros, online_micros, spec.window.slide_us)
    n_cells = cell.size

    offline_row = np.full(n_cells, -1, dtype=np.int64)
    offline_row[cell.offline] = np.arange(len(cell.offline))
    if len(cell.offline) and np.bincount(cell.offline, minlength=n_cells).max() > 1:
        raise QueryError(spec.name, f"the result repeats cells; GROUP BY exactly {', '.join(spec.cell_columns)}")
    pane = _pane_index(_column(online, "pane_index"), spec)
    online_row, last_panes = _last_panes(cell.online, pane, n_cells, _writers(online))
    rows = _Rows(offline_row, online_row)
    window_start = rows.pick(offline_micros, online_micros)
    key_columns = {
        key: _key_column(uniques, rows.pick(key_code.offline, key_code.online) - 1)
        for key, (key_code, uniques) in zip(spec.keys, keys, strict=True)
    }

    has_offline = offline_row >= 0
    has_online = online_row >= 0
    agree = np.ones(n_cells, dtype=bool)
    value_columns: dict[str, object] = {}
    for name, tolerance in spec.tolerance.items():
        online_value = _Values.of(_column(online, name)).take(online_row, has_online)
        offline_value = _Values.of(_column(offline, name)).take(offline_row, has_offline)
        agree &= _agree(online_value, offline_value, tolerance)
        value_columns[f"{name}_online"] = online_value.column()
        value_columns[f"{name}_offline"] = offline_value.column()

    code = np.where(agree, _CODE[CellStatus.MATCH], _CODE[CellStatus.VALUE_MISMATCH])
    code[~has_offline] = _CODE[CellStatus.MISSING_OFFLINE]
    code[last_panes > 1] = _CODE[CellStatus.DUPLICATE_ONLINE]
    code[~has_online] = _CODE[CellStatus.MISSING_ONLINE]

    columns: dict[str, object] = dict(key_columns)
    columns["window_start"] = window_start
    columns["window_end"] = window_start + spec.window.size_us
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


@dataclass(frozen=True, slots=True)
class _Codes:
    """Integer codes of one quantity for every offline row and every online row, numbered 0..size-1 in common."""

    offline: np.ndarray
    online: np.ndarray
    size: int


def _cells(keys: list[_Codes], offline_micros: np.ndarray, online_micros: np.ndarray, slide_us: int) -> _Codes:
    """The dense cell code of every row on both sides, from the codes of its keys and its window start (µs)."""
    code = _window_codes(offline_micros, online_micros, slide_us)
    for key_code in reversed(keys):
        code = _combine(key_code, code)
    return _dense(code)


@dataclass(frozen=True, slots=True)
class _Rows:
    """Per cell: its offline row and the online row of its last pane, -1 where that side has none."""

    offline: np.ndarray
    online: np.ndarray

    def pick(self, offline: np.ndarray, online: np.ndarray) -> np.ndarray:
        """Per cell, the offline rows' value where the cell has an offline row, else its online row's."""
        has_offline = self.offline >= 0
        if len(offline):
            picked = offline[np.where(has_offline, self.offline, 0)]
        else:
            picked = np.empty(len(self.offline), dtype=online.dtype)
        only_online = np.flatnonzero(~has_offline)
        picked[only_online] = online[self.online[only_online]]
        return picked


def _key_codes(offline: Column, online: Column) -> tuple[_Codes, pd.Series]:
    """Codes of one key column: 0 for null on either side (so null == null), 1.. for the values, and the values.

    Two Arrow columns of strings, or of integers, are encoded by Arrow as they are, and so are two pandas
    columns of nothing but strings (pandas factorises object strings as C strings: `"a\x00b"` would be `"a"`);
    two pandas columns of one other dtype are factorised as they are; otherwise both sides are first
    normalised to text as the sampler does (`parity.sample.key_text`: a null, a boolean and a string never
    share a text)."""
    if not isinstance(offline, pa.ChunkedArray) or not isinstance(online, pa.ChunkedArray):
        offline, online = _strings(offline), _strings(online)
    if isinstance(offline, pa.ChunkedArray) and isinstance(online, pa.ChunkedArray):
        same = _same_arrow_type(offline, online)
        if same is not None:
            return _encode_pair(*same)
    offline, online = _series(offline), _series(online)
    if offline.dtype == online.dtype and offline.dtype != object and not isinstance(offline.dtype, pd.StringDtype):
        offline_codes, online_codes, uniques = _factorize_pair(offline, online)
        return _Codes(offline_codes + 1, online_codes + 1, len(uniques) + 1), uniques
    offline_codes, online_codes, uniques = _factorize_pair(pd.Series(key_text(offline)), pd.Series(key_text(online)))
    marker = np.flatnonzero(uniques.to_numpy() == NULL_KEY)
    if len(marker):  # the normalised null is a null again
        for codes in (offline_codes, online_codes):
            codes[codes == marker[0]] = -1
            codes[codes > marker[0]] -= 1
        uniques = uniques.drop(index=marker[0]).reset_index(drop=True)
    return _Codes(offline_codes + 1, online_codes + 1, len(uniques) + 1), uniques


def _strings(column: Column) -> Column:
    """A pandas column of nothing but strings (and nulls) as Arrow strings; any other column as it is."""
    if isinstance(column, pd.Series) and (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
        try:
            strings = pa.array(column, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            return column
        if _is_text(strings.type) or (pa.types.is_null(strings.type) and len(strings) == 0):
            return pa.chunked_array([strings.cast(pa.large_string())])
    return column


def _same_arrow_type(
    offline: pa.ChunkedArray, online: pa.ChunkedArray
) -> tuple[pa.ChunkedArray, pa.ChunkedArray] | None:
    """Both key columns in one Arrow type whose values are equal exactly when their text is (strings, integers),
    or None: floats (NaN is a null key), dictionaries and other types take the normalised-text path."""
    for kinds, common in ((pa.types.is_integer, pa.int64()), (_is_text, pa.large_string())):
        if kinds(offline.type) and kinds(online.type):
            if offline.type == online.type:
                return offline, online
            try:
                return offline.cast(common), online.cast(common)
            except pa.ArrowInvalid:  # a uint64 beyond int64
                return None
    return None


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind))


def _encode_pair(offline: pa.ChunkedArray, online: pa.ChunkedArray) -> tuple[_Codes, pd.Series]:
    """`_key_codes` of two Arrow columns of one type: the offline side (one row per cell) dictionary-encoded, the
    online rows (several panes per cell) looked up in its dictionary, and only the online values it lacks
    encoded afresh."""
    encoded = offline.dictionary_encode()
    known = encoded.chunk(encoded.num_chunks - 1).dictionary if encoded.num_chunks else pa.array([], offline.type)
    offline_codes = _indices(encoded)
    online_codes = pc.fill_null(pc.index_in(online, value_set=known), -1).to_numpy().astype(np.int64)
    online_codes += 1
    unfound = int(np.count_nonzero(online_codes == 0)) - online.null_count
    if unfound:
        unknown = np.flatnonzero((online_codes == 0) & online.is_valid().to_numpy())
        extra = online.take(pa.array(unknown)).dictionary_encode()
        online_codes[unknown] = _indices(extra) + len(known)
        known = pa.concat_arrays([known, *(chunk.dictionary for chunk in extra.chunks[-1:])])
    uniques = pd.Series(known.to_pandas(), copy=False)
    return _Codes(offline_codes, online_codes, len(uniques) + 1), uniques


def _indices(encoded: pa.ChunkedArray) -> np.ndarray:
    """1 + the dictionary index of each value of a dictionary-encoded column (Arrow shares one dictionary across
    its chunks), 0 for null."""
    indices = pa.chunked_array([chunk.indices for chunk in encoded.chunks], type=pa.int32())
    codes: np.ndarray = pc.fill_null(indices, -1).to_numpy().astype(np.int64)
    codes += 1
    return codes


def _series(column: Column) -> pd.Series:
    """A column as pandas: Arrow integers and booleans in nullable dtypes, floats as float64 (a null key and a
    NaN key are one null, as in `parity.sample.key_text`)."""
    if isinstance(column, pd.Series):
        return column
    return column.to_pandas(types_mapper=NULLABLE_KEYS.get)


def _factorize_pair(offline: pd.Series, online: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """Factorise each side on its own (no concatenation of the big columns), then unify the small uniques.
    Codes are 0..len(uniques)-1, -1 for null."""
    offline_codes, offline_uniques = pd.factorize(offline)
    online_codes, online_uniques = pd.factorize(online)
    joint = pd.concat([pd.Series(offline_uniques), pd.Series(online_uniques)], ignore_index=True)
    joint_codes, uniques = pd.factorize(joint)
    lookup = np.concatenate([[-1], joint_codes]).astype(np.int64)
    split = len(offline_uniques) + 1
    return (
        lookup[:split][offline_codes + 1],
        np.concatenate([[-1], lookup[split:]])[online_codes + 1],
        pd.Series(uniques),
    )


def _key_column(uniques: pd.Series, at: np.ndarray) -> pd.Categorical:
    """`uniques[at]` as a categorical (no copy of the values), null where `at` is -1."""
    return pd.Categorical.from_codes(at, dtype=pd.CategoricalDtype(uniques.array, ordered=False), validate=False)


def _window_codes(offline: np.ndarray, online: np.ndarray, slide_us: int) -> _Codes:
    """Codes for window starts: their step on the slide grid when all lie on it, else a factorisation."""
    if len(offline) + len(online) == 0:
        return _Codes(offline, online, 1)
    low = min(int(side.min()) for side in (offline, online) if len(side))
    high = max(int(side.max()) for side in (offline, online) if len(side))
    span = (high - low) // slide_us + 1
    if span <= 4 * (len(offline) + len(online)) + 1024 and high - low < 2**62:
        offline_steps = _steps(offline, low, slide_us)
        online_steps = _steps(online, low, slide_us) if offline_steps is not None else None
        if offline_steps is not None and online_steps is not None:
            return _Codes(offline_steps, online_steps, span)
    offline_codes, online_codes, uniques = _factorize_pair(pd.Series(offline), pd.Series(online))
    return _Codes(offline_codes, online_codes, len(uniques))


def _steps(micros: np.ndarray, low: int, slide_us: int) -> np.ndarray | None:
    """`(micros - low) / slide_us` when every value lies on that grid, else None. In place where it can be: at
    tens of millions of rows, each new array costs its page faults."""
    steps = micros - low
    steps //= slide_us
    back = steps * slide_us
    back += low
    return steps if np.array_equal(back, micros) else None


def _combine(outer: _Codes, inner: _Codes) -> _Codes:
    """One code for the pair (outer, inner), renumbering `outer` first if the product would overflow."""
    if outer.size * inner.size >= _COMBINE_LIMIT:
        outer = _dense(outer)
    offline, online = outer.offline * inner.size, outer.online * inner.size
    offline += inner.offline
    online += inner.online
    return _Codes(offline, online, outer.size * inner.size)


def _dense(code: _Codes) -> _Codes:
    """Renumber to 0..n-1 over the codes in use: a presence table when the code space is small, else factorise."""
    rows = len(code.offline) + len(code.online)
    if code.size <= 4 * rows + 1024:
        present = np.zeros(code.size, dtype=bool)
        present[code.offline] = True
        present[code.online] = True
        renumber = np.cumsum(present, dtype=np.int64) - 1
        used = int(renumber[-1]) + 1 if code.size else 0
        return _Codes(renumber[code.offline], renumber[code.online], used)
    offline_codes, online_codes, uniques = _factorize_pair(pd.Series(code.offline), pd.Series(code.online))
    return _Codes(offline_codes, online_codes, len(uniques))


def _pane_index(column: Column, spec: FeatureSpec) -> np.ndarray:
    """The online rows' `pane_index` as int64; a null or fractional one is a DataError."""
    try:
        if isinstance(column, pa.ChunkedArray):
            if column.null_count:
                raise ValueError("null pane_index")
            return np.asarray(column.cast(pa.int64()).to_numpy(), dtype=np.int64)
        return np.asarray(column.to_numpy(dtype=np.int64), dtype=np.int64)
    except (TypeError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"online output of {spec.name}", "pane_index must be a non-null integer") from exc


def _last_panes(
    online_cell: np.ndarray, pane: np.ndarray, n_cells: int, writer: tuple[np.ndarray, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: the online row of its last pane (-1 if none) and how many rows are a final pane: the rows
    carrying the highest `pane_index` of their writer (`writer`: a code per row and the number of codes;
    None: one writer). A cell two writers wrote has two final panes, whatever their indexes."""
    row = np.full(n_cells, -1, dtype=np.int64)
    rows_per_cell = np.bincount(online_cell, minlength=n_cells)
    if len(online_cell) == 0 or rows_per_cell.max() <= 1:  # one pane per cell: it is the last
        row[online_cell] = np.arange(len(online_cell))
        return row, rows_per_cell
    group, n_groups = online_cell, n_cells
    if writer is not None and writer[1] > 1:
        group, n_groups = online_cell * writer[1] + writer[0], n_cells * writer[1]
    top = np.full(n_groups, _INT64_MIN, dtype=np.int64)
    np.maximum.at(top, group, pane)
    last = np.flatnonzero(pane == top[group])
    if group is not online_cell:  # the cell's row is its final pane of the highest index
        last = last[np.argsort(pane[last], kind="stable")]
    last_cell = online_cell[last]
    row[last_cell] = last
    return row, np.bincount(last_cell, minlength=n_cells)


def _writers(online: Frame) -> tuple[np.ndarray, int] | None:
    """The writer of each online row (`parity.online.files.writer_of` its `_file`) as a code, and how many
    writers there are; None when the rows do not say which file they came from."""
    names = online.column_names if isinstance(online, pa.Table) else online.columns
    if FILE_COLUMN not in names:
        return None
    files = _column(online, FILE_COLUMN)
    if isinstance(files, pa.ChunkedArray):
        files = files.to_pandas()
    categorical = files.astype("category") if not isinstance(files.dtype, pd.CategoricalDtype) else files
    writer_codes, writers = pd.factorize(np.array([writer_of(str(f)) for f in categorical.cat.categories], dtype=object))
    file_codes = categorical.cat.codes.to_numpy()
    codes = np.where(file_codes >= 0, np.append(writer_codes, 0)[file_codes], 0).astype(np.int64)
    return codes, max(len(writers), 1)


def _column(frame: Frame, name: str) -> Column:
    return frame.column(name) if isinstance(frame, pa.Table) else frame[name]


def _require(frame: Frame, columns: tuple[str, ...], side: str, spec: FeatureSpec) -> None:
    names = frame.column_names if isinstance(frame, pa.Table) else frame.columns
    missing = [c for c in columns if c not in names]
    if missing:
        raise DataError(f"{side} of {spec.name}", f"missing column(s) {missing}")


# --- values: numbers by class and tolerance, anything else by equality --------------------------------


@dataclass(frozen=True, slots=True)
class _Values:
    """One value column as a plain numpy array plus a null mask. `data` is float64 or int64 for numbers;
    `exact`, when set, holds per row the number itself (a Python int or Decimal) where `data` cannot (a uint64
    beyond int64, a decimal past 2**53), None elsewhere."""

    data: np.ndarray
    null: np.ndarray
    numeric: bool
    exact: np.ndarray | None = None

    @classmethod
    def of(cls, column: Column) -> _Values:
        if isinstance(column, pa.ChunkedArray):
            return cls._from_arrow(column)
        dtype = column.dtype
        if isinstance(dtype, pd.ArrowDtype) or dtype == object:
            try:  # Arrow keeps null (missing) and NaN (a float) apart; so does an object column of None and nan
                arrow = pa.chunked_array([pa.array(column, from_pandas=False)])
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                arrow = None
            if arrow is not None and _is_number(arrow.type):
                return cls._from_arrow(arrow)
            return cls(column.to_numpy(dtype=object), column.isna().to_numpy(), numeric=False)
        if pd.api.types.is_bool_dtype(dtype):
            return cls(column.to_numpy(dtype=bool, na_value=False), column.isna().to_numpy(), numeric=False)
        if isinstance(dtype, np.dtype) and dtype.kind in "iuf" or (
            pd.api.types.is_float_dtype(dtype) or pd.api.types.is_integer_dtype(dtype)  # Float64, Int64: masked
        ):
            return cls._from_arrow(pa.chunked_array([pa.array(column, from_pandas=dtype.kind != "f")]))
        return cls(column.to_numpy(dtype=object), column.isna().to_numpy(), numeric=False)

    @classmethod
    def _from_arrow(cls, column: pa.ChunkedArray) -> _Values:
        """Numbers, booleans and strings straight from Arrow (null is not NaN there); other types through pandas."""
        kind = column.type
        null = column.is_null().to_numpy() if column.null_count else np.zeros(len(column), dtype=bool)
        if pa.types.is_integer(kind):
            if pa.types.is_uint64(kind) and (pc.max(column).as_py() or 0) > _INT64_MAX:
                return cls._beyond_float(column, null)
            return cls(column.fill_null(0).cast(pa.int64()).to_numpy(), null, numeric=True)
        if pa.types.is_decimal(kind):
            return cls._beyond_float(column, null)
        if pa.types.is_floating(kind):
            return cls(column.cast(pa.float64()).fill_null(0.0).to_numpy(), null, numeric=True)
        if pa.types.is_boolean(kind):
            return cls(column.fill_null(False).to_numpy(), null, numeric=False)
        if _is_text(kind) or pa.types.is_null(kind):
            return cls(np.asarray(column.to_numpy(), dtype=object), null, numeric=False)
        return cls.of(_series(column))

    @classmethod
    def _beyond_float(cls, column: pa.ChunkedArray, null: np.ndarray) -> _Values:
        """A decimal or a uint64 column beyond int64: float64 data, and the exact number where it is past 2**53."""
        data = np.asarray(column.cast(pa.float64(), safe=False).fill_null(0.0).to_numpy(), dtype=np.float64)
        big = np.flatnonzero(np.abs(data) >= _TWO_53)
        if len(big) == 0:
            return cls(data, null, numeric=True)
        exact = np.full(len(data), None, dtype=object)
        exact[big] = column.take(pa.array(big)).to_pylist()
        return cls(data, null, numeric=True, exact=exact)

    def take(self, row: np.ndarray, present: np.ndarray) -> _Values:
        """The values at `row` per cell; a cell without a row (`present` false) is null."""
        if len(self.data) == 0:
            empty = np.zeros(len(row), dtype=self.data.dtype)
            return _Values(empty, np.ones(len(row), dtype=bool), self.numeric)
        at = row if present.all() else np.where(present, row, 0)
        null = self.null[at] if present.all() else self.null[at] | ~present
        return _Values(self.data[at], null, self.numeric, None if self.exact is None else self.exact[at])

    def at(self, rows: np.ndarray) -> _Values:
        return _Values(self.data[rows], self.null[rows], self.numeric, None if self.exact is None else self.exact[rows])

    def big(self) -> np.ndarray:
        """Where the value is a finite number of magnitude 2**53 or more: float64 no longer holds every integer."""
        if self.data.dtype.kind == "f":
            with np.errstate(invalid="ignore"):
                return np.asarray((np.abs(self.data) >= _TWO_53) & np.isfinite(self.data) & ~self.null, dtype=bool)
        return np.asarray(((self.data >= 2**53) | (self.data <= -(2**53))) & ~self.null, dtype=bool)

    def number(self, i: int) -> Fraction:
        """The value at row `i`, exactly."""
        if self.exact is not None and self.exact[i] is not None:
            return Fraction(self.exact[i])
        value = self.data[i]
        return Fraction(int(value)) if self.data.dtype.kind in "iu" else Fraction(float(value))

    def unusual(self) -> np.ndarray:
        """Where the value is not a finite number: null, NaN or an infinity."""
        if self.data.dtype.kind == "f":
            return np.asarray(~np.isfinite(self.data) | self.null, dtype=bool)
        return self.null

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
        """The values as a pandas column that keeps null apart from NaN; numbers float64 cannot hold (`exact`)
        as an object column of the numbers themselves."""
        kind = self.data.dtype.kind
        if self.exact is not None:
            shown = self.data.astype(object)
            held = np.flatnonzero([number is not None for number in self.exact])
            shown[held] = self.exact[held]
            shown[self.null] = None
            return shown
        if kind == "f":
            return pd.arrays.FloatingArray(self.data, self.null)
        if kind in "iu":
            return pd.arrays.IntegerArray(self.data.astype(np.int64, copy=False), self.null)
        if kind == "b":
            return pd.arrays.BooleanArray(self.data, self.null)
        shown = self.data.astype(object)
        shown[self.null] = None
        return shown


def _is_number(kind: pa.DataType) -> bool:
    return bool(pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind))


def _agree(online: _Values, offline: _Values, tolerance: Tolerance) -> np.ndarray:
    """Per cell: do the two values agree? Numbers by class, then `|online - offline| <= abs + rel * |offline|`."""
    if online.numeric and offline.numeric:
        within = _within(online.data, offline.data, tolerance)
        unusual = online.unusual() | offline.unusual()
        for i in np.flatnonzero((online.big() | offline.big()) & ~unusual).tolist():  # past 2**53: float64 is not exact
            within[i] = abs(online.number(i) - offline.number(i)) <= (
                Fraction(tolerance.abs) + Fraction(tolerance.rel) * abs(offline.number(i)))
        odd = np.flatnonzero(unusual)
        if len(odd):  # a null, NaN or infinity on either side: the value classes alone decide
            within[odd] = online.at(odd).classes() == offline.at(odd).classes()
        return within
    both_null = online.null & offline.null
    neither_null = ~online.null & ~offline.null
    with np.errstate(invalid="ignore"):
        equal = np.asarray(online.data.astype(object) == offline.data.astype(object), dtype=bool)
    return np.asarray(both_null | (neither_null & equal), dtype=bool)


def _within(online: np.ndarray, offline: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """`|online - offline| <= abs + rel * |offline|` per cell, without int64 wrapping round.

    A zero tolerance is exact equality. Two integer columns take their exact difference where int64 holds it
    (where it wraps, the sides differ by 2**63 or more) and compare it as a float; any other pair compares
    the float difference. Non-finite floats give False or NaN comparisons that the value classes settle."""
    with np.errstate(invalid="ignore", over="ignore"):
        if tolerance.abs == 0 and tolerance.rel == 0:
            return np.asarray(online == offline, dtype=bool)
        if online.dtype.kind == "i" and offline.dtype.kind == "i":
            difference = online - offline  # wraps where the true difference leaves int64
            gap = np.abs(difference.astype(np.float64))
            wrapped = ((online ^ offline) & (online ^ difference)) < 0
            if wrapped.any():
                gap[wrapped] = np.abs(online[wrapped].astype(np.float64) - offline[wrapped].astype(np.float64))
        else:
            gap = np.abs(online - offline)
        scale = np.abs(offline.astype(np.float64, copy=False)) if tolerance.rel else 0.0
        return np.asarray(gap <= tolerance.abs + tolerance.rel * scale, dtype=bool)
