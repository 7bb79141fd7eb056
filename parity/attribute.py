"""Late-data attribution: why a sampled cell that is not a match differs, and what lateness would have fixed it.

A cell's in-time value is its value over only the events that arrived before the stream closed its window
(`parity.watermark.arrival_cutoff_us`, the rule the replay's watermark follows). If the in-time value agrees
with the realtime value (within the feature's tolerance), or the cell is absent from both, the realtime job
saw exactly what arrived in time: the cause is `late_arrival`. Otherwise the job computed something else from
the same events: `unexplained`, a defect, which `parity.diagnose` may then name (a window shift, a key
mismatch, ...); only `late_arrival` is explained away in `agreement_net_of_explained`.

In-time values come from the recompute itself where the query allows (`parity.in_time`, `one_pass`), or from a
second Spark query over the windows that had late arrivals (`recompute_restricted`, `per_phase`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.compare import compare
from parity.in_time import InTime, events_column, in_time_column
from parity.result import Cause, CellStatus
from parity.sample import cell_index, window_micros
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.watermark import arrival_cutoff_us

CAUSE_COLUMN = "cause"
# The allowed latenesses the what-if reports by default, besides the feature's own (seconds).
WHAT_IF_LATENESS_S = (0, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)


class AttributionMethod(enum.StrEnum):
    ONE_PASS = "one_pass"  # in-time values computed by the recompute itself
    PER_PHASE = "per_phase"  # a second query, one branch per window phase


@dataclass(frozen=True, slots=True)
class InTimeValues:
    """The in-time values of the cells in `considered` (a mask over the comparison's cells): `frame` holds the
    cells that had an in-time event, with their values; a considered cell absent from it had none."""

    frame: pd.DataFrame
    considered: np.ndarray


def what_if_ladder(spec: FeatureSpec, settings: Settings) -> tuple[int, ...]:
    """The allowed latenesses (µs) of the what-if, ascending, the feature's own included."""
    ladder = spec.what_if_lateness_us or settings.what_if_lateness_us or tuple(s * 1_000_000 for s in WHAT_IF_LATENESS_S)
    return tuple(sorted({*ladder, spec.allowed_lateness_us}))


def in_time_frame(offline: pd.DataFrame, spec: FeatureSpec, in_time: InTime, k: int) -> pd.DataFrame:
    """What a correct stream with `in_time.lateness_us[k]` would have output for the cells of `offline` (a
    recompute with `in_time`'s columns): each cell that had an in-time event, with its in-time values, as one
    final pane."""
    present = (offline[events_column(k)].fillna(0) > 0).to_numpy()
    columns = {in_time_column(value, k): value for value in spec.values}
    frame = offline.loc[present, [*spec.keys, "window_start", "window_end", *columns]].rename(columns=columns)
    return frame.assign(pane_index=0).reset_index(drop=True)


def one_pass_values(cells: pd.DataFrame, offline: pd.DataFrame, spec: FeatureSpec, in_time: InTime) -> InTimeValues:
    """In-time values at the feature's own lateness, from a recompute that carries them (`one_pass`)."""
    k = in_time.lateness_us.index(spec.allowed_lateness_us)
    return InTimeValues(in_time_frame(offline, spec, in_time, k), np.ones(len(cells), dtype=bool))


def per_phase_values(cells: pd.DataFrame, spec: FeatureSpec, recompute_in_time: Callable[[pd.DataFrame], pd.DataFrame],
                     events: pa.Table) -> InTimeValues:
    """In-time values of the divergent cells by a second offline query (`per_phase`: the engine's
    `recompute_in_time` of the feature). A window none of whose events arrived after its cutoff has its full
    value in time, so only windows with a late arrival are queried."""
    starts = window_micros(cells["window_start"])
    considered = _explainable(cells)
    considered &= np.isin(starts, windows_with_late_arrivals(events, spec, np.unique(starts[considered])))
    targets = cells.loc[considered, [*spec.keys, "window_start", "window_end"]]
    frame = recompute_in_time(targets) if len(targets) else targets.iloc[0:0]
    return InTimeValues(frame.assign(pane_index=0), considered)


def attribute(cells: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec, in_time: InTimeValues) -> pd.DataFrame:
    """`cells` from a Comparison, with a `cause` column added: None for matches, a `Cause` for every other cell.

    `online` is the realtime output (all panes) restricted to the sampled cells, as given to `compare`.
    """
    result = cells.copy()
    result[CAUSE_COLUMN] = None
    divergent = (result["status"] != CellStatus.MATCH.value).to_numpy()
    if not divergent.any():
        return result
    explainable = _explainable(result) & in_time.considered
    targets = result.loc[explainable, list(spec.cell_columns)]
    late = np.zeros(len(result), dtype=bool)
    if len(targets):
        second = compare(_semi_join(in_time.frame, targets, spec), _semi_join(online, targets, spec), spec).cells
        matched = second.loc[second["status"] == CellStatus.MATCH.value, list(spec.cell_columns)]
        # A cell in neither the in-time values nor the online output: all of its events were late.
        seen = second[list(spec.cell_columns)]
        late_cells = pd.concat([matched, _anti_join(targets, seen, spec)])
        late = _membership(result, late_cells, spec) & explainable
    causes = np.where(late, Cause.LATE_ARRIVAL.value, Cause.UNEXPLAINED.value)
    result.loc[divergent, CAUSE_COLUMN] = causes[divergent]
    return result


def lateness_what_if(
    offline: pd.DataFrame, spec: FeatureSpec, in_time: InTime, compared: int
) -> list[tuple[int, float]]:
    """For each allowed lateness of `in_time`, the agreement a correct stream with that lateness would reach:
    the share of the `compared` cells whose in-time value matches the offline value (absent counts as missing)."""
    if compared == 0:
        return []
    full = offline[[*spec.keys, "window_start", "window_end", *spec.values]]
    return [
        (lateness, compare(full, in_time_frame(offline, spec, in_time, k), spec).matched / compared)
        for k, lateness in enumerate(in_time.lateness_us)
    ]


def windows_with_late_arrivals(events: pa.Table, spec: FeatureSpec, window_starts: np.ndarray) -> np.ndarray:
    """The window starts (µs) among `window_starts` that have an event arriving at or after the window's cutoff."""
    if len(window_starts) == 0 or events.num_rows == 0:
        return np.empty(0, dtype=np.int64)
    event_us = events.column("event_time").cast(pa.int64()).to_numpy()
    ingest_us = events.column("ingest_time").cast(pa.int64()).to_numpy()
    order = np.argsort(event_us, kind="stable")
    event_us, ingest_us = event_us[order], ingest_us[order]
    starts = np.asarray(window_starts, dtype=np.int64)
    ends = starts + spec.window.size_us
    lo = np.searchsorted(event_us, starts, side="left")
    hi = np.searchsorted(event_us, ends, side="left")
    late = np.array([
        bool(hi_ > lo_ and ingest_us[lo_:hi_].max() >= arrival_cutoff_us(int(end), spec.allowed_lateness_us))
        for lo_, hi_, end in zip(lo.tolist(), hi.tolist(), ends.tolist(), strict=True)
    ], dtype=bool)
    selected: np.ndarray = starts[late]
    return selected


def _explainable(cells: pd.DataFrame) -> np.ndarray:
    # A duplicate online cell is a job defect whatever arrived when: no late-data explanation applies.
    status = cells["status"]
    explainable: np.ndarray = ((status != CellStatus.MATCH.value) & (status != CellStatus.DUPLICATE_ONLINE.value)).to_numpy()
    return explainable


def _membership(frame: pd.DataFrame, cells: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    if cells.empty or frame.empty:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(cell_index(frame, spec.keys).isin(cell_index(cells, spec.keys)))


def _semi_join(frame: pd.DataFrame, cells: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    return frame[_membership(frame, cells, spec)]


def _anti_join(frame: pd.DataFrame, cells: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    return frame[~_membership(frame, cells, spec)]
