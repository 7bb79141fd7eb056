"""The machine-readable and terminal renderings of a check: the JSON report, the one-line JSON summary of
`parity check --format json`, and the CLI's table."""

from __future__ import annotations

import json
import math
from typing import Any

from parity.report.words import VERDICT_WORDS, pct
from parity.result import Cause, CheckFailure, CheckResult

SUMMARY_FIELDS = (
    "feature", "start", "end", "sample_rate", "compared", "matched", "value_mismatch", "missing_online",
    "missing_offline", "duplicate_online", "agreement", "threshold", "passed", "causes", "agreement_net_of_explained",
    "verdict", "ci_low", "ci_high", "cells_needed", "run_id", "unsettled", "attribution_method", "lateness_what_if",
    "lateness_needed", "diagnoses", "agreement_on_time_pane", "served",
)


def json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def to_json(result: CheckResult) -> dict[str, Any]:
    """The full result, JSON-safe (NaN -> null, infinities as strings)."""
    return json_safe(result.to_json())  # type: ignore[no-any-return]


def summary_json(result: CheckResult) -> str:
    """One line: what `parity check --format json` prints per feature."""
    full = to_json(result)
    return json.dumps({field: full[field] for field in SUMMARY_FIELDS}, sort_keys=False)


def failure_json(failure: CheckFailure) -> str:
    return json.dumps({"feature": failure.feature, "start": failure.start, "end": failure.end,
                       "verdict": "error", "passed": False, "error": failure.error})


def text_table(results: list[CheckResult | CheckFailure]) -> str:
    """The CLI's table: one line per feature with agreement, causes and verdict."""
    header = f"{'feature':<22} {'verdict':<13} {'agreement':>10} {'net':>10} {'compared':>9} {'late':>6} {'defects':>8}"
    lines = [header, "-" * len(header)]
    for item in results:
        if isinstance(item, CheckFailure):
            lines.append(f"{item.feature:<22} {'ERROR':<13} {item.error}")
            continue
        lines.append(
            f"{item.feature:<22} {VERDICT_WORDS[item.verdict]:<13} {pct(item.agreement):>10} "
            f"{pct(item.agreement_net_of_explained):>10} {item.compared:>9} "
            f"{item.causes.get(Cause.LATE_ARRIVAL, 0):>6} {sum(n for c, n in item.causes.items() if not Cause(c).explained):>8}"
        )
        if item.served is not None:
            lines.append(served_line(item.served))
    return "\n".join(lines)


def served_line(block: dict[str, Any]) -> str:
    """The served check under a feature's row: agreement and its interval, freshness, causes per read."""
    def sec(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f}s"

    causes = ", ".join(f"{cause} {count}" for cause, count in block["causes"].items() if count) or "none"
    verdict = {True: "passed", False: "BREACHED", None: ""}[block.get("passed")]
    return (f"  served{' ' + verdict if verdict else ''}: {pct(block['served_agreement'])} of {block['reads']} reads agree (95% {pct(block['ci_low'])}"
            f" .. {pct(block['ci_high'])}); freshness p50 {sec(block['freshness_p50_s'])} p95 "
            f"{sec(block['freshness_p95_s'])} p99 {sec(block['freshness_p99_s'])}, "
            f"{'n/a' if block['within_sla'] is None else pct(block['within_sla'])} within the "
            f"{block['freshness_sla_s']:g}s SLA ({block['clock']} clock); causes: {causes}")
