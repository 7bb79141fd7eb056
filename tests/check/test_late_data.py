"""Correct jobs over `late_rides()`: every divergence is put down to late arrival, and keys that look like SQL
(quotes, `--`, backslashes: `CITIES`) go through sampling, the Spark rewrite of the late-arrival recompute,
the comparison and the reports as plain data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from check_project import CELLS, CITIES, LATE_CELLS, ONLY_LATE_PLACE, Project, cells, geohash6, is_request, iso

from parity.report import markdown, write_reports
from parity.result import Cause, CellStatus, Verdict

KEYS = {"ride_requests": ("geohash6", CELLS), "city_requests": ("city", CITIES)}


@pytest.mark.parametrize("feature", sorted(KEYS))
def test_late_arrivals_explain_every_divergent_cell(late_project: Project, feature: str) -> None:
    result = late_project.result(feature)
    every_cell = cells(late_project.rows, is_request, geohash6)
    assert result.compared == len(every_cell) == 81  # 8 places x 10 minutes, and the ninth place's late request
    assert result.causes == {**dict.fromkeys(Cause, 0), Cause.LATE_ARRIVAL: len(LATE_CELLS)}
    assert result.diagnoses == ()  # late arrival is tried first and leaves nothing to diagnose
    assert result.matched == result.compared - len(LATE_CELLS)
    assert result.agreement == pytest.approx((81 - 4) / 81)
    assert result.agreement_net_of_explained == 1.0
    assert result.verdict is Verdict.BREACHED  # the bar is on raw agreement; net of late arrival it is 100%
    assert result.failed_expectations == ()


@pytest.mark.parametrize("feature", sorted(KEYS))
def test_the_late_cells_are_the_planted_ones(late_project: Project, feature: str) -> None:
    key, names = KEYS[feature]
    result = late_project.result(feature)
    reported = {(cell.keys[key], cell.window_start): cell for cell in result.worst_cells}
    assert set(reported) == {(names[place], iso(start)) for place, start in LATE_CELLS}
    assert all(cell.cause is Cause.LATE_ARRIVAL for cell in reported.values())
    only_late = reported[(names[ONLY_LATE_PLACE], iso(LATE_CELLS[-1][1]))]
    assert only_late.status is CellStatus.MISSING_ONLINE and only_late.offline == {"requests": 1}
    for place, start in LATE_CELLS[:-1]:
        cell = reported[(names[place], iso(start))]
        assert cell.status is CellStatus.VALUE_MISMATCH
        assert cell.online["requests"] == cell.offline["requests"] - 1


def test_injection_strings_in_keys_stay_data_through_the_reports(late_project: Project, tmp_path: Path) -> None:
    result = late_project.result("city_requests")
    json_path, _ = write_reports(result, tmp_path)
    written = json.loads(json_path.read_text())
    keys = {cell["keys"]["city"] for cell in written["worst_cells"]}
    assert keys == {CITIES[place] for place, _ in LATE_CELLS}
    assert "a'); DROP TABLE x; --" in keys and "\\'; --\\" in keys
    assert "city=a'); DROP TABLE x; --" in markdown(result)
