"""The values a parity check produces. Every output (text, Markdown, JSON, alert payloads) is rendered from these."""

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
    diagnoses: tuple[Diagnosis, ...] = ()
    # What a model reading at window close received: each cell's ON_TIME pane against offline; None when no
    # online row is an ON_TIME pane.
    agreement_on_time_pane: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """A check that could not run (Spark error, missing data, failed job): alerts treat it as `failed`, never as recovery."""

    feature: str
    run_id: str
    start: str
    end: str
    error: str
    exit_code: int
