"""Golden report files: the JSON, Markdown and HTML of five fixed results, compared exactly.

The results are hand-built (`report_results.py`, no Spark): a clean pass, a late-arrival breach, a job-logic bug
(unexplained cells), a key mismatch and a hostile key. Before comparing, `normalise` replaces what legitimately
changes between runs and machines (the parity version and absolute paths); everything else, layout included,
must match byte for byte. After an intended change of a report, regenerate and review the diff:

    PARITY_REGEN_GOLDEN=1 .venv/bin/python -m pytest tests/report/test_report_golden.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from report_results import HOSTILE, result

from parity.report import markdown, render_html, to_json
from parity.result import Cause, CellDiff, CellStatus, CheckResult, Diagnosis, Verdict, WhatIf, WindowCounts

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("PARITY_REGEN_GOLDEN") == "1"
CELLS = 60


def _windows(divergent_minute: int | None, cause: Cause) -> tuple[WindowCounts, ...]:
    return tuple(
        WindowCounts(f"2026-11-26T08:{minute:02d}:00Z", 1, int(minute != divergent_minute),
                     {cause.value: int(minute == divergent_minute)})
        for minute in range(60)
    )


def _divergent(base: CheckResult, cause: Cause, cells: int, verdict: Verdict, **changes: object) -> CheckResult:
    """`base` with `cells` divergent cells of `cause`, keyed by `base`'s first worst-cell key."""
    matched = base.compared - cells
    worst = tuple(
        CellDiff({"geohash6": f"dr5ru{i}"}, f"2026-11-26T08:0{i}:00Z", CellStatus.VALUE_MISMATCH, cause,
                 {"requests": 3 + i}, {"requests": 2})
        for i in range(cells)
    )
    net = (matched + (cells if cause.explained else 0)) / base.compared
    return dataclasses.replace(
        base, matched=matched, value_mismatch=cells, agreement=matched / base.compared,
        agreement_net_of_explained=net, causes={c.value: (cells if c is cause else 0) for c in Cause},
        verdict=verdict, passed=verdict is Verdict.PASSED, worst_cells=worst, failed_expectations=(),
        description="Ride requests per geohash6 cell per minute.", windows=_windows(7, cause), **changes,
    )


def clean() -> CheckResult:
    base = result(CELLS)
    return dataclasses.replace(
        base, matched=base.compared, value_mismatch=0, agreement=1.0, agreement_net_of_explained=1.0,
        causes={c.value: 0 for c in Cause}, verdict=Verdict.PASSED, passed=True, worst_cells=(),
        failed_expectations=(), description="Ride requests per geohash6 cell per minute.",
        windows=_windows(None, Cause.UNEXPLAINED), ci_low=0.94, ci_high=1.0,
    )


def late_arrival() -> CheckResult:
    return _divergent(result(CELLS), Cause.LATE_ARRIVAL, 3, Verdict.BREACHED, lateness_needed="5m",
                      lateness_what_if=(WhatIf("0s", 0.95), WhatIf("2m", 0.983), WhatIf("5m", 1.0)),
                      agreement_on_time_pane=0.93)


def job_logic() -> CheckResult:
    return _divergent(result(CELLS), Cause.UNEXPLAINED, 2, Verdict.BREACHED)


def key_mismatch() -> CheckResult:
    return _divergent(result(CELLS), Cause.KEY_MISMATCH, 4, Verdict.BREACHED, diagnoses=(
        Diagnosis("key_mismatch", 4, "online keys are offline keys upper-cased: a key normalisation in the job"),))


def hostile_key() -> CheckResult:
    base = result(CELLS)
    assert base.worst_cells and base.worst_cells[0].keys["geohash6"] == HOSTILE
    return base


CASES: dict[str, Callable[[], CheckResult]] = {
    "clean": clean, "late_arrival": late_arrival, "job_logic": job_logic, "key_mismatch": key_mismatch,
    "hostile_key": hostile_key,
}
RENDERINGS: dict[str, Callable[[CheckResult], str]] = {
    "json": lambda r: json.dumps(to_json(r), indent=2, sort_keys=True) + "\n",
    "md": lambda r: markdown(r),
    "html": lambda r: render_html(r),
}


def normalise(text: str) -> str:
    """What may differ between runs and machines: the package version and the repository's absolute path."""
    text = re.sub(r"parity[ /]v?\d+\.\d+\.\d+", "parity <version>", text)
    return text.replace(str(Path(__file__).resolve().parents[2]), "<project>")


@pytest.mark.parametrize("rendering", sorted(RENDERINGS))
@pytest.mark.parametrize("case", sorted(CASES))
def test_report_matches_its_golden_file(case: str, rendering: str) -> None:
    rendered = normalise(RENDERINGS[rendering](CASES[case]()))
    golden = GOLDEN / f"{case}.{rendering}"
    if REGEN:
        golden.write_text(rendered)
    assert golden.is_file(), f"{golden.name} is missing; run with PARITY_REGEN_GOLDEN=1 and review it"
    expected = golden.read_text()
    assert rendered == expected, f"{golden.name} changed; if intended, run with PARITY_REGEN_GOLDEN=1 and review the diff"


def test_a_changed_layout_fails_the_golden_comparison() -> None:
    """The comparison is exact: a swapped pair of sections (a layout change no substring test sees) differs."""
    page = normalise(render_html(job_logic()))
    first, second = page.index("<section"), page.index("<section", page.index("<section") + 1)
    third = page.index("<section", second + 1)
    swapped = page[:first] + page[second:third] + page[first:second] + page[third:]
    assert sorted(swapped) == sorted(page) and swapped != (GOLDEN / "job_logic.html").read_text()
