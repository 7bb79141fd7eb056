"""The diagnoses on hand-made frames (no Spark, no Beam; tests/check/test_diagnoses.py runs them end to end).

The offline side has one value `v` per cell; the online side is built from it with one planted difference per
test, and the cells handed to `diagnose` are `compare`'s, every divergent one `unexplained` as
`parity.attribute` leaves them when nothing arrived late.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from parity.compare import compare
from parity.diagnose import CAUSE_COLUMN, FILE_COLUMN, diagnose
from parity.result import Cause, CellStatus, Diagnosis
from parity.spec import FeatureSpec, Tolerance, Window
from parity.units import US

MINUTE = 60 * US
HOUR = 60 * MINUTE
START = 1_717_408_800 * US  # 2024-06-03 10:00 UTC
SPEC = FeatureSpec(
    name="f", source="events", path=Path("realtime_jobs/f.yaml"), offline_query=Path("offline_queries/f.sql"),
    keys=("k",), window=Window(size_us=MINUTE, slide_us=MINUTE), values=("v",), tolerances=(Tolerance(),),
    threshold=0.999, allowed_lateness_us=2 * MINUTE, sample_rate=1.0, transform_yaml=None,
    transform_ref="x.py:X", expectations=(), description="",
)


def offline_frame(keys: list[Any], windows: int, value: Any = None, spec: FeatureSpec = SPEC) -> pd.DataFrame:
    """Every key in each of `windows` windows from START; `v` is `value(key index, window index)` or 1 + both."""
    rows = [
        {"k": key, "window_start": START + w * spec.window.slide_us,
         "v": value(i, w) if callable(value) else 1 + i + 2 * w}
        for i, key in enumerate(keys) for w in range(windows)
    ]
    frame = pd.DataFrame(rows)
    frame["window_start"] = pd.to_datetime(frame["window_start"], unit="us", utc=True)
    return frame


def online_frame(offline: pd.DataFrame, file: str = "a.parquet") -> pd.DataFrame:
    return offline.assign(pane_index=0, pane_timing="ON_TIME", **{FILE_COLUMN: file})


def run(offline: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec = SPEC, windows: int = 10,
        late: Callable[[pd.DataFrame], np.ndarray] | None = None) -> tuple[pd.DataFrame, tuple[Diagnosis, ...]]:
    """`diagnose` over the range of `windows` windows from START; the divergent cells `late` picks were put
    down to late arrival first."""
    in_range = online[online["window_start"] < pd.Timestamp(START + windows * spec.window.slide_us, unit="us", tz="UTC")]
    in_range = in_range[in_range["window_start"] >= pd.Timestamp(START, unit="us", tz="UTC")]
    cells = compare(offline, in_range, spec).cells
    divergent = (cells["status"] != CellStatus.MATCH.value).to_numpy()
    cells[CAUSE_COLUMN] = None
    cells.loc[divergent, CAUSE_COLUMN] = Cause.UNEXPLAINED.value
    if late is not None:
        cells.loc[divergent & late(cells), CAUSE_COLUMN] = Cause.LATE_ARRIVAL.value
    online[FILE_COLUMN] = online[FILE_COLUMN].astype("category")
    return diagnose(cells, spec, offline, online, START, START + windows * spec.window.slide_us)


def causes(cells: pd.DataFrame) -> dict[str, int]:
    return {str(k): int(v) for k, v in cells[CAUSE_COLUMN].value_counts().items()}


KEYS = [f"9q8y{c}" for c in "bcdefghj"]


def test_only_late_arrival_is_explained_away() -> None:
    assert [cause for cause in Cause if cause.explained] == [Cause.LATE_ARRIVAL]


def test_a_negative_time_zone_offset_is_named_with_its_sign() -> None:
    offline = offline_frame(KEYS, 10)
    online = online_frame(offline.assign(window_start=offline["window_start"] - pd.Timedelta(hours=8)))
    cells, found = run(offline, online)
    assert found == (Diagnosis(Cause.WINDOW_SHIFT, 80, "online windows = offline windows - 8h"),)
    assert causes(cells) == {"window_shift": 80}


def test_a_sliding_window_shifted_by_two_slides_is_found_among_the_slide_multiples() -> None:
    sliding = dataclasses.replace(SPEC, window=Window(size_us=5 * MINUTE, slide_us=MINUTE))
    offline = offline_frame(KEYS, 10, spec=sliding)
    online = online_frame(offline.assign(window_start=offline["window_start"] + pd.Timedelta(minutes=2)))
    _, found = run(offline, online, sliding)
    assert found == (Diagnosis(Cause.WINDOW_SHIFT, 80, "online windows = offline windows + 2m"),)


def test_a_shift_that_only_a_minority_of_cells_fit_is_no_diagnosis() -> None:
    # One key's windows are a minute late (its 10 cells fit the shift); the 70 cells of the others are off by 100.
    offline = offline_frame(KEYS, 10)
    online = online_frame(offline)
    shifted = online["k"] == KEYS[0]
    online.loc[shifted, "window_start"] += pd.Timedelta(minutes=1)
    online.loc[~shifted, "v"] += 100
    cells, found = run(offline, online)
    assert found == ()
    assert causes(cells) == {"unexplained": 80}
    # The same shift on every key is a pattern.
    assert run(offline, online_frame(offline.assign(window_start=offline["window_start"] + pd.Timedelta(minutes=1))))[
        1] == (Diagnosis(Cause.WINDOW_SHIFT, 80, "online windows = offline windows + 1m"),)


def test_fewer_than_three_fitting_cells_are_a_pattern_only_when_they_are_all_that_is_left() -> None:
    # Key 0 holds 5 in every window but the fifth (9); online, the 9 sits a window later: two divergent cells,
    # both fitting a one-minute shift. Key 1 is off by 100 in its eighth window, which fits no shift.
    offline = offline_frame(KEYS, 10, value=lambda i, w: 9 if (i, w) == (0, 4) else 10 * i + 5)
    online = online_frame(offline)
    online.loc[(online["k"] == KEYS[0]) & online["window_start"].isin(offline["window_start"].iloc[4:6]), "v"] = [5, 9]
    assert run(offline, online)[1] == (Diagnosis(Cause.WINDOW_SHIFT, 2, "online windows = offline windows + 1m"),)
    eighth = (online["k"] == KEYS[1]) & (online["window_start"] == offline["window_start"].iloc[7])
    online.loc[eighth, "v"] += 100
    assert run(offline, online.copy())[1] == ()  # 2 fitting cells of 3 left: fewer than 3
    cells, found = run(offline, online.copy(), late=lambda c: (c["k"] == KEYS[1]).to_numpy())
    assert found == (Diagnosis(Cause.WINDOW_SHIFT, 2, "online windows = offline windows + 1m"),)
    assert causes(cells) == {"late_arrival": 1, "window_shift": 2}


def test_late_arrival_cells_are_never_diagnosed() -> None:
    offline = offline_frame(KEYS, 10)
    online = online_frame(offline.assign(window_start=offline["window_start"] + pd.Timedelta(minutes=1)))
    cells, found = run(offline, online, late=lambda c: (c["k"] == KEYS[0]).to_numpy())
    assert causes(cells) == {"late_arrival": 10, "window_shift": 70}
    assert found == (Diagnosis(Cause.WINDOW_SHIFT, 70, "online windows = offline windows + 1m"),)


def test_duplicate_final_panes_in_one_file_are_one_run_emitting_twice() -> None:
    offline = offline_frame(KEYS, 10)
    online = online_frame(offline)
    twice = online[online["window_start"] == pd.Timestamp(START + 3 * MINUTE, unit="us", tz="UTC")]
    cells, found = run(offline, pd.concat([online, twice], ignore_index=True))
    assert found == (Diagnosis(
        Cause.DUPLICATE_OUTPUT, 8, "8 cells have several final panes within one output file, from one run (a.parquet)"),)
    assert causes(cells) == {"duplicate_output": 8}


def test_duplicate_final_panes_across_files_name_the_overlapping_files() -> None:
    offline = offline_frame(KEYS, 10)
    first = online_frame(offline[offline["window_start"] < pd.Timestamp(START + 6 * MINUTE, unit="us", tz="UTC")],
                         "windows-a.parquet")
    second = online_frame(offline[offline["window_start"] >= pd.Timestamp(START + 4 * MINUTE, unit="us", tz="UTC")],
                          "windows-b.parquet")
    _, found = run(offline, pd.concat([first, second], ignore_index=True))
    assert found == (Diagnosis(Cause.DUPLICATE_OUTPUT, 16,
                               "16 cells have final panes in 2 overlapping output files "
                               "(windows-a.parquet, windows-b.parquet); "
                               "e.g. windows-a.parquet: v=9; windows-b.parquet: v=9"),)


def test_empty_text_where_the_other_side_is_null_is_null_semantics() -> None:
    offline = offline_frame(KEYS, 4, value=lambda i, w: None if (i + w) % 3 == 0 else f"x{i}")
    offline["v"] = offline["v"].astype(object)
    online = online_frame(offline)
    online["v"] = online["v"].where(online["v"].notna(), "")
    cells, found = run(offline, online, windows=4)
    nulls = int(offline["v"].isna().sum())
    assert found == (Diagnosis(Cause.NULL_SEMANTICS, nulls, f"v is empty online where it is null offline ({nulls} cells)"),)
    assert causes(cells) == {"null_semantics": nulls}


def test_null_against_a_number_other_than_zero_is_not_null_semantics() -> None:
    offline = offline_frame(KEYS, 4, value=lambda i, w: None if (i + w) % 3 == 0 else float(i))
    offline["v"] = offline["v"].astype("Float64")
    online = online_frame(offline)
    online["v"] = online["v"].fillna(7.0)
    cells, found = run(offline, online, windows=4)
    assert found == () and set(causes(cells)) == {"unexplained"}


@pytest.mark.parametrize(("online_keys", "detail"), [
    ([k.upper() for k in KEYS], "online keys are offline keys in another case (online '9Q8YB', offline '9q8yb')"),
    ([f" {k}" for k in KEYS], "online keys are offline keys with other whitespace (online ' 9q8yb', offline '9q8yb')"),
    ([k[:4] for k in KEYS], "online keys are precision-4 parents of offline precision-5 keys"),
])
def test_keys_transformed_consistently_are_a_key_mismatch(online_keys: list[str], detail: str) -> None:
    offline = offline_frame(KEYS, 3)
    renamed = offline.assign(k=offline["k"].map(dict(zip(KEYS, online_keys, strict=True))))
    online = online_frame(renamed.groupby(["k", "window_start"], as_index=False)["v"].sum())  # parents add up
    cells, found = run(offline, online, windows=3)
    divergent = len(cells) - int((cells["status"] == CellStatus.MATCH.value).sum())
    assert found == (Diagnosis(Cause.KEY_MISMATCH, divergent, detail),)


def test_numbers_printed_another_way_are_a_key_mismatch() -> None:
    offline = offline_frame([5, 6, 7], 3)
    online = online_frame(offline.assign(k=offline["k"].map(lambda n: f"{n}.0")))
    _, found = run(offline, online, windows=3)
    assert found == (Diagnosis(Cause.KEY_MISMATCH, 18,
                               "online keys are offline keys printed as other numbers (online '5.0', offline '5')"),)


def test_a_dropped_key_is_no_key_mismatch() -> None:
    offline = offline_frame(KEYS, 10)
    online = online_frame(offline[offline["k"] != KEYS[3]])
    cells, found = run(offline, online)
    assert found == () and causes(cells) == {"unexplained": 10}


def test_diagnoses_take_well_under_a_tenth_of_a_second_for_100_divergent_cells_among_20000() -> None:
    keys = [f"9q{i:03d}" for i in range(334)]
    rng = np.random.default_rng(7)
    offline = offline_frame(keys, 60, value=lambda i, w: int(rng.integers(0, 5)))
    online = online_frame(offline)
    wrong = rng.choice(len(online), 100, replace=False)
    online.loc[wrong, "v"] = online.loc[wrong, "v"] + 1
    run(offline, online, windows=60)  # warm
    started = time.process_time()
    cells, found = run(offline, online, windows=60)
    assert time.process_time() - started < 0.25  # includes `compare` of 20k cells; ~0.03 s of it is diagnosing
    assert found == () and causes(cells) == {"unexplained": 100}
