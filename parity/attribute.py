"""Late-data attribution: why a sampled cell that is not a match differs.

For each divergent cell, recompute it offline from only the events that arrived before the stream closed
its window (`parity.watermark.arrival_cutoff_us`, the same rule the replay's watermark follows). If that
restricted value agrees with the realtime value (within the feature's tolerance), or the cell is absent from
both, the realtime job saw exactly what arrived in time: the cause is `late_arrival`, the one cause explained
away in `agreement_net_of_explained`. Otherwise the job computed something else from the same events:
`unexplained`, a defect, which `parity.diagnose` may then name (a window shift, a key mismatch, ...).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.compare import compare
from parity.geo import geohash_series
from parity.lineage import geohash_key
from parity.query import read_query
from parity.result import Cause, CellStatus
from parity.sample import cell_index, window_micros
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.watermark import arrival_cutoff_us

CAUSE_COLUMN = "cause"


def attribute(
    cells: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec, settings: Settings, events: pa.Table | None = None
) -> pd.DataFrame:
    """`cells` from a Comparison, with a `cause` column added: None for matches, a `Cause` for every other cell.

    `online` is the realtime output (all panes) restricted to the sampled cells, as given to `compare`.
    `events`, when given, are the source events the check read: a window none of whose events arrived after its
    cutoff recomputes to exactly the full offline value, so its divergent cells are `unexplained` without a
    second Spark query (a window's value depends only on the events whose `event_time` falls in it).
    """
    from parity.offline import recompute_restricted

    result = cells.copy()
    result[CAUSE_COLUMN] = None
    divergent = result["status"] != CellStatus.MATCH.value
    if not divergent.any():
        return result
    # A duplicate online cell is a job defect whatever arrived when: no late-data explanation applies.
    explainable = divergent & (result["status"] != CellStatus.DUPLICATE_ONLINE.value)
    if events is not None:
        starts = window_micros(result["window_start"])
        explainable &= np.isin(starts, windows_with_late_arrivals(events, spec, np.unique(starts[explainable])))
        origin = geohash_key(read_query(spec, settings.project), spec.source, spec.keys[0]) if len(spec.keys) == 1 else None
        if origin is not None and {origin[0], origin[1]} <= set(events.column_names):
            explainable &= _membership(result, cells_with_late_arrivals(events, spec, origin), spec)
    targets = result.loc[explainable, [*spec.keys, "window_start", "window_end"]]
    late = np.zeros(len(result), dtype=bool)
    if len(targets):
        restricted = recompute_restricted(spec, settings, targets)
        online_targets = _semi_join(online, targets, spec)
        second = compare(restricted, online_targets, spec).cells
        matched = second.loc[second["status"] == CellStatus.MATCH.value, list(spec.cell_columns)]
        # A cell in neither the restricted recompute nor the online output: all of its events were late.
        seen = second[list(spec.cell_columns)]
        late_cells = pd.concat([matched, _anti_join(targets[list(spec.cell_columns)], seen, spec)])
        late = _membership(result, late_cells, spec) & explainable.to_numpy()
    causes = np.where(late, Cause.LATE_ARRIVAL.value, Cause.UNEXPLAINED.value)
    result.loc[divergent, CAUSE_COLUMN] = causes[divergent.to_numpy()]
    return result


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


def cells_with_late_arrivals(events: pa.Table, spec: FeatureSpec, origin: tuple[str, str, int]) -> pd.DataFrame:
    """The cells (key, window_start) holding an event that arrived at or after its window's cutoff, for a feature
    whose one key is `geohash(lat, lon, precision)` of each event, `origin` (`parity.lineage.geohash_key`).

    Every event counts, whatever the query's filters would keep: a superset of the cells whose restricted value
    can differ from the full one. A divergent cell outside it recomputes to its full offline value, so it is
    `unexplained` without a Spark query. Only the late events are geohashed.
    """
    lat_name, lon_name, precision = origin
    event_us = events.column("event_time").cast(pa.int64()).to_numpy(zero_copy_only=False)
    ingest_us = events.column("ingest_time").cast(pa.int64()).to_numpy(zero_copy_only=False)
    size, slide = spec.window.size_us, spec.window.slide_us
    latest_start = event_us - np.mod(event_us, slide)  # the last of the size/slide windows holding each event
    rows: list[np.ndarray] = []
    starts: list[np.ndarray] = []
    for back in range(size // slide):
        start = latest_start - back * slide
        late = np.flatnonzero(ingest_us >= arrival_cutoff_us(0, spec.allowed_lateness_us) + start + size)
        rows.append(late)
        starts.append(start[late])
    taken = np.concatenate(rows)
    coordinates = events.select([lat_name, lon_name]).take(pa.array(taken, type=pa.int64())).to_pandas()
    cells = pd.DataFrame({
        spec.keys[0]: geohash_series(coordinates[lat_name], coordinates[lon_name], precision),
        "window_start": pd.to_datetime(np.concatenate(starts), unit="us", utc=True),
    })
    return cells.drop_duplicates(ignore_index=True)


def _membership(frame: pd.DataFrame, cells: pd.DataFrame, spec: FeatureSpec) -> np.ndarray:
    if cells.empty:
        return np.zeros(len(frame), dtype=bool)
    return np.asarray(cell_index(frame, spec.keys).isin(cell_index(cells, spec.keys)))


def _semi_join(frame: pd.DataFrame, cells: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    return frame[_membership(frame, cells, spec)]


def _anti_join(frame: pd.DataFrame, cells: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    return frame[~_membership(frame, cells, spec)]
