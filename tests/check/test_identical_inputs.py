"""The example jobs against their SQL on `clean_rides()` (nothing late): every cell agrees."""

from __future__ import annotations

from typing import Any

import pytest
from check_project import MINUTE, Project, cells, geohash6, is_request

from parity.geo import geohash
from parity.result import Cause, Verdict


def geohash5(row: dict[str, Any]) -> str:
    return str(geohash(row["lat"], row["lon"], 5))


def available_ping(row: dict[str, Any]) -> bool:
    return row["event_type"] == "driver_ping" and row["available"] is True and row["driver_id"] is not None


# The cells each feature has in the checked range, counted from the events themselves.
EXPECTED_CELLS = {
    "ride_requests": lambda rows: cells(rows, is_request, geohash6),
    "avg_eta": lambda rows: cells(
        rows, lambda r: is_request(r) and r["eta_seconds"] is not None, geohash6, size=5 * MINUTE, slide=5 * MINUTE
    ),
    "available_drivers": lambda rows: cells(rows, available_ping, geohash6),
    "demand_supply": lambda rows: cells(
        rows, lambda r: r["event_type"] in ("ride_requested", "driver_ping"), geohash5, size=5 * MINUTE
    ),
}


@pytest.mark.parametrize("feature", sorted(EXPECTED_CELLS))
def test_example_job_agrees_with_its_sql_on_every_cell(clean_project: Project, feature: str) -> None:
    result = clean_project.result(feature)
    expected = len(EXPECTED_CELLS[feature](clean_project.rows))
    assert expected > 0
    assert (result.compared, result.matched) == (expected, expected)
    assert (result.value_mismatch, result.missing_online, result.missing_offline, result.duplicate_online) == (0, 0, 0, 0)
    assert result.agreement == 1.0 and result.agreement_net_of_explained == 1.0
    assert result.causes == dict.fromkeys(Cause, 0)
    assert result.diagnoses == ()
    assert result.agreement_on_time_pane == 1.0  # nothing arrives after its window closed
    assert result.verdict is Verdict.PASSED and result.passed
    assert result.worst_cells == () and result.failed_expectations == () and result.unsettled is None


def test_demand_supply_cells_without_supply_match_with_a_null_ratio(clean_project: Project) -> None:
    # try_divide gives NULL where no driver is available, and the job None: null == null, not NaN != null.
    every_cell = EXPECTED_CELLS["demand_supply"](clean_project.rows)
    supplied = cells(clean_project.rows, available_ping, geohash5, size=5 * MINUTE)
    assert set(every_cell) - set(supplied)  # there are such cells
    result = clean_project.result("demand_supply")
    assert result.matched == result.compared == len(every_cell)
