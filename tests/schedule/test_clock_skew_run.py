"""One clock-skewed producer does not stop the schedule: a row arriving "in 2027" or stamped 2099, written straight
into the log by another system, neither moves `run --since` off the hours with events nor settles anything; and
`run` never says every settled hour is checked when the range it looked at holds no hour with events."""

from __future__ import annotations

from pathlib import Path

import pytest
from late_project import copied_project, plant_events
from scheduled_project import FEATURE, HOURS, Logs
from test_run import candidates

from parity import ledger
from parity.cli import parse_time
from parity.cli.service import _ran
from parity.schedule import FeatureRun, Plan, plan
from parity.spec import load_feature


def test_a_row_from_a_skewed_clock_leaves_the_hours_with_events_due(tmp_path: Path, generated_logs: Logs) -> None:
    settings = copied_project(tmp_path, generated_logs)
    plant_events(settings, "future-clock", 1, ingest_us=parse_time("2027-01-01T00:00:00Z", "t"))
    plant_events(settings, "year-2099", 1, event_us=parse_time("2099-01-01T00:00:00Z", "t"),
                 partition=Path("ride_events") / "date=2099-01-01" / "hour=00")
    spec = load_feature(FEATURE, settings.project)
    found = plan(spec, settings, candidates(settings), {}, ledger.config_hash(spec))
    assert [hour.start_us for hour in found.due] == list(HOURS)


def test_run_says_nothing_is_to_check_not_that_every_hour_is_checked_when_no_hour_has_events(
    capsys: pytest.CaptureFixture[str],
) -> None:
    empty = Plan(FEATURE, "c0ffee", due=(), done=0, unsettled=1, empty=24)
    assert _ran([FeatureRun(FEATURE, empty, ())], "the last 24h") == 0
    said = capsys.readouterr().out
    assert "no settled hour with events in the last 24h" in said and "every settled hour" not in said
