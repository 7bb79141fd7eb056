"""compare(offline, online, spec): one status per cell, null-safe join, value classes, tolerance, panes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from compare_frames import MINUTE, as_online, feature_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.compare import Comparison, compare
from parity.errors import DataError, QueryError
from parity.result import CellStatus
from parity.spec import Tolerance

NAN, INF = math.nan, math.inf


def offline_frame(keys: list[object], values: list[object], starts: list[int] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "geohash6": pd.Series(keys, dtype=object),
            "window_start": starts if starts is not None else [0] * len(keys),
            "value": values,
        }
    )


def online_frame(rows: list[tuple[object, int, object, int]]) -> pd.DataFrame:
    """Rows of (key, window_start, value, pane_index) as the realtime job writes them."""
    keys, starts, values, panes = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pd.DataFrame(
        {
            "geohash6": pd.Series(list(keys), dtype=object),
            "value": list(values),
            "window_start": list(starts),
            "window_end": [s + MINUTE for s in starts],
            "pane_timing": ["LATE" if p else "ON_TIME" for p in panes],
            "pane_index": list(panes),
            "emitted_at": [s + MINUTE + p for s, p in zip(starts, panes, strict=True)],
        }
    )


def status_of(comparison: Comparison, key: object, window_start: int = 0) -> CellStatus:
    cells = comparison.cells
    same_key = cells["geohash6"].isna() if key is None else cells["geohash6"] == key
    rows = cells.loc[same_key & (cells["window_start"] == window_start), "status"]
    assert len(rows) == 1, f"expected one cell for {key!r}@{window_start}, found {len(rows)}"
    return CellStatus(rows.iloc[0])


def one_value(online_value: object, offline_value: object, tolerance: Tolerance, dtype: str = "Float64") -> CellStatus:
    """The status of a single cell whose values are given, each side in `dtype`."""
    spec = feature_spec(tolerances=[tolerance])
    offline = offline_frame(["a"], [offline_value]).astype({"value": dtype})
    online = as_online(offline_frame(["a"], [online_value]).astype({"value": dtype}), spec)
    return status_of(compare(offline, online, spec), "a")


# --- one test per status ----------------------------------------------------------------------------


def test_identical_sides_match_in_every_cell() -> None:
    spec = feature_spec()
    offline = offline_frame(["a", "b", "c"], [1.0, 2.5, 0.0], [0, 0, MINUTE])
    comparison = compare(offline, as_online(offline, spec), spec)
    assert comparison.counts[CellStatus.MATCH] == 3
    assert (comparison.compared, comparison.matched, comparison.agreement) == (3, 3, 1.0)


def test_cell_absent_online_is_missing_online() -> None:
    spec = feature_spec()
    offline = offline_frame(["a", "b"], [1.0, 2.0])
    comparison = compare(offline, as_online(offline.iloc[:1], spec), spec)
    assert status_of(comparison, "b") == CellStatus.MISSING_ONLINE
    assert status_of(comparison, "a") == CellStatus.MATCH


def test_cell_absent_offline_is_missing_offline() -> None:
    spec = feature_spec()
    online = as_online(offline_frame(["a", "b"], [1.0, 2.0]), spec)
    comparison = compare(offline_frame(["a"], [1.0]), online, spec)
    assert status_of(comparison, "b") == CellStatus.MISSING_OFFLINE


def test_value_outside_tolerance_is_value_mismatch() -> None:
    spec = feature_spec(tolerances=[Tolerance(abs=0.1)])
    offline = offline_frame(["a", "b"], [1.0, 1.0])
    online = as_online(offline_frame(["a", "b"], [1.05, 1.2]), spec)
    comparison = compare(offline, online, spec)
    assert status_of(comparison, "a") == CellStatus.MATCH
    assert status_of(comparison, "b") == CellStatus.VALUE_MISMATCH


def test_two_rows_with_the_last_pane_index_are_duplicate_online() -> None:
    spec = feature_spec()
    online = online_frame([("a", 0, 1.0, 0), ("a", 0, 1.0, 1), ("a", 0, 1.0, 1)])
    comparison = compare(offline_frame(["a"], [1.0]), online, spec)
    assert status_of(comparison, "a") == CellStatus.DUPLICATE_ONLINE
    assert comparison.counts[CellStatus.DUPLICATE_ONLINE] == 1


def test_repeated_earlier_pane_is_not_a_duplicate_when_the_last_pane_is_unique() -> None:
    spec = feature_spec()
    online = online_frame([("a", 0, 1.0, 0), ("a", 0, 1.0, 0), ("a", 0, 1.0, 1)])
    assert status_of(compare(offline_frame(["a"], [1.0]), online, spec), "a") == CellStatus.MATCH


def test_duplicate_last_pane_of_a_cell_missing_offline_is_reported_as_duplicate_online() -> None:
    spec = feature_spec()
    online = online_frame([("a", 0, 1.0, 0), ("b", 0, 2.0, 0), ("b", 0, 2.0, 0)])
    comparison = compare(offline_frame(["a"], [1.0]), online, spec)
    assert status_of(comparison, "b") == CellStatus.DUPLICATE_ONLINE


# --- panes -------------------------------------------------------------------------------------------


def test_last_pane_value_is_the_realtime_value() -> None:
    spec = feature_spec()
    # a: early panes are running totals below the final 3.0; b: its last pane drifted away from offline
    online = online_frame([("a", 0, 1.0, 0), ("a", 0, 2.0, 1), ("a", 0, 3.0, 2), ("b", 0, 5.0, 0), ("b", 0, 6.0, 1)])
    comparison = compare(offline_frame(["a", "b"], [3.0, 5.0]), online, spec)
    assert status_of(comparison, "a") == CellStatus.MATCH
    assert status_of(comparison, "b") == CellStatus.VALUE_MISMATCH
    shown = comparison.cells.set_index("geohash6")["value_online"]
    assert (shown["a"], shown["b"]) == (3.0, 6.0)


def test_last_pane_is_the_highest_pane_index_not_the_last_row() -> None:
    spec = feature_spec()
    online = online_frame([("a", 0, 3.0, 2), ("a", 0, 2.0, 1), ("a", 0, 1.0, 0)])
    assert status_of(compare(offline_frame(["a"], [3.0]), online, spec), "a") == CellStatus.MATCH


# --- the null-safe join ------------------------------------------------------------------------------


def test_null_key_joins_null_key() -> None:
    spec = feature_spec()
    offline = offline_frame([None, "a"], [1.0, 2.0])
    comparison = compare(offline, as_online(offline, spec), spec)
    assert comparison.compared == 2
    assert status_of(comparison, None) == CellStatus.MATCH


def test_none_and_nan_keys_are_the_same_null() -> None:
    spec = feature_spec()
    offline = offline_frame([None], [1.0])
    online = as_online(offline_frame([NAN], [1.0]), spec)
    assert compare(offline, online, spec).counts[CellStatus.MATCH] == 1


def test_null_key_does_not_join_a_value() -> None:
    spec = feature_spec()
    comparison = compare(offline_frame([None], [1.0]), as_online(offline_frame(["None"], [1.0]), spec), spec)
    assert status_of(comparison, None) == CellStatus.MISSING_ONLINE
    assert status_of(comparison, "None") == CellStatus.MISSING_OFFLINE


def test_two_keys_join_null_safe_on_each() -> None:
    spec = feature_spec(keys=("city", "zone"))
    offline = pd.DataFrame(
        {"city": ["sf", "sf", None, None], "zone": [None, "z1", None, "z1"], "window_start": 0, "value": 1.0}
    )
    online = as_online(offline.iloc[::-1], spec)
    comparison = compare(offline, online, spec)
    assert comparison.compared == 4
    assert comparison.counts[CellStatus.MATCH] == 4


def test_window_start_is_part_of_the_cell() -> None:
    spec = feature_spec()
    offline = offline_frame(["a"], [1.0], [0])
    online = as_online(offline_frame(["a"], [1.0], [MINUTE]), spec)
    comparison = compare(offline, online, spec)
    assert status_of(comparison, "a", 0) == CellStatus.MISSING_ONLINE
    assert status_of(comparison, "a", MINUTE) == CellStatus.MISSING_OFFLINE


def test_window_start_off_the_grid_is_a_separate_cell() -> None:
    spec = feature_spec()
    offline = offline_frame(["a", "a"], [1.0, 1.0], [0, MINUTE])
    online = as_online(offline_frame(["a", "a"], [1.0, 1.0], [0, MINUTE + 30_000_000]), spec)
    comparison = compare(offline, online, spec)
    assert comparison.compared == 3
    assert status_of(comparison, "a", MINUTE + 30_000_000) == CellStatus.MISSING_OFFLINE


def test_window_starts_far_apart_join_correctly() -> None:
    spec = feature_spec()
    far = 10**15 - 10**15 % MINUTE
    offline = offline_frame(["a", "a", "b"], [1.0, 2.0, 3.0], [-MINUTE, far, far])
    comparison = compare(offline, as_online(offline.iloc[[2, 0, 1]], spec), spec)
    assert comparison.counts[CellStatus.MATCH] == 3


def test_integer_keys_online_join_string_keys_offline() -> None:
    spec = feature_spec()
    offline = offline_frame(["7", "8", None], [1.0, 2.0, 3.0])
    online = as_online(offline_frame([7, 8, None], [1.0, 2.0, 3.0]).astype({"geohash6": "Int64"}), spec)
    assert compare(offline, online, spec).counts[CellStatus.MATCH] == 3


def test_object_keys_mixing_numbers_and_strings_join_by_their_text() -> None:
    spec = feature_spec()
    offline = offline_frame([5, "6", None], [1.0, 2.0, 3.0])
    online = as_online(offline_frame(["5", 6, None], [1.0, 2.0, 3.0]), spec)
    assert compare(offline, online, spec).counts[CellStatus.MATCH] == 3


def test_timestamp_units_and_integer_microseconds_are_the_same_window_start() -> None:
    spec = feature_spec()
    starts = [0, MINUTE, 2 * MINUTE]
    offline = offline_frame(["a", "b", "c"], [1.0, 2.0, 3.0], starts)
    offline["window_start"] = pd.to_datetime(starts, unit="us", utc=True).as_unit("us")
    online = as_online(offline_frame(["a", "b", "c"], [1.0, 2.0, 3.0], starts), spec)
    online["window_start"] = pd.to_datetime(starts, unit="us", utc=True).as_unit("ns")
    comparison = compare(offline, online, spec)
    assert comparison.counts[CellStatus.MATCH] == 3
    assert comparison.cells["window_start"].tolist() == starts


# --- value classes: null, NaN, +inf, -inf ----------------------------------------------------------


@pytest.mark.parametrize(
    ("online_value", "offline_value", "expected"),
    [
        (None, None, CellStatus.MATCH),
        (NAN, NAN, CellStatus.MATCH),
        (INF, INF, CellStatus.MATCH),
        (-INF, -INF, CellStatus.MATCH),
        (INF, -INF, CellStatus.VALUE_MISMATCH),
        (NAN, None, CellStatus.VALUE_MISMATCH),
        (None, NAN, CellStatus.VALUE_MISMATCH),
        (1.0, None, CellStatus.VALUE_MISMATCH),
        (None, 1.0, CellStatus.VALUE_MISMATCH),
        (1.0, NAN, CellStatus.VALUE_MISMATCH),
        (NAN, 1.0, CellStatus.VALUE_MISMATCH),
        (INF, 1.0, CellStatus.VALUE_MISMATCH),
        (1.0, INF, CellStatus.VALUE_MISMATCH),
        (INF, NAN, CellStatus.VALUE_MISMATCH),
    ],
)
def test_value_classes_match_only_their_own_class(
    online_value: float | None, offline_value: float | None, expected: CellStatus
) -> None:
    # object columns keep None (null) apart from nan (a float)
    assert one_value(online_value, offline_value, Tolerance(abs=1.0, rel=1.0), dtype="object") == expected


def test_null_is_not_nan_in_nullable_float_columns() -> None:
    spec = feature_spec()
    offline = offline_frame(["a"], [None]).astype({"value": "Float64"})
    nan_online = pd.array([0.0], dtype="Float64") / 0.0  # a NaN value, not a missing one
    online = as_online(offline_frame(["a"], [0.0]), spec).assign(value=nan_online)
    assert status_of(compare(offline, online, spec), "a") == CellStatus.VALUE_MISMATCH


def test_infinity_never_matches_a_finite_value_even_when_the_tolerance_overflows() -> None:
    # abs + rel * |offline| overflows to +inf here; the class check still tells inf from a finite number
    assert one_value(INF, 1e308, Tolerance(rel=10.0), dtype="float64") == CellStatus.VALUE_MISMATCH


def test_nan_in_plain_float64_is_the_nan_class() -> None:
    assert one_value(NAN, NAN, Tolerance(), dtype="float64") == CellStatus.MATCH
    assert one_value(NAN, 0.0, Tolerance(abs=10.0), dtype="float64") == CellStatus.VALUE_MISMATCH


# --- the tolerance formula: |online - offline| <= abs + rel * |offline| -----------------------------


def test_difference_exactly_at_the_bound_matches_and_just_above_does_not() -> None:
    tolerance = Tolerance(abs=0.5, rel=0.125)  # bound at offline 8: 0.5 + 0.125 * 8 = 1.5, all exact in binary
    assert one_value(9.5, 8.0, tolerance) == CellStatus.MATCH
    assert one_value(6.5, 8.0, tolerance) == CellStatus.MATCH
    assert one_value(float(np.nextafter(9.5, INF)), 8.0, tolerance) == CellStatus.VALUE_MISMATCH
    assert one_value(float(np.nextafter(6.5, -INF)), 8.0, tolerance) == CellStatus.VALUE_MISMATCH


def test_relative_tolerance_scales_with_the_offline_value_not_the_online_one() -> None:
    tolerance = Tolerance(rel=0.5)
    assert one_value(2.0, 4.0, tolerance) == CellStatus.MATCH  # |2 - 4| <= 0.5 * 4
    assert one_value(4.0, 2.0, tolerance) == CellStatus.VALUE_MISMATCH  # |4 - 2| > 0.5 * 2


def test_relative_tolerance_uses_the_absolute_offline_value() -> None:
    tolerance = Tolerance(rel=0.25)
    assert one_value(-5.0, -4.0, tolerance) == CellStatus.MATCH  # 1 <= 0.25 * |-4|
    assert one_value(-5.0 - 1e-9, -4.0, tolerance) == CellStatus.VALUE_MISMATCH


def test_zero_tolerance_requires_exact_equality() -> None:
    assert one_value(0.1 + 0.2, 0.3, Tolerance()) == CellStatus.VALUE_MISMATCH
    assert one_value(0.5, 0.5, Tolerance()) == CellStatus.MATCH


def test_large_integers_are_compared_exactly() -> None:
    big = 2**60
    assert one_value(big + 1, big, Tolerance(), dtype="int64") == CellStatus.VALUE_MISMATCH
    assert one_value(big, big, Tolerance(), dtype="int64") == CellStatus.MATCH


INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)


@pytest.mark.parametrize("dtype", ["int64", "Int64"])
@pytest.mark.parametrize("tolerance", [Tolerance(), Tolerance(abs=1.0), Tolerance(abs=0.5, rel=0.1)])
def test_integers_whose_difference_overflows_int64_never_match(dtype: str, tolerance: Tolerance) -> None:
    # online - offline wraps round in int64: 2**63-1 - (-1) is -2**63, whose abs is still -2**63 (<= any bound)
    assert one_value(INT64_MAX, -1, tolerance, dtype=dtype) == CellStatus.VALUE_MISMATCH
    assert one_value(INT64_MIN, 1, tolerance, dtype=dtype) == CellStatus.VALUE_MISMATCH
    assert one_value(-1, INT64_MAX, tolerance, dtype=dtype) == CellStatus.VALUE_MISMATCH
    assert one_value(INT64_MAX, INT64_MIN, tolerance, dtype=dtype) == CellStatus.VALUE_MISMATCH
    assert one_value(INT64_MIN, INT64_MIN, tolerance, dtype=dtype) == CellStatus.MATCH
    assert one_value(INT64_MAX, INT64_MAX, tolerance, dtype=dtype) == CellStatus.MATCH


def test_integers_differing_by_exactly_2_to_the_63_do_not_match_within_a_small_tolerance() -> None:
    # -1 - (2**63 - 1) is exactly -2**63: no wrap, but np.abs of it is negative
    assert one_value(-1, INT64_MAX, Tolerance(abs=1.0, rel=0.0), dtype="int64") == CellStatus.VALUE_MISMATCH


@given(
    online=st.integers(INT64_MIN, INT64_MAX),
    offline=st.integers(INT64_MIN, INT64_MAX),
    bound=st.sampled_from([0.0, 1.0, 7.0, 1000.0]),
    near=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_integer_values_agree_exactly_as_python_integers_say(online: int, offline: int, bound: float, near: bool) -> None:
    if near:  # half the cases close together, around the bound
        online = max(INT64_MIN, min(INT64_MAX, offline + (online % 2003) - 1001))
    expected = CellStatus.MATCH if abs(online - offline) <= bound else CellStatus.VALUE_MISMATCH
    assert one_value(online, offline, Tolerance(abs=bound), dtype="int64") == expected


def test_integer_and_float_sides_compare_as_numbers() -> None:
    spec = feature_spec()
    offline = offline_frame(["a"], [3]).astype({"value": "int64"})
    online = as_online(offline_frame(["a"], [3.0]), spec)
    assert status_of(compare(offline, online, spec), "a") == CellStatus.MATCH


def test_string_values_compare_by_equality_and_null_equals_null() -> None:
    spec = feature_spec(values=("label",))
    offline = pd.DataFrame({"geohash6": ["a", "b", "c", "d"], "window_start": 0, "label": ["x", None, "y", None]})
    online = as_online(offline.assign(label=["x", None, "Y", "z"]), spec)
    comparison = compare(offline, online, spec)
    assert [status_of(comparison, k) for k in "abcd"] == [
        CellStatus.MATCH,
        CellStatus.MATCH,
        CellStatus.VALUE_MISMATCH,
        CellStatus.VALUE_MISMATCH,
    ]


def test_one_disagreeing_value_column_makes_the_cell_a_mismatch() -> None:
    spec = feature_spec(values=("requests", "ratio"), tolerances=[Tolerance(), Tolerance(rel=1e-9)])
    offline = pd.DataFrame({"geohash6": ["a", "b"], "window_start": 0, "requests": [3, 4], "ratio": [0.5, 0.25]})
    online = as_online(offline.assign(ratio=[0.5, 0.26]), spec)
    comparison = compare(offline, online, spec)
    assert (status_of(comparison, "a"), status_of(comparison, "b")) == (CellStatus.MATCH, CellStatus.VALUE_MISMATCH)


# --- the Comparison ----------------------------------------------------------------------------------


def test_every_cell_has_one_status_and_counts_add_up() -> None:
    spec = feature_spec()
    offline = offline_frame(["a", "b", "c", "d"], [1.0, 2.0, 3.0, 4.0])
    online = online_frame([("a", 0, 1.0, 0), ("b", 0, 9.0, 0), ("e", 0, 5.0, 0), ("d", 0, 4.0, 0), ("d", 0, 4.0, 0)])
    comparison = compare(offline, online, spec)
    assert comparison.compared == len(comparison.cells) == 5
    assert sum(comparison.counts.values()) == 5
    assert comparison.counts == {
        CellStatus.MATCH: 1,
        CellStatus.VALUE_MISMATCH: 1,
        CellStatus.MISSING_ONLINE: 1,
        CellStatus.MISSING_OFFLINE: 1,
        CellStatus.DUPLICATE_ONLINE: 1,
    }
    assert comparison.matched == 1
    assert comparison.agreement == pytest.approx(0.2)
    assert len(comparison.divergent()) == 4


def test_cells_frame_has_keys_window_status_and_both_values() -> None:
    spec = feature_spec()
    offline = offline_frame(["a"], [1.0], [MINUTE])
    cells = compare(offline, as_online(offline_frame(["b"], [2.0], [MINUTE]), spec), spec).cells
    assert list(cells.columns) == ["geohash6", "window_start", "window_end", "status", "value_online", "value_offline"]
    row = cells.set_index("geohash6").loc["a"]
    assert (row["window_start"], row["window_end"]) == (MINUTE, 2 * MINUTE)
    assert row["value_offline"] == 1.0 and pd.isna(row["value_online"])


def test_no_cells_gives_agreement_none() -> None:
    spec = feature_spec()
    empty = offline_frame([], [])
    comparison = compare(empty, as_online(empty, spec), spec)
    assert (comparison.compared, comparison.matched, comparison.agreement) == (0, 0, None)


def test_offline_result_repeating_a_cell_raises_query_error() -> None:
    spec = feature_spec()
    offline = offline_frame(["a", "a"], [1.0, 2.0])
    with pytest.raises(QueryError, match="repeats cells"):
        compare(offline, as_online(offline.iloc[:1], spec), spec)


def test_missing_value_column_raises_data_error_naming_it() -> None:
    spec = feature_spec()
    offline = offline_frame(["a"], [1.0])
    with pytest.raises(DataError, match="value"):
        compare(offline, as_online(offline, spec).drop(columns=["value"]), spec)


def test_online_without_pane_index_raises_data_error() -> None:
    spec = feature_spec()
    offline = offline_frame(["a"], [1.0])
    with pytest.raises(DataError, match="pane_index"):
        compare(offline, offline, spec)


# --- Arrow tables, as the readers hand them over -------------------------------------------------------


def arrow_offline(keys: pa.Array, values: pa.Array, starts: list[int] | None = None) -> pa.Table:
    stamps = pa.array(starts if starts is not None else [0] * len(keys), pa.int64()).cast(pa.timestamp("us", "UTC"))
    return pa.table({"geohash6": keys, "window_start": stamps, "value": values})


def arrow_online(offline: pa.Table, panes: list[int] | None = None) -> pa.Table:
    """`offline` as the realtime job writes it, with the given pane indexes (0 for every row by default)."""
    index = pa.array(panes if panes is not None else [0] * offline.num_rows, pa.int64())
    return offline.append_column("pane_index", index)


def test_arrow_tables_give_every_status_with_multi_pane_online_rows() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a", "b", "c", None]), pa.array([1.0, 2.0, 3.0, None]))
    extra = arrow_offline(pa.array(["a", "d"]), pa.array([9.0, 4.0]))
    online = arrow_online(  # rows a, b, a, b, b, null key, a (9.0), d; a's last pane is 2, b's last is written twice
        pa.concat_tables([offline.take([0, 1, 0, 1, 1, 3]), extra]), panes=[0, 0, 1, 1, 1, 0, 2, 0]
    )
    comparison = compare(offline, online, spec)
    assert status_of(comparison, "a") == CellStatus.VALUE_MISMATCH
    assert status_of(comparison, "b") == CellStatus.DUPLICATE_ONLINE
    assert status_of(comparison, "c") == CellStatus.MISSING_ONLINE
    assert status_of(comparison, "d") == CellStatus.MISSING_OFFLINE
    assert status_of(comparison, None) == CellStatus.MATCH
    row = comparison.cells.set_index("geohash6").loc["a"]
    assert (row["value_online"], row["value_offline"]) == (9.0, 1.0)


def test_arrow_null_and_nan_values_are_different_classes() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a", "b", "c", "d"]), pa.array([None, NAN, None, INF]))
    online = arrow_online(arrow_offline(pa.array(["a", "b", "c", "d"]), pa.array([None, NAN, NAN, INF])))
    comparison = compare(offline, online, spec)
    assert [status_of(comparison, key) for key in "abcd"] == [
        CellStatus.MATCH, CellStatus.MATCH, CellStatus.VALUE_MISMATCH, CellStatus.MATCH
    ]
    row = comparison.cells.set_index("geohash6").loc["c"]
    assert pd.isna(row["value_offline"]) and math.isnan(row["value_online"])


def test_arrow_integer_keys_online_join_string_keys_offline() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["7", "8", None]), pa.array([1.0, 2.0, 3.0]))
    online = arrow_online(arrow_offline(pa.array([7, 8, None], pa.int32()), pa.array([1.0, 2.0, 3.0])))
    assert compare(offline, online, spec).counts[CellStatus.MATCH] == 3


@pytest.mark.parametrize("text", [pa.large_string(), pa.string_view()])
def test_arrow_string_keys_of_any_string_type_join_plain_strings(text: pa.DataType) -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a", "b", None]), pa.array([1.0, 2.0, 3.0]))
    online = arrow_online(arrow_offline(pa.array(["b", None, "a"], text), pa.array([2.0, 3.0, 1.0])))
    comparison = compare(offline, online, spec)
    assert comparison.counts[CellStatus.MATCH] == 3
    assert sorted(comparison.cells["geohash6"].dropna()) == ["a", "b"]


def test_arrow_float_keys_treat_nan_as_the_null_key() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array([None, 1.0]), pa.array([1.0, 2.0]))
    online = arrow_online(arrow_offline(pa.array([NAN, 1.0]), pa.array([1.0, 2.0])))
    assert compare(offline, online, spec).counts[CellStatus.MATCH] == 2


def test_arrow_dictionary_keys_join_plain_string_keys() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a", "b", None]), pa.array([1.0, 2.0, 3.0]))
    online = arrow_online(arrow_offline(pa.array(["b", "a", None]).dictionary_encode(), pa.array([2.0, 1.0, 3.0])))
    assert compare(offline, online, spec).counts[CellStatus.MATCH] == 3


def test_arrow_integer_values_are_compared_exactly() -> None:
    spec = feature_spec(tolerances=[Tolerance(abs=0.5)])
    big = 2**62 + 1
    offline = arrow_offline(pa.array(["a", "b"]), pa.array([big, None], pa.int64()))
    online = arrow_online(arrow_offline(pa.array(["a", "b"]), pa.array([big - 1, None], pa.int64())))
    comparison = compare(offline, online, spec)
    assert (status_of(comparison, "a"), status_of(comparison, "b")) == (CellStatus.VALUE_MISMATCH, CellStatus.MATCH)


def test_arrow_string_values_compare_by_equality_and_null_equals_null() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a", "b", "c"]), pa.array(["x", None, "y"]))
    online = arrow_online(arrow_offline(pa.array(["a", "b", "c"]), pa.array(["x", None, "z"])))
    comparison = compare(offline, online, spec)
    assert [status_of(comparison, key) for key in "abc"] == [
        CellStatus.MATCH, CellStatus.MATCH, CellStatus.VALUE_MISMATCH
    ]


def test_arrow_null_pane_index_raises_data_error() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a"]), pa.array([1.0]))
    online = offline.append_column("pane_index", pa.array([None], pa.int64()))
    with pytest.raises(DataError, match="pane_index"):
        compare(offline, online, spec)


def test_arrow_null_window_start_raises_data_error() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a"]), pa.array([1.0]))
    online = arrow_online(offline).set_column(1, "window_start", pa.array([None], pa.timestamp("us", "UTC")))
    with pytest.raises(DataError, match="1 row.s. have no window_start"):
        compare(offline, online, spec)


def test_arrow_table_missing_a_value_column_raises_data_error_naming_it() -> None:
    spec = feature_spec()
    offline = arrow_offline(pa.array(["a"]), pa.array([1.0]))
    with pytest.raises(DataError, match=r"missing column\(s\) \['value'\]"):
        compare(offline, arrow_online(offline).drop_columns(["value"]), spec)


def test_benchmark_tables_give_the_planted_divergence_and_duckdb_agrees() -> None:
    # the benchmark's tables (1-4 panes per cell, null and NaN values, a null key, duplicated last panes),
    # small: parity over Arrow, parity over the same rows in pandas and DuckDB's own SQL must find the same cells
    import duckdb

    from bench.compare_bench import DUCKDB_QUERY, SPEC, tables

    offline, online, planted = tables(60_000)
    comparison = compare(offline, online, SPEC)
    assert comparison.compared - comparison.matched == planted
    assert comparison.counts[CellStatus.DUPLICATE_ONLINE] == 6
    nullable = {pa.float64(): pd.Float64Dtype()}.get
    in_pandas = compare(offline.to_pandas(types_mapper=nullable), online.to_pandas(types_mapper=nullable), SPEC)
    assert in_pandas.counts == comparison.counts
    with duckdb.connect() as connection:
        connection.register("offline_table", offline)
        connection.register("online_table", online)
        assert connection.execute(DUCKDB_QUERY).fetchall()[0][0] == planted
