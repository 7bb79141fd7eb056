"""Exact comparison: integers past 2**53, uint64 beyond int64, decimals and floats compared as the numbers they
are; keys compared with their types; a cell with final panes from two writers is a duplicate, never one of them.

Each test plants one difference a float64 (or text) round trip used to hide.
"""

from __future__ import annotations

import decimal
from fractions import Fraction

import pandas as pd
import pyarrow as pa
import pytest
from compare_frames import as_online, feature_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.compare import compare
from parity.result import CellStatus
from parity.spec import Tolerance

TWO_53 = 2**53
EXACT = Tolerance()


def _status(online: pa.Array, offline: pa.Array, tolerance: Tolerance = EXACT) -> CellStatus:
    """The status of one cell (key `a`, window 0) whose value is `online[0]` online and `offline[0]` offline."""
    spec = feature_spec(tolerances=[tolerance])
    offline_table = pa.table({"geohash6": ["a"], "window_start": pa.array([0], pa.int64()), "value": offline})
    online_table = pa.table({
        "geohash6": ["a"], "value": online, "window_start": pa.array([0], pa.int64()),
        "pane_index": pa.array([0], pa.int64()),
    })
    return CellStatus(compare(offline_table, online_table, spec).cells["status"].iloc[0])


@pytest.mark.parametrize(
    ("online", "offline"),
    [
        (pa.array([2**64 - 1], pa.uint64()), pa.array([-1], pa.int64())),
        (pa.array([TWO_53 + 1], pa.int64()), pa.array([float(TWO_53)], pa.float64())),
        (pa.array([10**18 + 1], pa.int64()), pa.array([decimal.Decimal(10**18)], pa.decimal128(38, 0))),
        (pa.array([decimal.Decimal(10**30 + 1)], pa.decimal128(38, 0)), pa.array([decimal.Decimal(10**30)], pa.decimal128(38, 0))),
        (pa.array([2**63 + 1], pa.uint64()), pa.array([float(2**63)], pa.float64())),
    ],
    ids=["uint64-max-vs-minus-one", "int-2^53+1-vs-float-2^53", "int-vs-decimal-10^18", "decimal-10^30",
         "uint64-vs-float-2^63"],
)
def test_integers_past_2_53_that_differ_by_one_are_a_mismatch(online: pa.Array, offline: pa.Array) -> None:
    assert _status(online, offline) is CellStatus.VALUE_MISMATCH
    assert _status(offline, online) is CellStatus.VALUE_MISMATCH


@pytest.mark.parametrize(
    ("online", "offline"),
    [
        (pa.array([2**64 - 1], pa.uint64()), pa.array([decimal.Decimal(2**64 - 1)], pa.decimal128(38, 0))),
        (pa.array([TWO_53 + 2], pa.int64()), pa.array([float(TWO_53 + 2)], pa.float64())),
        (pa.array([10**18], pa.int64()), pa.array([decimal.Decimal(10**18)], pa.decimal128(38, 0))),
    ],
    ids=["uint64-max-vs-decimal", "int-vs-float-exact", "int-vs-decimal-equal"],
)
def test_equal_numbers_past_2_53_match_across_types(online: pa.Array, offline: pa.Array) -> None:
    assert _status(online, offline) is CellStatus.MATCH


def test_a_tolerance_is_applied_exactly_past_2_53() -> None:
    """|2**60 + 3 - 2**60| = 3: within abs 3, not within abs 2 (a float difference would say 0 or 4)."""
    online, offline = pa.array([2**60 + 3], pa.int64()), pa.array([decimal.Decimal(2**60)], pa.decimal128(38, 0))
    assert _status(online, offline, Tolerance(abs=3.0)) is CellStatus.MATCH
    assert _status(online, offline, Tolerance(abs=2.0)) is CellStatus.VALUE_MISMATCH


def test_pandas_uint64_beyond_int64_does_not_wrap() -> None:
    spec = feature_spec()
    offline = pd.DataFrame({"geohash6": ["a"], "window_start": [0], "value": pd.Series([-1], dtype="int64")})
    online = as_online(offline.assign(value=pd.Series([2**64 - 1], dtype="uint64")), spec)
    cells = compare(offline, online, spec).cells
    assert CellStatus(cells["status"].iloc[0]) is CellStatus.VALUE_MISMATCH
    assert cells["value_online"].iloc[0] == 2**64 - 1  # shown as the number it is, not -1


# --- keys with their types -----------------------------------------------------------------------------


def _key_statuses(offline_keys: list[object], online_keys: list[object]) -> list[CellStatus]:
    spec = feature_spec()
    offline = pd.DataFrame({"geohash6": pd.Series(offline_keys, dtype=object), "window_start": 0,
                            "value": [1.0] * len(offline_keys)})
    online = as_online(pd.DataFrame({"geohash6": pd.Series(online_keys, dtype=object), "window_start": 0,
                                     "value": [1.0] * len(online_keys)}), spec)
    return sorted(CellStatus(s) for s in compare(offline, online, spec).cells["status"])


def test_a_null_key_never_matches_the_string_nul_null() -> None:
    assert _key_statuses([None, 5], ["\x00null", 5]) == sorted(
        [CellStatus.MATCH, CellStatus.MISSING_ONLINE, CellStatus.MISSING_OFFLINE])


def test_a_boolean_key_never_matches_its_text() -> None:
    assert _key_statuses([True, 5], ["True", 5]) == sorted(
        [CellStatus.MATCH, CellStatus.MISSING_ONLINE, CellStatus.MISSING_OFFLINE])


def test_arrow_boolean_and_string_keys_do_not_join() -> None:
    spec = feature_spec()
    offline = pa.table({"geohash6": [True], "window_start": pa.array([0], pa.int64()), "value": [1.0]})
    online = pa.table({"geohash6": ["True"], "value": [1.0], "window_start": pa.array([0], pa.int64()),
                       "pane_index": pa.array([0], pa.int64())})
    assert compare(offline, online, spec).matched == 0


def test_integer_keys_past_2_53_keep_their_identity() -> None:
    spec = feature_spec()
    offline = pa.table({"geohash6": pa.array([2**64 - 1], pa.uint64()), "window_start": pa.array([0], pa.int64()),
                        "value": [1.0]})
    online = pa.table({"geohash6": pa.array([-1], pa.int64()), "value": [1.0],
                       "window_start": pa.array([0], pa.int64()), "pane_index": pa.array([0], pa.int64())})
    assert compare(offline, online, spec).matched == 0


# --- two writers of one cell ---------------------------------------------------------------------------


def _two_writers() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Writer A logs panes 0 and 1 of the cell (3, then 5); writer B logs pane 0 (9). Offline says 5."""
    spec = feature_spec()
    offline = pd.DataFrame({"geohash6": ["a"], "window_start": [0], "value": [5.0]})
    online = pd.concat([as_online(offline.assign(value=v), spec).assign(pane_index=p) for v, p in
                        ((3.0, 0), (5.0, 1), (9.0, 0))], ignore_index=True)
    online["_file"] = pd.Categorical([
        "date=1970-01-01/hour=00/prod-eu1-" + "a" * 32 + ".parquet",
        "date=1970-01-01/hour=00/prod-eu1-" + "b" * 32 + ".parquet",
        "date=1970-01-01/hour=00/replay.19700101T000000000000Z.19700101T010000000000Z.g00000000000000000001.parquet",
    ])
    return offline, online


def test_a_cell_with_final_panes_from_two_writers_is_a_duplicate() -> None:
    offline, online = _two_writers()
    comparison = compare(offline, online, feature_spec())
    assert comparison.counts[CellStatus.DUPLICATE_ONLINE] == 1


def test_panes_of_one_writer_in_several_files_take_the_last() -> None:
    offline, online = _two_writers()
    one_writer = online.iloc[:2].copy()
    assert compare(offline, one_writer, feature_spec()).counts[CellStatus.MATCH] == 1


def test_the_duplicate_output_diagnosis_names_both_writers_files_and_values() -> None:
    from parity.diagnose import CAUSE_COLUMN, Evidence, duplicate_output
    from parity.result import Cause

    offline, online = _two_writers()
    cells = compare(offline, online, feature_spec()).cells.assign(**{CAUSE_COLUMN: Cause.UNEXPLAINED.value})
    finding = duplicate_output(Evidence(feature_spec(), cells, offline, online, 0, 60_000_000))
    assert finding is not None and finding.cause is Cause.DUPLICATE_OUTPUT and finding.fits.all()
    assert "value=5.0" in finding.detail and "value=9.0" in finding.detail and "replay." in finding.detail
    assert "value=3.0" not in finding.detail  # writer A's earlier pane is not a final one


# --- properties ----------------------------------------------------------------------------------------

FAST = settings(max_examples=80, deadline=None)
NEAR = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.sampled_from([TWO_53 - 1, TWO_53, TWO_53 + 1, TWO_53 + 2, 2**63 - 1, 2**63, 2**64 - 1, -1, 0, -(2**63)]),
    st.integers(min_value=TWO_53 - 4, max_value=TWO_53 + 4),
)
KINDS = ("int64", "uint64", "decimal", "float64")


def _typed(value: int, kind: str) -> tuple[pa.Array, Fraction] | None:
    """`value` as a one-row Arrow array of `kind` and the number that array holds, or None if it cannot."""
    if kind == "int64":
        return (pa.array([value], pa.int64()), Fraction(value)) if -(2**63) <= value < 2**63 else None
    if kind == "uint64":
        return (pa.array([value], pa.uint64()), Fraction(value)) if 0 <= value < 2**64 else None
    if kind == "decimal":
        return pa.array([decimal.Decimal(value)], pa.decimal128(38, 0)), Fraction(value)
    return pa.array([float(value)], pa.float64()), Fraction(float(value))


@FAST
@given(online=NEAR, offline=NEAR, online_kind=st.sampled_from(KINDS), offline_kind=st.sampled_from(KINDS))
def test_numbers_of_any_two_types_match_exactly_when_equal(online: int, offline: int, online_kind: str,
                                                            offline_kind: str) -> None:
    online_side, offline_side = _typed(online, online_kind), _typed(offline, offline_kind)
    if online_side is None or offline_side is None:
        return
    expected = CellStatus.MATCH if online_side[1] == offline_side[1] else CellStatus.VALUE_MISMATCH
    assert _status(online_side[0], offline_side[0]) is expected
    assert _status(offline_side[0], online_side[0]) is expected  # swapping sides mirrors
    assert _status(offline_side[0], offline_side[0]) is CellStatus.MATCH  # a value always equals itself


TYPED_KEYS = [None, True, False, "True", "False", "\x00null", "\x01null", "\x01true", "a\x00b", "a", "", 5, -1,
              2**64 - 1]


def _identity(key: object) -> tuple[str, object]:
    """What makes two keys one key: their type class and value (a bool is not an int)."""
    if key is None:
        return ("null", None)
    return (type(key).__name__, key)


@FAST
@given(offline_keys=st.lists(st.sampled_from(TYPED_KEYS), unique_by=_identity, max_size=8),
       online_keys=st.lists(st.sampled_from(TYPED_KEYS), unique_by=_identity, max_size=8))
def test_keys_join_exactly_when_they_are_the_same_typed_value(offline_keys: list[object],
                                                               online_keys: list[object]) -> None:
    spec = feature_spec()

    def side(keys: list[object]) -> pd.DataFrame:
        return pd.DataFrame({"geohash6": pd.Series(keys, dtype=object), "window_start": pd.Series([0] * len(keys)),
                             "value": [1.0] * len(keys)})

    shared = {_identity(k) for k in offline_keys} & {_identity(k) for k in online_keys}
    assert compare(side(offline_keys), as_online(side(online_keys), spec), spec).matched == len(shared)
    assert compare(side(offline_keys), as_online(side(offline_keys), spec), spec).matched == len(offline_keys)


def test_a_uint64_column_with_nulls_read_through_nullable_stays_exact() -> None:
    from parity.frames import NULLABLE

    spec = feature_spec()
    offline = pd.DataFrame({"geohash6": ["a", "b"], "window_start": [0, 0],
                            "value": pd.array([2**64 - 2, None], dtype="UInt64")})
    online = pa.table({"geohash6": ["a", "b"], "value": pa.array([2**64 - 1, None], pa.uint64()),
                       "window_start": pa.array([0, 0], pa.int64()), "pane_index": pa.array([0, 0], pa.int64())})
    cells = compare(offline, online.to_pandas(types_mapper=NULLABLE.get), spec).cells.sort_values("geohash6")
    assert [CellStatus(s) for s in cells["status"]] == [CellStatus.VALUE_MISMATCH, CellStatus.MATCH]
