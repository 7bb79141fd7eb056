"""Each diagnosis, end to end: a real Beam job (tests/check/features) plants exactly one bug, Spark recomputes the
truth, and the check names that cause with its detail, and still breaches (a diagnosed cause is a defect with a
name, so it counts against the bar like `unexplained`). `clean_rides()` has no late event."""

from __future__ import annotations

import pyarrow as pa
from check_project import MINUTE, RIDE_EVENTS, Project, at, cells, geohash6, is_request, us

from parity.check import run_check
from parity.geo import geohash
from parity.realtime import run_stream
from parity.result import Cause, CellStatus, CheckResult, Diagnosis, Verdict


def only(cause: Cause, count: int) -> dict[Cause, int]:
    """The `causes` of a result whose divergent cells all have one cause."""
    return {**dict.fromkeys(Cause, 0), cause: count}


def breaches_against_the_bar(result: CheckResult) -> None:
    assert result.verdict is Verdict.BREACHED and not result.passed
    assert result.failed_expectations == ()
    assert result.agreement_net_of_explained == result.agreement < result.threshold


def test_a_time_zone_bug_is_a_window_shift_of_seven_hours(clean_project: Project) -> None:
    result = clean_project.result("zoned_requests")
    requests = cells(clean_project.rows, is_request, geohash6)
    breaches_against_the_bar(result)
    # Every window landed 7 h later, outside the checked range: every cell is missing online, and the
    # diagnosis finds each offline value in the online window 7 h on.
    assert (result.compared, result.missing_online, result.matched) == (len(requests), len(requests), 0)
    assert result.causes == only(Cause.WINDOW_SHIFT, len(requests))
    assert result.diagnoses == (Diagnosis(Cause.WINDOW_SHIFT, len(requests), "online windows = offline windows + 7h"),)
    assert {cell.cause for cell in result.worst_cells} == {Cause.WINDOW_SHIFT}
    assert result.agreement_on_time_pane is None  # no online row in the range, so no ON_TIME pane to judge


def test_a_geohash_one_precision_short_is_a_key_mismatch(clean_project: Project) -> None:
    result = clean_project.result("coarse_requests")
    requests = cells(clean_project.rows, is_request, geohash6)
    parents = cells(clean_project.rows, is_request, lambda row: geohash(row["lat"], row["lon"], 5))
    breaches_against_the_bar(result)
    assert (result.missing_online, result.missing_offline) == (len(requests), len(parents))
    assert result.compared == len(requests) + len(parents)
    assert result.causes == only(Cause.KEY_MISMATCH, result.compared)
    assert result.diagnoses == (
        Diagnosis(Cause.KEY_MISMATCH, result.compared, "online keys are precision-5 parents of offline precision-6 keys"),
    )


def test_zero_where_the_sql_divides_to_null_is_null_semantics(clean_project: Project) -> None:
    result = clean_project.result("zero_ratio_supply")
    seen = cells(clean_project.rows, lambda r: r["event_type"] in ("ride_requested", "driver_ping"),
                 lambda r: geohash(r["lat"], r["lon"], 5), size=5 * MINUTE)
    no_driver = {cell for cell, rows in seen.items()
                 if not any(r["event_type"] == "driver_ping" and r["available"] and r["driver_id"] for r in rows)}
    assert 3 <= len(no_driver) < len(seen)
    breaches_against_the_bar(result)
    assert (result.compared, result.value_mismatch, result.matched) == (len(seen), len(no_driver), len(seen) - len(no_driver))
    assert result.causes == only(Cause.NULL_SEMANTICS, len(no_driver))
    assert result.diagnoses == (Diagnosis(
        Cause.NULL_SEMANTICS, len(no_driver), f"ratio is 0 online where it is null offline ({len(no_driver)} cells)"),)
    reported = {(cell.keys["geohash5"], cell.window_start): cell for cell in result.worst_cells}
    assert len(reported) == len(no_driver)
    for cell in reported.values():
        assert (cell.online["ratio"], cell.offline["ratio"], cell.offline["drivers"]) == (0.0, None, 0)


def test_restreaming_an_overlapping_range_replaces_its_windows_instead_of_duplicating(clean_project: Project) -> None:
    spec = clean_project.spec("overlapping_requests")
    events = pa.Table.from_pylist(clean_project.rows, schema=RIDE_EVENTS)
    run_stream(spec, clean_project.settings, events, windows=(us(at(0)), us(at(6))))
    run_stream(spec, clean_project.settings, events, windows=(us(at(4)), us(at(10))))  # 10:04-10:06 again
    result = run_check(spec, clean_project.settings, us(at(0)), us(at(10)))  # not Project.check: it streams again
    requests = cells(clean_project.rows, is_request, geohash6)
    assert (result.compared, result.duplicate_online, result.matched) == (len(requests), 0, len(requests))
    assert result.passed and result.diagnoses == ()


def test_two_writers_of_one_hour_are_duplicate_output_from_two_files(clean_project: Project) -> None:
    spec = clean_project.spec("overlapping_requests")
    events = pa.Table.from_pylist(clean_project.rows, schema=RIDE_EVENTS)
    first = run_stream(spec, clean_project.settings, events, windows=(us(at(0)), us(at(10))))
    # A second writer of the same hour (another job logging the feature) replaces nothing of the first one's.
    second = run_stream(spec, clean_project.settings, events, windows=(us(at(4)), us(at(6))), writer="shadow")
    try:
        result = run_check(spec, clean_project.settings, us(at(0)), us(at(10)))
    finally:
        for file in second.files:
            file.unlink()
    requests = cells(clean_project.rows, is_request, geohash6)
    twice = {cell for cell in requests if cell[1] in ("2024-06-03T10:04:00Z", "2024-06-03T10:05:00Z")}
    assert len(twice) == 16
    breaches_against_the_bar(result)
    assert (result.compared, result.duplicate_online, result.matched) == (len(requests), len(twice), len(requests) - 16)
    assert result.causes == only(Cause.DUPLICATE_OUTPUT, len(twice))
    files = ", ".join(sorted(f.relative_to(first.path).as_posix() for f in (*first.files, *second.files)))
    assert files.count("date=2024-06-03/hour=10/") == 2
    assert [(d.cause, d.cells) for d in result.diagnoses] == [(Cause.DUPLICATE_OUTPUT, 16)]
    assert result.diagnoses[0].detail.startswith(f"16 cells have final panes in 2 overlapping output files ({files}); e.g. ")
    assert {(c.keys["geohash6"], c.window_start) for c in result.worst_cells} == twice
    assert all(c.status is CellStatus.DUPLICATE_ONLINE for c in result.worst_cells)


