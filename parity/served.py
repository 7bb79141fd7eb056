"""Served parity: what a model read from the online store against what it should have read, and how fresh it was.

Three sides meet here, every time on one clock (the tap's: wall or simulated, `ServedResult.clock` says which):
- the **reads** a tap made (`parity tap`): per read, the key, `read_at`, whether the store held the key
  (`present`), the values, and the `window_start`/`window_end`/`written_at` the store held with them;
- the **stream's log** (the online log): every pane the job emitted, with `emitted_at`;
- the **offline truth**: the feature's offline rows per window.

What a model should have received at `read_at` (`expected`): the offline value of the latest window that had
closed by `read_at - delay` (the *due* window: `window_end <= read_at - delay`, on the window grid). A key with no
events in the due window has no offline row; the spec's `served.empty` says what the model should get then:
- a value (`empty: 0`, the default for a count): that value, for the due window. A reader of the store takes a
  value whose window is older than the due window, or an absent key, as the empty value (the store only holds
  windows that had events; Beam emits no empty window), so a quiet key reads 0, as it should;
- `latest`: the latest window that has a row, whose age then counts against freshness.

Freshness of a read: `read_at - window_end` of the value served. Where the reader took the empty value and the
truth had no newer window, the value is as fresh as the due window (`read_at - due_end`). Absent reads have no
age; they are counted as missing. The SLA is the spec's `served.freshness`.

Causes per read that disagrees, three sides compared:
- `stale`: the store held an older window than due because the new value had not reached it yet (the stream had
  not emitted it by `read_at`, or the writer lags: the stored pane's write latency says the newer pane's write
  was still to come). `stale_by_us` says how old.
- `missing_in_store`: the stream emitted the due value in time and the store does not hold it (never written,
  a lost write, or the key expired by its TTL).
- `out_of_order_write`: the store holds an older window than the stream had already emitted, written after it
  (a late pane of an older window overwrote a newer one: a last-arrival-wins writer).
- `store_value_mismatch`: the store holds the due window with a value no pane of the stream had (encoding,
  precision, truncation).
- where the store holds what the stream emitted, the compute causes of the emitted check (late arrival,
  job logic, key mismatch, window shift; `unexplained` when no emitted check is given). Where the emitted check
  has none (its final pane agrees) but the store held an earlier pane of the window that late data replaced:
  `late_arrival` when the read came before the later pane could reach the store, `missing_in_store` after.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from parity.compare import compare
from parity.confidence import wilson_interval
from parity.result import Cause, CellStatus
from parity.spec import LATEST, FeatureSpec, Served
from parity.units import HOUR_US, iso
from parity.watermark import TICK_US

READ_COLUMNS = ("read_at", "present", "window_start", "window_end", "written_at")
_BINS = 24
WORST_READS = 10
_READ = "_read"


class StoreCause(enum.StrEnum):
    """Why a served read differs when the store, not the computation, is at fault."""

    STALE = "stale"
    MISSING_IN_STORE = "missing_in_store"
    OUT_OF_ORDER_WRITE = "out_of_order_write"
    STORE_VALUE_MISMATCH = "store_value_mismatch"


@dataclass(frozen=True, slots=True)
class ServedResult:
    """A served check of one feature over reads in [start_us, end_us). `reads` has one row per read: the keys,
    `read_at`, `expected_end`, `served_end` (µs or NA), `freshness_us`, `status` (`CellStatus` value), `cause`
    (a `StoreCause` or `Cause` value; empty for a match), `stale_by_us`, and per value `v_served`/`v_expected`."""

    feature: str
    clock: str
    reads: pd.DataFrame
    compared: int
    matched: int
    agreement: float
    freshness_p50_us: float | None
    freshness_p95_us: float | None
    freshness_p99_us: float | None
    within_sla: float | None
    freshness_sla_us: int
    causes: dict[str, int]

    def summary(self) -> dict[str, Any]:
        """JSON-safe figures for reports, history and metrics."""
        return {
            "clock": self.clock, "reads": self.compared, "matched": self.matched, "served_agreement": self.agreement,
            "freshness_p50_s": _seconds(self.freshness_p50_us), "freshness_p95_s": _seconds(self.freshness_p95_us),
            "freshness_p99_s": _seconds(self.freshness_p99_us), "within_sla": self.within_sla,
            "freshness_sla_s": self.freshness_sla_us / 1e6, "causes": dict(self.causes),
        }


def replayed_emission(spec: FeatureSpec, panes: pd.DataFrame) -> np.ndarray:
    """When each pane of a replay was emitted on the replayed (event) clock, from its window and pane index, by
    the watermark rule of `parity.watermark`: the ON_TIME pane once the watermark reaches the window's end
    (`on_time_cutoff_us`), its n late panes spread evenly over the allowed lateness after it (the i-th at
    `on_time + i * lateness / n`; the replay keeps which late event fired which pane only as an index). The
    final pane therefore lands by `window_end + lateness`, the latest instant the stream could have written it.
    `panes`: `window_end` (µs), `pane_index`, `pane_timing` and the key columns. Returns int64 microseconds."""
    ends = panes["window_end"].astype("int64").to_numpy()
    on_time = -(-ends // TICK_US) * TICK_US  # on_time_cutoff_us, per row
    index = panes["pane_index"].astype("int64").to_numpy()
    first_late = panes.assign(_late=index).groupby([*spec.keys, "window_end"], dropna=False)["_late"]
    late_panes = (first_late.transform("max") - first_late.transform("min")).to_numpy()
    rank = index - first_late.transform("min").to_numpy()
    step = np.where(late_panes > 0, spec.allowed_lateness_us // np.maximum(late_panes, 1), 0)
    return np.asarray(on_time + rank * step, dtype=np.int64)


def served_check(
    spec: FeatureSpec,
    rules: Served,
    reads: pd.DataFrame,
    offline: pd.DataFrame,
    stream: pd.DataFrame,
    *,
    clock: str,
    compute_causes: pd.DataFrame | None = None,
) -> ServedResult:
    """Classify every read (see the module docstring). Times are int64 microseconds on one clock.

    `reads`: keys, values and `READ_COLUMNS`. `offline`: keys, `window_end`, values (every window the reads may
    be due, plus earlier ones for `latest`). `stream`: keys, `window_end`, values, `emitted_at` (every pane).
    `compute_causes`: the emitted check's cells (keys, `window_end`, `cause`) to name compute causes."""
    frame = _expected(spec, rules, _numbered(reads), offline)
    frame = _served_values(spec, rules, frame)
    comparison = compare(_side(spec, frame, "expected"), _side(spec, frame, "served", panes=True),
                         dataclasses.replace(spec, keys=(_READ,)))
    cells = comparison.cells.set_index(_READ).reindex(frame[_READ])
    status = cells["status"].astype(object).to_numpy()
    nothing_due = frame["_expected_present"].to_numpy() == False
    nothing_served = frame["_served_present"].to_numpy() == False
    status = np.where(nothing_due & nothing_served, CellStatus.MATCH.value, status)
    frame["status"] = status
    frame["cause"] = _causes(spec, frame, stream, compute_causes)
    for value in spec.values:
        frame[f"{value}_served"] = cells[f"{value}_online"].to_numpy()
        frame[f"{value}_expected"] = cells[f"{value}_offline"].to_numpy()
    return _result(spec, rules, frame, clock)


def _numbered(reads: pd.DataFrame) -> pd.DataFrame:
    frame = reads.reset_index(drop=True).copy()
    frame[_READ] = np.arange(len(frame), dtype=np.int64)
    for column in ("read_at", "window_start", "window_end", "written_at"):
        frame[column] = pd.array(frame[column], dtype="Int64")
    frame["present"] = frame["present"].astype(bool)
    return frame


def _asof(left: pd.DataFrame, right: pd.DataFrame, keys: Sequence[str], on: str, by_left: str) -> pd.DataFrame:
    """For each row of `left`, the row of `right` with the same keys and the largest `on` <= `left[by_left]`."""
    if right.empty or left.empty:
        return left.assign(**{c: pd.NA for c in right.columns if c not in keys and c not in left.columns})
    ordered_left = left.assign(_on=left[by_left].astype("int64")).sort_values("_on")
    ordered_right = right.assign(_on=right[on].astype("int64")).sort_values("_on")
    joined = pd.merge_asof(ordered_left, ordered_right, on="_on", by=list(keys), direction="backward",
                           suffixes=("", "_r"))
    return joined.drop(columns="_on").sort_values(_READ).reset_index(drop=True)


def _expected(spec: FeatureSpec, rules: Served, frame: pd.DataFrame, offline: pd.DataFrame) -> pd.DataFrame:
    """Add `due_end`, the truth's latest window up to it (`_truth_end`, `v_truth`) and what was expected."""
    slide = spec.window.slide_us
    frame["due_end"] = (frame["read_at"].astype("int64") - rules.delay_us) // slide * slide
    truth = offline[[*spec.keys, "window_end", *spec.values]].rename(
        columns={"window_end": "_truth_end", **{v: f"{v}_truth" for v in spec.values}})
    truth["_truth_end"] = truth["_truth_end"].astype("int64")
    frame = _asof(frame, truth, spec.keys, "_truth_end", "due_end")
    has_due = frame["_truth_end"].notna() & (frame["_truth_end"] == frame["due_end"])
    latest = rules.empty == LATEST
    frame["_expected_present"] = has_due | (frame["_truth_end"].notna() if latest else True)
    frame["expected_end"] = frame["_truth_end"].where(has_due | latest, frame["due_end"])
    for value in spec.values:
        empty = pd.Series([None if latest else rules.empty] * len(frame), dtype=object)
        frame[f"{value}_want"] = frame[f"{value}_truth"].astype(object).where(has_due | latest, empty)
    # A store holding a window newer than due: the model got more than it needed; judge it by that window's truth.
    newer = frame["present"] & (frame["window_end"] > frame["expected_end"].fillna(-1))
    if newer.any():
        ahead = frame.loc[newer, [_READ, *spec.keys, "window_end"]].merge(
            truth, left_on=[*spec.keys, "window_end"], right_on=[*spec.keys, "_truth_end"], how="left")
        ahead = ahead.set_index(_READ)
        index = frame.loc[newer, _READ]
        frame.loc[newer, "expected_end"] = frame.loc[newer, "window_end"]
        for value in spec.values:
            frame.loc[newer, f"{value}_want"] = ahead.loc[index, f"{value}_truth"].astype(object).to_numpy()
        frame.loc[newer, "_expected_present"] = True
    return frame


def _served_values(spec: FeatureSpec, rules: Served, frame: pd.DataFrame) -> pd.DataFrame:
    """What the model got, under the reader's convention: a window older than due reads as the empty value."""
    present = frame["present"]
    valued = rules.empty != LATEST
    older = present & (frame["window_end"] < frame["due_end"])
    as_empty = older & valued
    frame["_served_present"] = present | valued  # with an empty value, an absent key reads as that value
    frame["served_end"] = frame["window_end"].where(present)
    for value in spec.values:
        got = frame[value].astype(object).where(present, rules.empty if valued else None)
        frame[f"{value}_got"] = got.where(~as_empty, rules.empty)
    # Freshness: the age of the served value; as fresh as the due window when nothing newer existed.
    age = frame["read_at"] - frame["window_end"]
    nothing_newer = frame["_truth_end"].isna() | (frame["_truth_end"] <= frame["window_end"])
    fresh_as_due = as_empty & nothing_newer
    frame["freshness_us"] = age.where(~fresh_as_due, frame["read_at"] - frame["due_end"]).where(present)
    return frame


def _side(spec: FeatureSpec, frame: pd.DataFrame, side: str, *, panes: bool = False) -> pd.DataFrame:
    """One side of the per-read comparison: a cell per read (`_read`), window_start 0."""
    keep = frame["_served_present" if side == "served" else "_expected_present"].astype(bool)
    rows = frame.loc[keep]
    suffix = "_got" if side == "served" else "_want"
    columns: dict[str, Any] = {_READ: rows[_READ].to_numpy(), "window_start": np.zeros(len(rows), dtype=np.int64)}
    for value in spec.values:
        columns[value] = _values(rows[f"{value}{suffix}"])
    if panes:
        columns["pane_index"] = np.zeros(len(rows), dtype=np.int64)
    return pd.DataFrame(columns)


def _values(column: pd.Series) -> pd.Series:
    """An object column of read values as the narrowest exact pandas type (ints stay ints)."""
    inferred = pd.api.types.infer_dtype(column, skipna=True)
    if inferred == "integer":
        return column.astype("Int64")
    if inferred in ("floating", "mixed-integer-float"):
        return column.astype("Float64")
    return column


def _causes(spec: FeatureSpec, frame: pd.DataFrame, stream: pd.DataFrame,
            compute_causes: pd.DataFrame | None) -> pd.Series:
    """The cause of each read that is not a match (empty for a match). The writer's typical latency is measured
    over every read; the ladder runs only for the reads that disagree (a healthy hour has a handful)."""
    causes = np.full(len(frame), "", dtype=object)
    off = np.flatnonzero(frame["status"].to_numpy() != CellStatus.MATCH.value)
    if len(off) == 0:
        return pd.Series(causes, index=frame.index, dtype=object)
    panes = stream[[*spec.keys, "window_end", *spec.values, "emitted_at"]].copy()
    panes["window_end"] = panes["window_end"].astype("int64")
    panes["emitted_at"] = panes["emitted_at"].astype("int64")
    stored = _stored_panes(spec, frame, panes)
    latency = (frame["written_at"].reset_index(drop=True) - stored["_stored_emit"]).clip(lower=0)
    typical = float(np.nanmedian(latency.to_numpy(dtype=float, na_value=np.nan))) if latency.notna().any() else 0.0
    latency = latency.fillna(typical)
    disagree = frame.iloc[off]
    first = panes.groupby([*spec.keys, "window_end"], dropna=False)["emitted_at"].min().rename("_first_emit")
    looked = disagree.merge(first.reset_index(), left_on=[*spec.keys, "expected_end"],
                            right_on=[*spec.keys, "window_end"], how="left", suffixes=("", "_s"))
    looked = looked.set_index(_READ).reindex(disagree[_READ])
    compute = _compute_lookup(spec, disagree, compute_causes)
    for j, (i, row) in enumerate(zip(off, disagree.itertuples(index=False), strict=True)):
        stored_emit = stored["_stored_emit"].iloc[i]
        cause = _one_cause(row, looked["_first_emit"].iloc[j], stored_emit, stored["_is_pane"].iloc[i],
                           float(latency.iloc[i]), compute[j])
        last = stored["_last_emit"].iloc[i]
        if cause == Cause.UNEXPLAINED.value and not _missing(last) and int(last) > int(stored_emit):
            # The store holds a pane of the window that a later pane (late data) replaced: before that pane
            # could reach the store, the stream's own lateness; after, the store did not take it.
            reached = int(last) + float(latency.iloc[i]) <= int(row.read_at)
            cause = StoreCause.MISSING_IN_STORE.value if reached else Cause.LATE_ARRIVAL.value
        causes[i] = cause
    return pd.Series(causes, index=frame.index, dtype=object)


def _one_cause(row: Any, emitted: object, stored_emit: object, is_pane: bool, latency: float, compute: str) -> str:
    """The ladder for one read (module docstring): the store's faults first, then the compute cause."""
    due_emitted = emitted is not pd.NA and not _missing(emitted)
    read_at = int(row.read_at)
    if not row.present:
        if due_emitted and int(emitted) + latency > read_at:  # type: ignore[call-overload]
            return StoreCause.STALE.value
        return StoreCause.MISSING_IN_STORE.value if due_emitted and int(emitted) <= read_at else compute  # type: ignore[call-overload]
    served_end = int(row.window_end)
    expected_end = None if _missing(row.expected_end) else int(row.expected_end)
    if expected_end is not None and served_end < expected_end:
        if not due_emitted or int(emitted) > read_at:  # type: ignore[call-overload]
            return StoreCause.STALE.value if due_emitted else compute  # the stream had not emitted it yet
        if int(emitted) + latency > read_at:  # type: ignore[call-overload]
            return StoreCause.STALE.value  # the writer's latency: the newer write was still to come
        if not _missing(stored_emit) and int(stored_emit) > int(emitted):  # type: ignore[call-overload]
            return StoreCause.OUT_OF_ORDER_WRITE.value
        return StoreCause.MISSING_IN_STORE.value
    if not is_pane:
        return StoreCause.STORE_VALUE_MISMATCH.value
    return compute


def _stored_panes(spec: FeatureSpec, frame: pd.DataFrame, panes: pd.DataFrame) -> pd.DataFrame:
    """Per read, whether the stored values are a pane the stream emitted for the stored window (`_is_pane`),
    when the latest such pane was emitted (`_stored_emit`), and when the window's last pane was (`_last_emit`)."""
    stored = frame.loc[frame["present"], [_READ, *spec.keys, "window_end", "written_at", *spec.values]]
    joined = stored.merge(panes, on=[*spec.keys, "window_end"], how="inner", suffixes=("", "_pane"))
    same = np.ones(len(joined), dtype=bool)
    for value in spec.values:
        tolerance = spec.tolerance[value]
        same &= _same(joined[value], joined[f"{value}_pane"], tolerance.abs, tolerance.rel)
    joined = joined.loc[same]
    emit = joined.groupby(_READ)["emitted_at"].max()
    out = pd.DataFrame({_READ: frame[_READ]})
    out["_stored_emit"] = pd.array(emit.reindex(frame[_READ]).to_numpy(), dtype="Int64")
    out["_is_pane"] = out["_stored_emit"].notna().to_numpy()
    last = panes.groupby([*spec.keys, "window_end"], dropna=False)["emitted_at"].max().rename("_last_emit")
    held = frame[[_READ, *spec.keys, "window_end"]].merge(last.reset_index(), on=[*spec.keys, "window_end"], how="left")
    out["_last_emit"] = pd.array(held.set_index(_READ)["_last_emit"].reindex(frame[_READ]).to_numpy(), dtype="Int64")
    return out.reset_index(drop=True)


def _same(stored: pd.Series, pane: pd.Series, abs_: float, rel: float) -> np.ndarray:
    """Stored value == pane value, within the value's tolerance; null equals null. Numeric columns at once
    (integers exactly at zero tolerance), anything else value by value."""
    if _numeric(stored) and _numeric(pane):
        missing_stored, missing_pane = stored.isna().to_numpy(), pane.isna().to_numpy()
        if abs_ == 0 and rel == 0 and _integral(stored) and _integral(pane):
            equal = stored.fillna(0).to_numpy(dtype="int64") == pane.fillna(0).to_numpy(dtype="int64")
        else:
            a = stored.to_numpy(dtype=float, na_value=np.nan)
            b = pane.to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                equal = (a == b) | (np.abs(a - b) <= abs_ + rel * np.abs(b))
        same: np.ndarray = np.where(missing_stored | missing_pane, missing_stored & missing_pane, equal)
        return same
    out = np.zeros(len(stored), dtype=bool)
    for i, (a, b) in enumerate(zip(stored.tolist(), pane.tolist(), strict=True)):
        if _missing(a) or _missing(b):
            out[i] = _missing(a) and _missing(b)
        elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            out[i] = a == b if abs_ == 0 and rel == 0 else abs(a - b) <= abs_ + rel * abs(b)
        else:
            out[i] = a == b
    return out


def _numeric(column: pd.Series) -> bool:
    """Integers (signed, so int64 holds them exactly) and floats; bools, unsigned and objects go value by value."""
    return str(column.dtype.kind) in ("i", "f")


def _integral(column: pd.Series) -> bool:
    return str(column.dtype.kind) == "i"


def _compute_lookup(spec: FeatureSpec, frame: pd.DataFrame, compute_causes: pd.DataFrame | None) -> list[str]:
    """The emitted check's cause of each read's expected cell; `unexplained` where it has none."""
    if compute_causes is None or compute_causes.empty:
        return [Cause.UNEXPLAINED.value] * len(frame)
    known = compute_causes[[*spec.keys, "window_end", "cause"]].copy()
    known["window_end"] = known["window_end"].astype("int64")
    known = known.drop_duplicates([*spec.keys, "window_end"])
    joined = frame[[_READ, *spec.keys, "expected_end"]].merge(
        known, left_on=[*spec.keys, "expected_end"], right_on=[*spec.keys, "window_end"], how="left")
    causes = joined.set_index(_READ)["cause"].reindex(frame[_READ]).astype(object)
    return [Cause.UNEXPLAINED.value if _missing(c) or c == "" else str(c) for c in causes.tolist()]


def _result(spec: FeatureSpec, rules: Served, frame: pd.DataFrame, clock: str) -> ServedResult:
    matched = int((frame["status"] == CellStatus.MATCH.value).sum())
    compared = len(frame)
    ages = frame["freshness_us"].dropna().to_numpy(dtype=float)
    p50, p95, p99 = (float(np.percentile(ages, q)) if len(ages) else None for q in (50, 95, 99))
    within = float((ages <= rules.freshness_us).mean()) if len(ages) else None
    names = [c.value for c in StoreCause] + [c.value for c in Cause]
    causes = {name: int((frame["cause"] == name).sum()) for name in names}
    frame["stale_by_us"] = (frame["due_end"] - frame["served_end"]).where(frame["cause"] == StoreCause.STALE.value)
    keep = [*spec.keys, "read_at", "due_end", "expected_end", "served_end", "written_at", "freshness_us", "status",
            "cause", "stale_by_us", *(f"{v}_{s}" for v in spec.values for s in ("served", "expected"))]
    return ServedResult(spec.name, clock, frame[keep].reset_index(drop=True), compared, matched,
                        matched / compared if compared else 1.0, p50, p95, p99, within, rules.freshness_us, causes)


def worst_reads(result: ServedResult, limit: int = 20) -> list[dict[str, Any]]:
    """The divergent reads, store causes first, each with its keys, times and both values (for the report)."""
    divergent = result.reads.loc[result.reads["status"] != CellStatus.MATCH.value]
    store = {c.value for c in StoreCause}
    order = divergent.assign(_store=divergent["cause"].isin(store)).sort_values(["_store", "read_at"],
                                                                               ascending=[False, True])
    rows = []
    for row in order.head(limit).to_dict("records"):
        rows.append({k: (None if _missing(v) else v) for k, v in row.items() if k != "_store"}
                    | {"read_at_iso": iso(int(row["read_at"]))})
    return rows


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _seconds(us: float | None) -> float | None:
    return None if us is None else us / 1e6


def cause_counts(results: Mapping[str, ServedResult]) -> dict[str, dict[str, int]]:
    """Per feature, the causes with at least one read (for the demo's closing table)."""
    return {name: {c: n for c, n in r.causes.items() if n} for name, r in results.items()}


def served_block(result: ServedResult, keys: tuple[str, ...], emitted_agreement: float | None,
                 threshold: float | None = None) -> dict[str, Any]:
    """The JSON-safe block a `CheckResult` carries: figures, a histogram of ages and the worst reads; with the
    check's `threshold`, whether served agreement reaches it (`passed`), on the emitted check's bar."""
    ages = result.reads["freshness_us"].dropna().to_numpy(dtype=float) / 1e6
    top = max(float(ages.max()) if len(ages) else 0.0, result.freshness_sla_us / 1e6) * 1.05 or 1.0
    counts, edges = np.histogram(ages, bins=_BINS, range=(0.0, top))
    low, high = wilson_interval(result.matched, result.compared)
    store = sum(result.causes.get(c.value, 0) for c in StoreCause)
    worst = [{"keys": {k: _plain(row.get(k)) for k in keys}, "read_at": row["read_at_iso"],
              "hour": iso(int(row["read_at"]) // HOUR_US * HOUR_US), "next_hour": iso((int(row["read_at"]) // HOUR_US + 1) * HOUR_US),
              "cause": row["cause"], "served_window_end": _time(row.get("served_end")),
              "expected_window_end": _time(row.get("expected_end")),
              "freshness_s": None if row.get("freshness_us") is None else float(row["freshness_us"]) / 1e6}
             for row in worst_reads(result, WORST_READS)]
    return {
        **result.summary(), "ci_low": low, "ci_high": high, "emitted_agreement": emitted_agreement,
        "threshold": threshold, "passed": None if threshold is None else result.agreement >= threshold,
        "store_agreement": (result.compared - store) / result.compared if result.compared else 1.0,
        "histogram": {"edges_s": [float(e) for e in edges], "counts": [int(c) for c in counts]}, "worst_reads": worst,
    }


def _time(value: object) -> str | None:
    return None if value is None else iso(int(value))  # type: ignore[call-overload]


def _plain(value: object) -> object:
    return value.item() if hasattr(value, "item") else value
