"""Properties of sample and compare over generated frames (hypothesis).

Generated offline frames have one row per cell over a small key alphabet (null included) and a few window
starts, with values drawn from finite floats, NaN, +/-inf and null (a nullable Float64 column). Online frames
take a subset of those cells, perturb some values, add cells of their own and give each cell one to three panes.
Either side may be handed over as an Arrow table, as the readers produce it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
from compare_frames import MINUTE, as_offline, as_online, feature_spec
from hypothesis import given, settings
from hypothesis import strategies as st

from parity.compare import Comparison, compare
from parity.result import CellStatus
from parity.sample import in_sample, window_micros
from parity.spec import Tolerance

KEYS = st.sampled_from(["a", "b", "c", "d", None])
STARTS = st.sampled_from([0, MINUTE, 2 * MINUTE, 3 * MINUTE])
VALUES = st.one_of(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from([math.nan, math.inf, -math.inf, None, 0.0]),
)
TOLERANCES = st.builds(
    Tolerance, abs=st.sampled_from([0.0, 1e-9, 0.5, 10.0]), rel=st.sampled_from([0.0, 1e-6, 0.1, 1.0])
)
FAST = settings(max_examples=60, deadline=None)


@st.composite
def offline_frames(draw: st.DrawFn) -> pd.DataFrame:
    cells = draw(st.lists(st.tuples(KEYS, STARTS), unique=True, max_size=14))
    values = draw(st.lists(VALUES, min_size=len(cells), max_size=len(cells)))
    return pd.DataFrame(
        {
            "geohash6": pd.Series([k for k, _ in cells], dtype=object),
            "window_start": pd.Series([w for _, w in cells], dtype="int64"),
            "value": pd.array([_nullable(v) for v in values], dtype="Float64"),
        }
    )


@st.composite
def online_frames(draw: st.DrawFn, offline: pd.DataFrame) -> pd.DataFrame:
    """Some offline cells (values kept or replaced), some new cells, each cell with 1-3 panes (last one unique)."""
    spec = feature_spec()
    keep = draw(st.lists(st.booleans(), min_size=len(offline), max_size=len(offline)))
    online = offline.loc[keep].reset_index(drop=True)
    replaced = draw(st.lists(st.one_of(st.none(), VALUES), min_size=len(online), max_size=len(online)))
    online["value"] = pd.array(
        [_nullable(new) if new is not None else old for new, old in zip(replaced, online["value"], strict=True)],
        dtype="Float64",
    )
    taken = set(zip(offline["geohash6"], offline["window_start"], strict=True))
    extra = draw(st.lists(st.tuples(KEYS, STARTS).filter(lambda c: c not in taken), unique=True, max_size=4))
    if extra:
        added = pd.DataFrame(
            {
                "geohash6": pd.Series([k for k, _ in extra], dtype=object),
                "window_start": pd.Series([w for _, w in extra], dtype="int64"),
                "value": pd.array([1.0] * len(extra), dtype="Float64"),
            }
        )
        online = pd.concat([online, added], ignore_index=True)
    online = as_online(online, spec)
    panes = draw(st.lists(st.integers(1, 3), min_size=len(online), max_size=len(online)))
    earlier = [
        online.iloc[[i]].assign(pane_index=p, value=pd.array([pd.NA], dtype="Float64"))
        for i, n in enumerate(panes)
        for p in range(n - 1)
    ]
    last = online.assign(pane_index=[n - 1 for n in panes])
    return pd.concat([*earlier, last], ignore_index=True).sample(frac=1.0, random_state=0)


def _nullable(value: float | None) -> object:
    return pd.NA if value is None else value


def _single_pane(online: pd.DataFrame) -> pd.DataFrame:
    """The last pane of each cell, so the frame can stand in for the offline side."""
    last = online.groupby(["geohash6", "window_start"], dropna=False)["pane_index"].transform("max")
    return online.loc[online["pane_index"] == last].assign(pane_index=0)


def _divergent_cells(offline: pd.DataFrame, online: pd.DataFrame, tolerance: Tolerance) -> set[tuple[object, int]]:
    divergent = compare(offline, online, feature_spec(tolerances=[tolerance])).divergent()
    keys = divergent["geohash6"].astype(object).where(divergent["geohash6"].notna(), None)
    return set(zip(keys, divergent["window_start"], strict=True))


@FAST
@given(offline=offline_frames(), tolerance=TOLERANCES)
def test_a_frame_compared_with_itself_has_no_divergence(offline: pd.DataFrame, tolerance: Tolerance) -> None:
    spec = feature_spec(tolerances=[tolerance])
    comparison = compare(offline, as_online(offline, spec), spec)
    assert comparison.matched == comparison.compared == len(offline)


@FAST
@given(data=st.data(), offline=offline_frames(), tolerance=TOLERANCES)
def test_swapping_sides_swaps_missing_online_and_missing_offline(
    data: st.DataObject, offline: pd.DataFrame, tolerance: Tolerance
) -> None:
    spec = feature_spec(tolerances=[tolerance])
    online = _single_pane(data.draw(online_frames(offline)))
    forward = compare(offline, online, spec)
    backward = compare(as_offline(online), as_online(offline, spec), spec)
    assert forward.compared == backward.compared
    assert forward.counts[CellStatus.MISSING_ONLINE] == backward.counts[CellStatus.MISSING_OFFLINE]
    assert forward.counts[CellStatus.MISSING_OFFLINE] == backward.counts[CellStatus.MISSING_ONLINE]


@FAST
@given(data=st.data(), offline=offline_frames(), tolerance=st.builds(Tolerance, abs=st.sampled_from([0.0, 0.5, 10.0])))
def test_swapping_sides_keeps_matches_under_a_symmetric_tolerance(
    data: st.DataObject, offline: pd.DataFrame, tolerance: Tolerance
) -> None:
    # with rel = 0 the formula |online - offline| <= abs is symmetric, so the same cells must match
    spec = feature_spec(tolerances=[tolerance])
    online = _single_pane(data.draw(online_frames(offline)))
    assert compare(offline, online, spec).matched == compare(as_offline(online), as_online(offline, spec), spec).matched


@FAST
@given(data=st.data(), offline=offline_frames(), tight=TOLERANCES, loosen=TOLERANCES)
def test_a_looser_tolerance_never_adds_divergence(
    data: st.DataObject, offline: pd.DataFrame, tight: Tolerance, loosen: Tolerance
) -> None:
    online = data.draw(online_frames(offline))
    loose = Tolerance(abs=tight.abs + loosen.abs, rel=tight.rel + loosen.rel)
    assert _divergent_cells(offline, online, loose) <= _divergent_cells(offline, online, tight)


@FAST
@given(data=st.data(), offline=offline_frames())
def test_every_cell_gets_exactly_one_status(data: st.DataObject, offline: pd.DataFrame) -> None:
    online = data.draw(online_frames(offline))
    comparison = compare(offline, online, feature_spec())
    everything = pd.concat([offline[["geohash6", "window_start"]], online[["geohash6", "window_start"]]])
    assert comparison.compared == len(everything.drop_duplicates()) == len(comparison.cells)
    assert sum(comparison.counts.values()) == comparison.compared
    assert comparison.cells["status"].notna().all()


@FAST
@given(
    feature=st.sampled_from(["ride_requests", "avg_eta", "x"]),
    rate=st.sampled_from([0.1, 0.5, 0.9]),
    data=st.data(),
    offline=offline_frames(),
)
def test_a_fixed_feature_and_rate_select_the_same_cells_on_both_sides(
    feature: str, rate: float, data: st.DataObject, offline: pd.DataFrame
) -> None:
    online = data.draw(online_frames(offline))
    online["window_start"] = pd.to_datetime(online["window_start"], unit="us", utc=True).dt.as_unit("ns")
    online["geohash6"] = online["geohash6"].astype("string")
    first = in_sample(feature, offline, ["geohash6"], rate)
    assert np.array_equal(first, in_sample(feature, offline.copy(), ["geohash6"], rate))

    def chosen(frame: pd.DataFrame, mask: np.ndarray) -> dict[tuple[object, int], bool]:
        keys = frame["geohash6"].astype(object).where(frame["geohash6"].notna(), None)
        return dict(zip(zip(keys, window_micros(frame["window_start"]), strict=True), mask, strict=True))

    offline_choice = chosen(offline, first)
    online_choice = chosen(online, in_sample(feature, online, ["geohash6"], rate))
    for cell in offline_choice.keys() & online_choice.keys():
        assert offline_choice[cell] == online_choice[cell]


def _arrow(frame: pd.DataFrame, layout: str) -> pa.Table:
    """`frame` as the readers hand it over: an Arrow table, in one of the layouts the sources produce."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if layout == "timestamps":  # window_start as Spark and Parquet type it; large strings; int32 panes
        table = table.set_column(
            table.column_names.index("window_start"),
            "window_start",
            table.column("window_start").cast(pa.timestamp("us", tz="UTC")),
        )
        table = table.set_column(0, table.column_names[0], table.column(0).cast(pa.large_string()))
        if "pane_index" in table.column_names:
            at = table.column_names.index("pane_index")
            table = table.set_column(at, "pane_index", table.column(at).cast(pa.int32()))
    if layout == "batches":  # many record batches, as Spark's toArrow() and multi-row-group files give
        table = pa.Table.from_batches(table.to_batches(max_chunksize=3), schema=table.schema)
    return table


def _sorted_cells(comparison: Comparison) -> pd.DataFrame:
    cells = comparison.cells.astype({"geohash6": object, "status": object})
    return cells.sort_values(["geohash6", "window_start"], na_position="first", ignore_index=True)


@FAST
@given(
    data=st.data(),
    offline=offline_frames(),
    tolerance=TOLERANCES,
    layouts=st.tuples(*[st.sampled_from(["pandas", "plain", "timestamps", "batches"])] * 2),
)
def test_arrow_tables_compare_exactly_as_the_same_rows_in_pandas(
    data: st.DataObject, offline: pd.DataFrame, tolerance: Tolerance, layouts: tuple[str, str]
) -> None:
    spec = feature_spec(tolerances=[tolerance])
    online = data.draw(online_frames(offline))
    offline_side, online_side = (
        frame if layout == "pandas" else _arrow(frame, layout)
        for frame, layout in zip((offline, online), layouts, strict=True)
    )
    expected = compare(offline, online, spec)
    got = compare(offline_side, online_side, spec)
    assert got.counts == expected.counts
    pd.testing.assert_frame_equal(_sorted_cells(got), _sorted_cells(expected))
