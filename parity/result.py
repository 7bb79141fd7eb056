"""The values a parity check produces. Every output (text, Markdown, HTML, JSON, alert payloads) is rendered from these."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any


class CellStatus(enum.StrEnum):
    """Exactly one per sampled cell."""

    MATCH = "match"
    VALUE_MISMATCH = "value_mismatch"
    MISSING_ONLINE = "missing_online"
    MISSING_OFFLINE = "missing_offline"
    DUPLICATE_ONLINE = "duplicate_online"


class Cause(enum.StrEnum):
    """Why a cell that is not a match differs, in the order causes are tried (`parity.diagnose`).

    `late_arrival` is settled first (`parity.attribute`), the diagnoses next, and `unexplained` is what is left.
    """

    LATE_ARRIVAL = "late_arrival"
    DUPLICATE_OUTPUT = "duplicate_output"
    NULL_SEMANTICS = "null_semantics"
    WINDOW_SHIFT = "window_shift"
    KEY_MISMATCH = "key_mismatch"
    UNEXPLAINED = "unexplained"

    @property
    def explained(self) -> bool:
        """Whether a cell of this cause counts as agreeing in `agreement_net_of_explained`. Only late data does:
        it is not the code's fault. A diagnosed cause is a defect with a name and counts against the bar."""
        return self is Cause.LATE_ARRIVAL


class Verdict(enum.StrEnum):
    PASSED = "passed"
    BREACHED = "breached"
    INCONCLUSIVE = "inconclusive"  # input data failed its quality expectations


@dataclass(frozen=True, slots=True)
class CellDiff:
    """One divergent cell, as shown in reports: keys, window, both values per value column, status and cause."""

    keys: dict[str, Any]
    window_start: str
    status: CellStatus
    cause: Cause
    online: dict[str, Any]
    offline: dict[str, Any]
    detail: str = ""  # what a diagnosis found in this cell (time-zone shift, key mismatch, ...), when one did


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """One window of the checked range: cells compared, matched, and the divergent ones by cause (`Cause` values)."""

    window_start: str
    compared: int
    matched: int
    causes: dict[str, int]


@dataclass(frozen=True, slots=True)
class GeohashCounts:
    """Cells per value of a geohash key over the whole range, for the report's drill-down. Columnar (one tuple per
    measure, aligned with `keys`) so a check of 10,000 cells stays a few hundred kilobytes of JSON."""

    column: str
    keys: tuple[str, ...]
    cells: tuple[int, ...]
    matched: tuple[int, ...]
    unexplained: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WhatIf:
    """The agreement a correct stream would reach with `allowed_lateness` (a duration such as `5m`)."""

    allowed_lateness: str
    agreement: float


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One named cause found among the divergent cells: how many cells it takes and a one-line detail
    (`online windows = offline windows - 8h`)."""

    cause: Cause
    cells: int
    detail: str


@dataclass(frozen=True, slots=True)
class CheckResult:
    feature: str
    run_id: str
    start: str  # ISO-8601 UTC
    end: str
    sample_rate: float
    compared: int
    matched: int
    value_mismatch: int
    missing_online: int
    missing_offline: int
    duplicate_online: int
    agreement: float
    threshold: float
    passed: bool
    causes: dict[Cause, int]  # every cause, zeros included; JSON keys are the cause names
    agreement_net_of_explained: float
    verdict: Verdict
    # 95% confidence interval of `agreement` (Wilson score) and the compared cells needed to show `threshold`.
    ci_low: float = 0.0
    ci_high: float = 1.0
    cells_needed: int = 0
    worst_cells: tuple[CellDiff, ...] = ()
    failed_expectations: tuple[dict[str, Any], ...] = ()
    unsettled: str | None = None  # set when part of the requested range was not yet final
    # How in-time values were found: `one_pass` (the recompute's own pass) or `per_phase` (a second query).
    attribution_method: str = "one_pass"
    # Agreement per allowed lateness, ascending, and the smallest that reaches `threshold` (one_pass only).
    lateness_what_if: tuple[WhatIf, ...] = ()
    lateness_needed: str | None = None
    # What a model reading at window close received: each cell's ON_TIME pane against offline; None when no
    # online row is an ON_TIME pane.
    agreement_on_time_pane: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    description: str = ""  # the spec's
    slide_s: int = 0  # the window's slide: `--start W --end W + slide` checks the one window starting at W
    windows: tuple[WindowCounts, ...] = ()  # every window of the range with a compared cell, in time order
    geohash_cells: GeohashCounts | None = None  # set when the one key is `geohash(lat, lon, p)` of each event
    diagnoses: tuple[Diagnosis, ...] = ()
    # `parity check --served`: what models read from the online store (`parity.report.served.served_block`:
    # served agreement and its interval, freshness p50/p95/p99 and share within the SLA, causes per read).
    served: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        """The inverse of `to_json` (after `report.to_json`'s JSON-safe pass: non-finite floats come back as
        None or "inf"/"-inf" strings). Fields a report written by an older parity lacks take their defaults."""
        fields: dict[str, Any] = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("agreement", "agreement_net_of_explained", "ci_low", "ci_high"):
            if name in fields:
                fields[name] = float("nan") if fields[name] is None else float(fields[name])
        geohash = data.get("geohash_cells")
        fields.update(
            verdict=Verdict(data["verdict"]),
            worst_cells=tuple(
                CellDiff(**{**cell, "status": CellStatus(cell["status"]), "cause": Cause(cell["cause"])})
                for cell in data.get("worst_cells", ())
            ),
            failed_expectations=tuple(data.get("failed_expectations", ())),
            windows=tuple(WindowCounts(**window) for window in data.get("windows", ())),
            geohash_cells=None if not geohash else GeohashCounts(
                geohash["column"], tuple(geohash["keys"]), tuple(geohash["cells"]), tuple(geohash["matched"]),
                tuple(geohash["unexplained"]),
            ),
            causes={Cause(cause): count for cause, count in data.get("causes", {}).items()},
            diagnoses=tuple(Diagnosis(Cause(d["cause"]), d["cells"], d["detail"]) for d in data.get("diagnoses", ())),
            lateness_what_if=tuple(WhatIf(**point) for point in data.get("lateness_what_if", ())),
        )
        return cls(**fields)


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """A check that could not run (Spark error, missing data, failed job): alerts treat it as `failed`, never as recovery."""

    feature: str
    run_id: str
    start: str
    end: str
    error: str
    exit_code: int
