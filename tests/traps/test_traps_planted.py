"""parity.traps on planted ports: each planted feature (tests/traps/planted) holds exactly one porting trap.

Planted, one feature each (the SQL file's first line says what):
- count_nulls: COUNT(eta_seconds) offline, Beam YAML Combine `count` online (nulls counted by one side only);
- count_star: COUNT(*) offline, a Python job that drops None ETAs before `Count.PerKey` (the reverse);
- integer_division: `MAX(eta_seconds) / 60` offline, `max_eta // 60` online;
- integer_div: `... DIV 60` offline, `int(max_eta) / 60` online (the reverse);
- avg_integer: AVG over BIGINT offline, `sum(seconds) // len(seconds)` in a Python job;
- case_sensitivity: `lower(city) = ...` offline, `city == ...` online;
- case_folding: `city = 'San Francisco'` offline, `city.lower() == ...` online (the reverse);
- local_time: `from_utc_timestamp(event_time, 'Asia/Kolkata')` offline, UTC hours online;
- local_clock: `hour(event_time)` (UTC session) offline, `datetime.fromtimestamp(...)` without tz online;
- distinct_count: COUNT(DISTINCT rider_id) offline, Combine `count` of rider_id online;
- duplicate_events: `SELECT DISTINCT event_id, ...` offline, Combine `mean` over every delivery online;
- window: 1-minute windows offline and in the spec, `WindowInto(FixedWindows(120))` in a Python job.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from parity.feature import problems
from parity.settings import load_settings
from parity.spec import feature_names, load_feature
from parity.traps import TRAPS, Trap, find_traps

PLANTED = Path(__file__).resolve().parent / "planted"
REPO = Path(__file__).resolve().parents[2]

# feature -> every warning find_traps must give: (trap, SQL line, job step as printed)
EXPECTED: dict[str, list[tuple[Trap, int, str]]] = {
    "count_nulls": [(Trap.COUNT_NULLS, 6, "realtime_jobs/count_nulls.yaml transform[2] Combine config.combine.quoted")],
    "count_star": [(Trap.COUNT_NULLS, 6, "realtime_jobs/count_star.py:15")],
    "integer_division": [(Trap.INTEGER_DIVISION, 6,
                          "realtime_jobs/integer_division.yaml transform[3] MapToFields config.fields.max_eta_minutes")],
    "integer_div": [(Trap.INTEGER_DIVISION, 6,
                     "realtime_jobs/integer_div.yaml transform[3] MapToFields config.fields.max_eta_minutes")],
    "avg_integer": [(Trap.AVG_INTEGER, 6, "realtime_jobs/avg_integer.py:14")],
    "case_sensitivity": [(Trap.CASE_SENSITIVITY, 9, "realtime_jobs/case_sensitivity.yaml transform[0] Filter config.keep")],
    "case_folding": [(Trap.CASE_SENSITIVITY, 9, "realtime_jobs/case_folding.yaml transform[0] Filter config.keep")],
    "local_time": [(Trap.LOCAL_TIME, 6, "realtime_jobs/local_time.yaml transform[1] MapToFields config.fields.rush")],
    "local_clock": [(Trap.LOCAL_TIME, 4, "realtime_jobs/local_clock.py:14")],
    "distinct_count": [(Trap.DISTINCT_COUNT, 6,
                        "realtime_jobs/distinct_count.yaml transform[2] Combine config.combine.riders")],
    "duplicate_events": [(Trap.DISTINCT_COUNT, 3,
                          "realtime_jobs/duplicate_events.yaml transform[2] Combine config.combine.avg_eta_seconds")],
    "window": [(Trap.WINDOW, 9, "realtime_jobs/window.py:16")],
}


def test_every_trap_has_a_planted_feature_and_every_planted_feature_is_listed() -> None:
    assert {trap for warnings in EXPECTED.values() for trap, _, _ in warnings} == set(Trap)
    assert sorted(EXPECTED) == feature_names(PLANTED)
    assert len(TRAPS) == len(Trap)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_planted_feature_warns_its_trap_at_the_sql_line_and_job_step(name: str) -> None:
    spec = load_feature(name, PLANTED)
    assert problems(spec, load_settings(PLANTED)) == []  # a usable query: only the trap is wrong with it
    warnings = find_traps(spec, PLANTED)
    assert [(w.trap, w.sql.line, str(w.job)) for w in warnings] == EXPECTED[name]
    for warning in warnings:
        assert warning.feature == name
        assert warning.sql.file == f"offline_queries/{name}.sql"
        assert str(warning).startswith(f"offline_queries/{name}.sql:{warning.sql.line}: warning: {warning.trap.value}: ")
        assert warning.fix


@pytest.mark.parametrize("name", ["available_drivers", "avg_eta", "demand_supply", "ride_requests"])
def test_shipped_example_has_no_trap(name: str) -> None:
    assert find_traps(load_feature(name, REPO), REPO) == []


# The planted port with its trap fixed on one side: the warning goes away, so each check tells the two apart.
FIXED = [
    ("count_nulls", "realtime_jobs/count_nulls.yaml", "keep: \"event_type == 'ride_requested'\"",
     "keep: \"event_type == 'ride_requested' and eta_seconds is not None\""),
    ("count_nulls", "offline_queries/count_nulls.sql", "COUNT(eta_seconds)", "COUNT(*)"),
    ("count_star", "offline_queries/count_star.sql", "WHERE event_type = 'ride_requested'",
     "WHERE event_type = 'ride_requested' AND eta_seconds IS NOT NULL"),
    ("integer_division", "realtime_jobs/integer_division.yaml", "max_eta // 60", "max_eta / 60"),
    ("integer_div", "realtime_jobs/integer_div.yaml", "int(max_eta) / 60", "int(max_eta / 60)"),
    ("avg_integer", "realtime_jobs/avg_integer.py", "sum(seconds) // len(seconds)", "sum(seconds) / len(seconds)"),
    ("case_sensitivity", "realtime_jobs/case_sensitivity.yaml", "transform:\n",  # lowercase city, then compare it
     "transform:\n  - type: MapToFields\n    config: {language: python, append: true, drop: [city], fields: {city: 'city.lower()'}}\n"),
    ("case_folding", "offline_queries/case_folding.sql", "city = 'San Francisco'", "lower(city) = 'san francisco'"),
    ("local_time", "realtime_jobs/local_time.yaml", "tz=datetime.UTC", "tz=zoneinfo.ZoneInfo('Asia/Kolkata')"),
    ("local_clock", "realtime_jobs/local_clock.py", "event.event_time / 1_000_000)",
     "event.event_time / 1_000_000, tz=dt.UTC)"),
    ("distinct_count", "realtime_jobs/distinct_count.yaml", "fn: count",
     "fn: {type: apache_beam.transforms.combiners.ToSetCombineFn}"),
    ("duplicate_events", "offline_queries/duplicate_events.sql", "SELECT DISTINCT event_id,", "SELECT event_id,"),
    ("window", "realtime_jobs/window.py", '| "TwoMinutes" >> beam.WindowInto(window.FixedWindows(120))\n', ""),
]


@pytest.mark.parametrize(("name", "file", "planted", "fixed"), FIXED, ids=[f"{n}:{f.split('/')[0]}" for n, f, _, _ in FIXED])
def test_planted_feature_with_its_trap_fixed_warns_nothing(tmp_path: Path, name: str, file: str, planted: str,
                                                           fixed: str) -> None:
    shutil.copytree(PLANTED, tmp_path, dirs_exist_ok=True)
    path = tmp_path / file
    assert planted in path.read_text()
    path.write_text(path.read_text().replace(planted, fixed))
    assert find_traps(load_feature(name, tmp_path), tmp_path) == []


# A shipped example with one side changed into a trap: the warning names the shipped file's line and step.
BROKEN = [
    ("ride_requests", "offline_queries/ride_requests.sql", "COUNT(DISTINCT event_id)", "COUNT(*)",
     (Trap.DISTINCT_COUNT, 7, "realtime_jobs/ride_requests.yaml transform[2] Combine config.combine.event_ids")),
    ("avg_eta", "offline_queries/avg_eta.sql", "SELECT DISTINCT event_id", "SELECT event_id",
     (Trap.DISTINCT_COUNT, 12, "realtime_jobs/avg_eta.yaml transform[2] Combine config.combine.eta_by_event")),
    ("demand_supply", "realtime_jobs/demand_supply.py", "requests / drivers if drivers", "requests // drivers if drivers",
     (Trap.INTEGER_DIVISION, 21, "realtime_jobs/demand_supply.py:55")),
    ("available_drivers", "offline_queries/available_drivers.sql", "COUNT(DISTINCT driver_id)", "COUNT(driver_id)",
     (Trap.DISTINCT_COUNT, 6, "realtime_jobs/available_drivers.py:21")),
]


@pytest.mark.parametrize(("name", "file", "shipped", "broken", "expected"), BROKEN, ids=[b[0] for b in BROKEN])
def test_shipped_example_with_a_trap_put_in_warns_it(tmp_path: Path, name: str, file: str, shipped: str, broken: str,
                                                     expected: tuple[Trap, int, str]) -> None:
    for folder in ("offline_queries", "realtime_jobs"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    path = tmp_path / file
    assert shipped in path.read_text()
    path.write_text(path.read_text().replace(shipped, broken))
    warnings = find_traps(load_feature(name, tmp_path), tmp_path)
    assert [(w.trap, w.sql.line, str(w.job)) for w in warnings] == [expected]
