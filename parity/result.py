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
    """Why a cell that is not a match differs."""

    LATE_ARRIVAL = "late_arrival"
    UNEXPLAINED = "unexplained"


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
class WhatIf:
    """The agreement a correct stream would reach with `allowed_lateness` (a duration such as `5m`)."""

    allowed_lateness: str
    agreement: float


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
    causes: dict[str, int]
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
