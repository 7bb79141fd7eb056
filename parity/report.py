"""Renderings of a `CheckResult`: the JSON report, the Markdown summary for on-call, and the CLI's text lines."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from parity.result import Cause, CheckFailure, CheckResult, Verdict

SUMMARY_FIELDS = (
    "feature", "start", "end", "sample_rate", "compared", "matched", "value_mismatch", "missing_online",
    "missing_offline", "duplicate_online", "agreement", "threshold", "passed", "causes", "agreement_net_of_explained",
    "verdict", "ci_low", "ci_high", "cells_needed", "run_id", "unsettled",
)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def to_json(result: CheckResult) -> dict[str, Any]:
    """The full result, JSON-safe (NaN -> null, infinities as strings)."""
    return _json_safe(result.to_json())  # type: ignore[no-any-return]


def summary_json(result: CheckResult) -> str:
    """One line: what `parity check --format json` prints per feature."""
    full = to_json(result)
    return json.dumps({field: full[field] for field in SUMMARY_FIELDS}, sort_keys=False)


def failure_json(failure: CheckFailure) -> str:
    return json.dumps({"feature": failure.feature, "start": failure.start, "end": failure.end,
                       "verdict": "error", "passed": False, "error": failure.error})


def write_reports(result: CheckResult, reports: Path) -> tuple[Path, Path]:
    """`reports/<feature>/<run-id>.json` (everything) and `.md` (the one-minute read). Returns both paths."""
    folder = reports / result.feature
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{result.run_id}.json"
    md_path = folder / f"{result.run_id}.md"
    _write_atomically(json_path, json.dumps(to_json(result), indent=2) + "\n")
    _write_atomically(md_path, markdown(result))
    return json_path, md_path


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(text)
    partial.replace(path)


def _pct(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value * 100:.3f}%"


VERDICT_WORDS = {Verdict.PASSED: "PASSED", Verdict.BREACHED: "BREACHED", Verdict.INCONCLUSIVE: "INCONCLUSIVE"}


def markdown(result: CheckResult) -> str:
    r = result
    lines = [
        f"# {r.feature}: {VERDICT_WORDS[r.verdict]}",
        "",
        f"Windows starting {r.start} to {r.end}, sample rate {r.sample_rate:g}, run `{r.run_id}`.",
        "",
        (
            f"- Agreement: **{_pct(r.agreement)}** (threshold {_pct(r.threshold)}; 95% Wilson interval "
            f"{_pct(r.ci_low)} to {_pct(r.ci_high)}; {r.cells_needed} cells needed to show the threshold)"
        ),
        f"- Agreement net of explained causes: {_pct(r.agreement_net_of_explained)}",
        "- Agreement of the ON_TIME pane (what a model read at window close): "
        + ("no ON_TIME pane" if r.agreement_on_time_pane is None else _pct(r.agreement_on_time_pane)),
        f"- Cells compared: {r.compared}, matched: {r.matched}",
        "",
        "| status | cells |",
        "|---|---|",
        f"| value_mismatch | {r.value_mismatch} |",
        f"| missing_online | {r.missing_online} |",
        f"| missing_offline | {r.missing_offline} |",
        f"| duplicate_online | {r.duplicate_online} |",
        "",
        "| cause | cells |",
        "|---|---|",
        *(f"| {cause.value} | {count} |" for cause, count in r.causes.items()),
        "",
        *(f"- {d.cause.value}: {d.cells} cells: {d.detail}" for d in r.diagnoses),
        *([""] if r.diagnoses else []),
    ]
    if r.unsettled:
        lines += [f"Note: {r.unsettled}.", ""]
    if r.failed_expectations:
        lines += ["## Failed data expectations (result is inconclusive)", ""]
        for failed in r.failed_expectations:
            lines.append(f"- {json.dumps(_json_safe(failed), sort_keys=True)}")
        lines.append("")
    if r.worst_cells:
        lines += ["## Worst cells", "", "| keys | window_start | status | cause | online | offline |", "|---|---|---|---|---|---|"]
        for cell in r.worst_cells:
            keys = ", ".join(f"{k}={v}" for k, v in cell.keys.items())
            lines.append(
                f"| {keys} | {cell.window_start} | {cell.status.value} | {cell.cause.value} | "
                f"{json.dumps(_json_safe(cell.online))} | {json.dumps(_json_safe(cell.offline))} |"
            )
        lines.append("")
    lines += ["## Next step", "", next_step(r), ""]
    return "\n".join(lines)


def next_step(result: CheckResult) -> str:
    """What the on-call engineer runs next."""
    r = result
    window = f"--start {r.start} --end {r.end}"
    if r.verdict is Verdict.INCONCLUSIVE:
        return (f"The inputs failed their data expectations (above); fix the event log or the online output, then "
                f"rerun `parity check {r.feature} {window}`.")
    unexplained = sum(count for cause, count in r.causes.items() if not cause.explained)
    if unexplained:
        return (f"{unexplained} cells differ for no late-data reason: a logic difference between "
                f"`offline_queries/{r.feature}.sql` and the realtime job. Compare the worst cells above, then replay "
                f"with `parity stream {r.feature} {window}` and rerun the check.")
    if not r.passed:
        return ("All divergence is explained by late arrivals: consider a larger `allowed_lateness` in "
                f"`realtime_jobs/{r.feature}.yaml`, then replay with `parity stream {r.feature} {window}`.")
    return "Nothing to do."


def text_table(results: list[CheckResult | CheckFailure]) -> str:
    """The CLI's table: one line per feature with agreement, causes and verdict."""
    header = f"{'feature':<22} {'verdict':<13} {'agreement':>10} {'net':>10} {'compared':>9} {'late':>6} {'unexpl.':>8}"
    lines = [header, "-" * len(header)]
    for item in results:
        if isinstance(item, CheckFailure):
            lines.append(f"{item.feature:<22} {'ERROR':<13} {item.error}")
            continue
        lines.append(
            f"{item.feature:<22} {VERDICT_WORDS[item.verdict]:<13} {_pct(item.agreement):>10} "
            f"{_pct(item.agreement_net_of_explained):>10} {item.compared:>9} "
            f"{item.causes.get(Cause.LATE_ARRIVAL, 0):>6} {item.causes.get(Cause.UNEXPLAINED, 0):>8}"
        )
    return "\n".join(lines)
