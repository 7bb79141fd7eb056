"""`parity.schedule.run_feature` in this process: real Spark (the session's), the real Beam output and the store.

Running twice checks each hour once; an edited SQL makes earlier hours stale and they are checked again; a run
killed after recording a result but before its ledger row checks that hour again without a second result.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

from scheduled_project import FEATURE, HOURS, REPO, Logs, make_project
from stored import ledger_rows, results_per_hour

from parity import ledger
from parity.result import CheckFailure
from parity.schedule import Hour, grid_hours, plan, run_feature, since_range
from parity.settings import Settings, load_settings
from parity.spec import load_feature
from parity.units import iso, parse_duration

STEP = parse_duration("1h")


def candidates(settings: Settings) -> list[Hour]:
    spec = load_feature(FEATURE, settings.project)
    return grid_hours(*since_range(spec, settings, parse_duration("6h"), STEP), STEP)


def run(settings: Settings, *, force: bool = False) -> list[int]:
    """Run the feature once; the start of each hour it checked."""
    done = run_feature(load_feature(FEATURE, settings.project), settings, candidates(settings), force=force)
    return [hour.hour.start_us for hour in done.checked]


def test_run_twice_checks_each_settled_hour_once(sqlite_project: Settings) -> None:
    assert run(sqlite_project) == list(HOURS)
    assert run(sqlite_project) == []
    assert Counter(row.start_us for row in ledger_rows(sqlite_project)) == dict.fromkeys(HOURS, 1)
    assert results_per_hour(sqlite_project) == {(FEATURE, iso(h)): 1 for h in HOURS}


def test_an_edited_sql_makes_earlier_hours_stale_and_run_checks_them_again(sqlite_project: Settings) -> None:
    assert run(sqlite_project) == list(HOURS)
    before = ledger.config_hash(load_feature(FEATURE, sqlite_project.project))
    sql = sqlite_project.offline_queries / f"{FEATURE}.sql"
    sql.write_text(sql.read_text() + "\n-- reviewed: counts distinct event ids\n")
    after = ledger.config_hash(load_feature(FEATURE, sqlite_project.project))
    assert after != before
    assert run(sqlite_project) == list(HOURS)
    assert run(sqlite_project) == []
    rows = ledger_rows(sqlite_project)
    assert Counter((row.start_us, row.config_hash) for row in rows) == {
        **{(h, before): 1 for h in HOURS}, **{(h, after): 1 for h in HOURS}}
    assert len({row.run_id for row in rows}) == 4  # a recheck is a run of its own, with its own reports
    assert results_per_hour(sqlite_project) == {(FEATURE, iso(h)): 2 for h in HOURS}


def test_force_checks_done_hours_again(sqlite_project: Settings) -> None:
    assert run(sqlite_project) == list(HOURS)
    assert run(sqlite_project, force=True) == list(HOURS)
    assert Counter(row.start_us for row in ledger_rows(sqlite_project)) == dict.fromkeys(HOURS, 2)


def test_a_kill_between_the_result_and_its_ledger_row_rechecks_the_hour_without_a_second_result(
    sqlite_project: Settings,
) -> None:
    assert run(sqlite_project) == list(HOURS)
    # The state a kill -9 leaves after the result of 09:00 was stored and before its ledger row was written.
    engine = ledger.connect(sqlite_project.database)
    with engine.begin() as conn:
        conn.execute(ledger.ledger.delete().where(ledger.ledger.c.start_us == HOURS[1]))
    engine.dispose()
    assert run(sqlite_project) == [HOURS[1]]
    assert Counter(row.start_us for row in ledger_rows(sqlite_project)) == dict.fromkeys(HOURS, 1)
    assert results_per_hour(sqlite_project) == {(FEATURE, iso(h)): 1 for h in HOURS}


def test_an_hour_that_could_not_be_checked_is_not_done_and_the_next_run_tries_it_again(
    tmp_path: Path, generated_logs: Logs,
) -> None:
    no_output = Logs(generated_logs.event_log, tmp_path / "empty_online_log")
    settings = load_settings(make_project(tmp_path / "project", no_output, f"sqlite:///{tmp_path / 'parity.db'}"))
    for _ in range(2):
        done = run_feature(load_feature(FEATURE, settings.project), settings, candidates(settings))
        assert [(h.hour.start_us, type(h.outcome)) for h in done.checked] == [(h, CheckFailure) for h in HOURS]
        assert all("no realtime output for ride_requests" in h.outcome.error for h in done.checked
                   if isinstance(h.outcome, CheckFailure))
    assert ledger_rows(settings) == []


def test_a_sliding_feature_is_due_only_in_hours_the_event_log_covers(sqlite_project: Settings) -> None:
    # demand_supply's 5-minute windows sliding by 1 minute: those starting 07:56-07:59 hold events of 08:00 on,
    # but the log starts at 08:00, so they are partial and the 07:00 hour is not checked.
    for name in ("demand_supply.yaml", "demand_supply.py"):
        shutil.copy(REPO / "realtime_jobs" / name, sqlite_project.realtime_jobs)
    shutil.copy(REPO / "offline_queries" / "demand_supply.sql", sqlite_project.offline_queries)
    spec = load_feature("demand_supply", sqlite_project.project)
    assert spec.window.sliding
    hours = grid_hours(HOURS[0] - 2 * STEP, HOURS[1] + 2 * STEP, STEP)
    found = plan(spec, sqlite_project, hours, {}, ledger.config_hash(spec))
    assert [hour.start_us for hour in found.due] == list(HOURS)
    assert (found.unsettled, found.empty) == (1, 2)
