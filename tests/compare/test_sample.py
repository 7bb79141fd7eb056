"""The deterministic sampler: same cells on both sides, whatever the process, the dtypes or the other columns."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from compare_frames import MINUTE, as_online, feature_spec

from parity.errors import DataError
from parity.sample import NULL_KEY, cell_hash, draw_sample, in_sample, key_text, window_micros


def cells(count: int) -> pd.DataFrame:
    keys = [f"k{i % 97}" for i in range(count)]
    return pd.DataFrame({"geohash6": keys, "window_start": [(i // 97) * MINUTE for i in range(count)], "value": 1.0})


def test_cell_hash_is_the_same_in_a_fresh_process_with_another_hash_seed() -> None:
    frame = cells(50)
    here = cell_hash("feature_x", frame[["geohash6"]], frame["window_start"])
    script = (
        "import sys, pandas as pd\n"
        "from parity.sample import cell_hash\n"
        "keys = [f'k{i % 97}' for i in range(50)]\n"
        "starts = pd.Series([(i // 97) * 60_000_000 for i in range(50)])\n"
        "print(','.join(str(h) for h in cell_hash('feature_x', pd.DataFrame({'geohash6': keys}), starts)))\n"
    )
    there = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "12345"}
    ).stdout.strip()
    assert there == ",".join(str(h) for h in here)


def test_cell_hash_is_pinned_so_a_library_upgrade_cannot_silently_reshuffle_samples() -> None:
    # If this changes, every stored sample and history comparison changes with it: bump it deliberately.
    # Bumped once for the null key: its text became `\x01null` (pandas read `\x00null` as the C string "").
    keys = pd.DataFrame({"geohash6": ["9q8yyk", None]})
    hashes = cell_hash("ride_requests", keys, pd.Series([1_714_557_600_000_000, 0]))
    assert hashes.dtype == np.uint64
    assert hashes.tolist() == [3367619466504014505, 10896800354286426321]


def test_other_columns_row_order_and_index_do_not_change_a_cells_hash() -> None:
    frame = cells(20)
    shuffled = frame.assign(extra=range(20), value=0.5).iloc[::-1]
    shuffled.index = range(100, 120)
    original = pd.Series(cell_hash("f", frame[["geohash6"]], frame["window_start"]), index=frame.index)
    again = pd.Series(cell_hash("f", shuffled[["geohash6"]], shuffled["window_start"]), index=frame.index[::-1])
    assert (original == again.sort_index()).all()


def test_feature_name_keys_the_hash() -> None:
    frame = cells(20)
    assert not np.array_equal(
        cell_hash("ride_requests", frame[["geohash6"]], frame["window_start"]),
        cell_hash("avg_eta", frame[["geohash6"]], frame["window_start"]),
    )


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([5, 12, None], dtype="Int64"),
        pd.Series(["5", "12", None], dtype=object),
        pd.Series(["5", "12", None], dtype="string[pyarrow]"),
        pd.Series([5.0, 12.0, np.nan]),
        pd.Series([np.int32(5), 12, None], dtype=object),
        pd.Series([5, 12, None], dtype="int64[pyarrow]"),
    ],
    ids=["Int64", "object-str", "arrow-str", "float64", "object-int", "arrow-int"],
)
def test_key_dtypes_normalise_to_the_same_text(column: pd.Series) -> None:
    assert key_text(column).tolist() == ["5", "12", NULL_KEY]


def test_non_integral_float_keys_keep_their_fraction() -> None:
    assert key_text(pd.Series([0.1, 2.5])).tolist() == ["0.1", "2.5"]


def test_null_key_differs_from_the_strings_none_and_nan() -> None:
    text = key_text(pd.Series([None, "None", "nan", ""], dtype=object)).tolist()
    assert len(set(text)) == 4


@pytest.mark.parametrize(
    "starts",
    [
        pd.Series([0, MINUTE, 2 * MINUTE]),
        pd.Series(pd.to_datetime([0, MINUTE, 2 * MINUTE], unit="us", utc=True).as_unit("us")),
        pd.Series(pd.to_datetime([0, MINUTE, 2 * MINUTE], unit="us", utc=True).as_unit("ns")),
        pd.Series(pd.to_datetime([0, MINUTE, 2 * MINUTE], unit="us", utc=True).tz_convert("Asia/Kolkata")),
        pd.Series(pd.to_datetime([0, MINUTE, 2 * MINUTE], unit="us")),
        pd.Series(pd.to_datetime([0, MINUTE, 2 * MINUTE], unit="us", utc=True)).astype(
            "timestamp[us, tz=UTC][pyarrow]"
        ),
    ],
    ids=["int-us", "us-UTC", "ns-UTC", "Kolkata", "naive", "arrow"],
)
def test_window_start_dtypes_normalise_to_microseconds_utc(starts: pd.Series) -> None:
    assert window_micros(starts).tolist() == [0, MINUTE, 2 * MINUTE]


def test_missing_window_start_raises_data_error() -> None:
    with pytest.raises(DataError, match="window_start"):
        window_micros(pd.Series([0, None], dtype="Int64"))


def test_rate_selects_about_that_share_of_cells() -> None:
    frame = cells(20_000)
    share = in_sample("ride_requests", frame, ["geohash6"], 0.1).mean()
    assert 0.09 < share < 0.11


def test_a_cell_in_a_smaller_sample_is_in_every_larger_one() -> None:
    frame = cells(5_000)
    small = in_sample("f", frame, ["geohash6"], 0.05)
    large = in_sample("f", frame, ["geohash6"], 0.2)
    assert small.any() and not (small & ~large).any()


def test_rate_one_selects_every_row() -> None:
    assert in_sample("f", cells(50), ["geohash6"], 1.0).all()


@pytest.mark.parametrize("rate", [0.0, -0.1, 1.5])
def test_rate_outside_zero_to_one_is_rejected(rate: float) -> None:
    with pytest.raises(ValueError, match="sample rate"):
        in_sample("f", cells(5), ["geohash6"], rate)


def test_missing_key_column_raises_data_error() -> None:
    with pytest.raises(DataError, match="city"):
        in_sample("f", cells(5), ["city"], 0.5)


def test_draw_sample_keeps_every_pane_of_a_selected_cell() -> None:
    spec = feature_spec(name="ride_requests")
    offline = cells(2_000)
    online = pd.concat([as_online(offline, spec), as_online(offline, spec).assign(pane_index=1)], ignore_index=True)
    sampled_online = draw_sample(online, spec, 0.3)
    panes = sampled_online.groupby(["geohash6", "window_start"]).size()
    assert len(panes) > 0 and (panes == 2).all()


def test_draw_sample_picks_the_same_cells_on_both_sides_whatever_their_dtypes() -> None:
    spec = feature_spec(name="ride_requests")
    offline = cells(3_000)
    offline["window_start"] = pd.to_datetime(offline["window_start"], unit="us", utc=True).dt.as_unit("us")
    online = as_online(cells(3_000), spec)
    online["geohash6"] = online["geohash6"].astype("string[pyarrow]")
    online["window_start"] = pd.to_datetime(online["window_start"], unit="us", utc=True).dt.as_unit("ns")
    picked_offline = draw_sample(offline, spec, 0.25)
    picked_online = draw_sample(online, spec, 0.25)
    as_cells = {(k, int(w)) for k, w in zip(picked_offline["geohash6"], window_micros(picked_offline["window_start"]))}
    assert as_cells == {
        (k, int(w)) for k, w in zip(picked_online["geohash6"], window_micros(picked_online["window_start"]))
    }
    assert 0 < len(as_cells) < 3_000


def test_an_arrow_table_samples_the_cells_its_pandas_frame_samples() -> None:
    spec = feature_spec(name="ride_requests")
    frame = as_online(cells(3_000), spec)
    frame.loc[::50, "geohash6"] = None
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(1, "window_start", table.column("window_start").cast(pa.timestamp("us", "UTC")))
    assert np.array_equal(in_sample(spec.name, table, spec.keys, 0.25), in_sample(spec.name, frame, spec.keys, 0.25))
    picked = draw_sample(table, spec, 0.25)
    assert isinstance(picked, pa.Table)
    assert 0 < picked.num_rows < table.num_rows
    assert picked.column("geohash6").to_pylist() == draw_sample(frame, spec, 0.25)["geohash6"].tolist()


def test_arrow_window_starts_of_any_unit_are_microseconds_utc() -> None:
    micros = [0, MINUTE, 1_767_225_600_000_000]
    for unit, scale in (("s", 1_000_000), ("ms", 1_000), ("us", 1), ("ns", 1)):
        values = [m // scale for m in micros] if unit != "ns" else [m * 1_000 for m in micros]
        column = pa.chunked_array([pa.array(values, pa.int64()).cast(pa.timestamp(unit, "UTC"))])
        assert window_micros(column).tolist() == micros
    assert window_micros(pa.chunked_array([pa.array(micros, pa.int64())])).tolist() == micros


def test_arrow_null_window_start_raises_data_error() -> None:
    with pytest.raises(DataError, match="1 row"):
        window_micros(pa.chunked_array([pa.array([0, None], pa.timestamp("us", "UTC"))]))
