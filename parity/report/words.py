"""The sentences every rendering shares: percentages, verdict words, failed expectations in words, the next step and
the command that reproduces a cell. Plain text: each rendering escapes them for its own format."""

from __future__ import annotations

import datetime as dt
import math
import shlex
from pathlib import Path
from typing import Any

from parity.result import Cause, CheckResult, Verdict

VERDICT_WORDS = {Verdict.PASSED: "PASSED", Verdict.BREACHED: "BREACHED", Verdict.INCONCLUSIVE: "INCONCLUSIVE"}
_SUITE_WORDS = {"events": "event log", "online": "realtime output"}


def pct(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value * 100:.3f}%"


def value_text(value: Any) -> str:
    """A cell value as a reader sees it: null, NaN and the infinities by name, strings as they are."""
    if value is None:
        return "null"
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf else repr(value))
    return str(value)


def expectation_words(failed: dict[str, Any]) -> str:
    """One failed data expectation as a sentence: which suite, which column, what was expected, how many rows
    failed and a few example values (the `observed` line the quality stage wrote)."""
    suite = str(failed.get("suite", ""))
    where = f"In the {_SUITE_WORDS.get(suite, suite)} ({suite} suite)"
    column = failed.get("column")
    if column:
        where += f", column {column}"
    expected = failed.get("description") or str(failed.get("expectation", "")).removeprefix("expect_").replace("_", " ")
    found = failed.get("observed") or "the expectation was not met"
    count = failed.get("unexpected_count")
    if count is not None and str(count) not in found:
        found = f"{count} rows failed; {found}"
    return f"{where}: expected {expected}; found {found} (Great Expectations {failed.get('expectation', '?')})."


def next_step(result: CheckResult) -> str:
    """What the on-call engineer runs next."""
    r = result
    window = f"--start {r.start} --end {r.end}"
    if r.verdict is Verdict.INCONCLUSIVE:
        return (f"The inputs failed their data expectations (above); fix the event log or the online output, then "
                f"rerun `parity check {r.feature} {window}`.")
    defects = sum(count for cause, count in r.causes.items() if not Cause(cause).explained)
    if defects:
        named = "; ".join(f"{d.cause}: {d.detail}" for d in r.diagnoses)
        return (f"{defects} cells differ for no late-data reason: a logic difference between "
                f"`offline_queries/{r.feature}.sql` and the realtime job" + (f" ({named})" if named else "") +
                f". Compare the worst cells above, then replay with `parity stream {r.feature} {window}` and rerun "
                "the check.")
    if not r.passed:
        needed = (f"an allowed lateness of {r.lateness_needed} would reach the bar" if r.lateness_needed
                  else "no lateness on the what-if ladder reaches the bar")
        return (f"All divergence is explained by late arrivals; {needed}. Consider `allowed_lateness` in "
                f"`realtime_jobs/{r.feature}.yaml`, then replay with `parity stream {r.feature} {window}`.")
    return "Nothing to do."


def reproduce_command(result: CheckResult, window_start: str, project: Path | None) -> str:
    """The `parity check` of the one window starting at `window_start` (the range covers that window alone),
    with `--project` when the project is not the current directory."""
    start = dt.datetime.strptime(window_start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    end = start + dt.timedelta(seconds=max(result.slide_s, 1))
    words = ["parity", "check", result.feature, "--start", window_start, "--end", f"{end:%Y-%m-%dT%H:%M:%SZ}"]
    if result.sample_rate < 1:
        words += ["--sample-rate", f"{result.sample_rate:g}"]
    if project is not None and project.resolve() != Path.cwd().resolve():
        words += ["--project", str(project)]
    return shlex.join(words)
