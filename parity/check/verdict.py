"""The verdict of a check and the `CheckResult` it is rendered from: agreement, causes, the worst cells, the
counts per window and per geohash the reports draw."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from parity.check.settle import CheckRange
from parity.compare import Comparison, compare
from parity.quality import QualityReport
from parity.result import (
    Cause,
    CellDiff,
    CellStatus,
    CheckResult,
    Diagnosis,
    GeohashCounts,
    Verdict,
    WhatIf,
    WindowCounts,
)
from parity.spec import FeatureSpec
from parity.units import US, format_duration, iso

ON_TIME = "ON_TIME"  # the `pane_timing` of a window's on-time pane (Beam's PaneInfoTiming name, `parity.realtime`)
WORST_CELLS = 20


@dataclass(frozen=True, slots=True, eq=False)
class Judged:
    """What the stages before the verdict found: the comparison of the sampled sides and its attributed,
    diagnosed cells, the input suites' report, and the lateness what-if (lateness, share) steps."""

    comparison: Comparison
    cells: pd.DataFrame
    quality: QualityReport
    sampled_offline: pd.DataFrame
    sampled_online: pd.DataFrame
    diagnoses: tuple[Diagnosis, ...]
    what_if: tuple[tuple[int, float], ...]
    method: str
    events_read: int
    events_clock_skewed: int


def causes_of(cells: pd.DataFrame) -> dict[Cause, int]:
    return {cause: int((cells["cause"] == cause.value).sum()) for cause in Cause}


def agreement_of(comparison: Comparison) -> float:
    return comparison.matched / comparison.compared if comparison.compared else 1.0


def verdict(spec: FeatureSpec, run_id: str, span: CheckRange, rate: float, bar: float, judged: Judged) -> CheckResult:
    """The `CheckResult` of a check: inconclusive when an input suite failed or nothing was compared, else
    passed or breached by the agreement against `bar`."""
    from parity.confidence import cells_needed, wilson_interval

    comparison, cells = judged.comparison, judged.cells
    compared, causes, agreement = comparison.compared, causes_of(cells), agreement_of(comparison)
    explained = sum(count for cause, count in causes.items() if cause.explained)
    low, high = wilson_interval(comparison.matched, compared)
    if not judged.quality.passed or compared == 0:
        outcome = Verdict.INCONCLUSIVE
    else:
        outcome = Verdict.PASSED if agreement >= bar else Verdict.BREACHED
    counts = comparison.counts
    return CheckResult(
        feature=spec.name, run_id=run_id, start=iso(span.start_us), end=iso(span.end_us), sample_rate=rate,
        compared=compared, matched=comparison.matched,
        value_mismatch=counts[CellStatus.VALUE_MISMATCH], missing_online=counts[CellStatus.MISSING_ONLINE],
        missing_offline=counts[CellStatus.MISSING_OFFLINE], duplicate_online=counts[CellStatus.DUPLICATE_ONLINE],
        agreement=agreement, threshold=bar, passed=outcome is Verdict.PASSED, causes=causes,
        agreement_net_of_explained=(comparison.matched + explained) / compared if compared else 1.0,
        verdict=outcome, ci_low=low, ci_high=high, cells_needed=cells_needed(bar),
        worst_cells=_worst_cells(cells, spec),
        failed_expectations=tuple(f.to_json() for f in judged.quality.failed),
        unsettled=span.unsettled,
        attribution_method=judged.method,
        diagnoses=judged.diagnoses,
        agreement_on_time_pane=_on_time_agreement(judged.sampled_offline, judged.sampled_online, spec, compared),
        lateness_what_if=tuple(WhatIf(format_duration(lateness), share) for lateness, share in judged.what_if),
        lateness_needed=next((format_duration(lateness) for lateness, share in judged.what_if if share >= bar), None),
        extra={"events_read": judged.events_read, "events_clock_skewed": judged.events_clock_skewed,
               "online_rows": len(judged.sampled_online),
               "window": spec.window.describe(), "allowed_lateness": format_duration(spec.allowed_lateness_us)},
        description=spec.description,
        slide_s=spec.window.slide_us // US,
        windows=_window_counts(cells),
        geohash_cells=_geohash_counts(cells, spec),
    )


def _window_counts(cells: pd.DataFrame) -> tuple[WindowCounts, ...]:
    """Per window: compared, matched, and the divergent cells by cause (what the report's range chart stacks)."""
    from parity.sample import window_micros

    if cells.empty:
        return ()
    starts, index = np.unique(window_micros(cells["window_start"]), return_inverse=True)
    matched = np.bincount(index, weights=(cells["status"] == CellStatus.MATCH.value).to_numpy(), minlength=len(starts))
    by_cause = {
        cause.value: np.bincount(index, weights=(cells["cause"] == cause.value).to_numpy(), minlength=len(starts))
        for cause in Cause
    }
    compared = np.bincount(index, minlength=len(starts))
    return tuple(
        WindowCounts(iso(int(start)), int(compared[i]), int(matched[i]),
                     {cause: int(counts[i]) for cause, counts in by_cause.items()})
        for i, start in enumerate(starts.tolist())
    )


def _geohash_counts(cells: pd.DataFrame, spec: FeatureSpec) -> GeohashCounts | None:
    """Per geohash (over every window), for the report's drill-down, when the one key holds geohashes: every
    non-null value a geohash of one precision (a display choice made from the data, nothing depends on it)."""
    from parity.geo import BASE32

    if len(spec.keys) != 1 or cells.empty:
        return None
    key = spec.keys[0]
    values = cells[key].astype(object).where(cells[key].notna(), "")
    present = {v for v in values.unique().tolist() if v != ""}
    if not present or not all(isinstance(v, str) and set(v) <= BASE32 for v in present) or len({len(v) for v in present}) != 1:
        return None
    frame = pd.DataFrame({
        "key": values.astype(str).to_numpy(),
        "matched": (cells["status"] == CellStatus.MATCH.value).to_numpy(),
        "unexplained": (cells["cause"] == Cause.UNEXPLAINED.value).to_numpy(),
    })
    grouped = frame.groupby("key", sort=True).agg(cells=("matched", "size"), matched=("matched", "sum"),
                                                  unexplained=("unexplained", "sum"))
    return GeohashCounts(key, tuple(grouped.index.tolist()), tuple(grouped["cells"].astype(int).tolist()),
                         tuple(grouped["matched"].astype(int).tolist()),
                         tuple(grouped["unexplained"].astype(int).tolist()))


def _on_time_agreement(offline: pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec, compared: int) -> float | None:
    """What a model reading at window close received: the share of the check's cells whose ON_TIME pane agrees
    with offline. A cell with neither an offline row nor an ON_TIME pane agrees (nothing was due, nothing came);
    a cell whose only panes are late has no ON_TIME pane and disagrees. None when no row is an ON_TIME pane."""
    on_time = online["pane_timing"] == ON_TIME
    if compared == 0 or not on_time.any():
        return None
    closing = compare(offline, online[on_time.to_numpy(dtype=bool, na_value=False)], spec)
    return (closing.matched + compared - closing.compared) / compared


def _worst_cells(cells: pd.DataFrame, spec: FeatureSpec) -> tuple[CellDiff, ...]:
    """Divergent cells, those not explained away first, then by the largest relative difference of the first value."""
    from parity.sample import window_micros

    divergent = cells[cells["status"] != CellStatus.MATCH.value].copy()
    if divergent.empty:
        return ()
    first = spec.values[0]
    # As plain floats: a nullable Int64 column cannot take the 1e-12 floor below (an offline count of 0 would).
    online = pd.to_numeric(divergent[f"{first}_online"], errors="coerce").astype("float64")
    offline = pd.to_numeric(divergent[f"{first}_offline"], errors="coerce").astype("float64")
    divergent["_gap"] = ((online - offline).abs() / offline.abs().clip(lower=1e-12)).fillna(float("inf"))
    divergent["_unexplained"] = [not Cause(cause).explained for cause in divergent["cause"]]
    divergent = divergent.sort_values(["_unexplained", "_gap"], ascending=False).head(WORST_CELLS)
    return tuple(
        CellDiff(
            keys={k: plain(row[k]) for k in spec.keys},
            window_start=iso(int(window_micros(pd.Series([row["window_start"]]))[0])),
            status=CellStatus(row["status"]),
            cause=Cause(row["cause"]),
            online={v: plain(row[f"{v}_online"]) for v in spec.values},
            offline={v: plain(row[f"{v}_offline"]) for v in spec.values},
        )
        for _, row in divergent.iterrows()
    )


def plain(value: object) -> object:
    """A JSON-safe scalar: None for missing, float/int/str otherwise."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        return value.item()  # numpy scalar
    return value
