"""Only final windows are checked: a window is final once the newest arrival in the event log reaches its
arrival cutoff, `window_end + allowed_lateness + 1 s` (the stream still counts an event arriving before it).
ride_requests: 1-minute windows, 2 minutes of lateness, so the 10:00 window is final from 10:03:01."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from check_project import at, cutoff, make_project, ride, us

from parity.check import CheckRange, settle
from parity.errors import DataError
from parity.spec import load_feature


def settle_with_newest_arrival(root: Path, newest: dt.datetime, end: dt.datetime) -> CheckRange:
    rows = [
        ride("first", at(0, 10), "ride_requested", 0, arrival=at(0, 11)),
        ride("newest", at(0, 20), "ride_requested", 0, arrival=newest),
    ]
    settings = make_project(root, rows)
    return settle(load_feature("ride_requests", settings.project), settings, us(at(0)), us(end))


def test_a_window_is_not_final_before_its_arrival_cutoff(tmp_path: Path) -> None:
    just_before = cutoff(at(0)) - dt.timedelta(microseconds=1)
    with pytest.raises(DataError, match=r"is not yet settled: the newest arrival is 2024-06-03T10:03:00.999999Z"):
        settle_with_newest_arrival(tmp_path, just_before, at(1))


def test_a_window_is_final_at_its_arrival_cutoff(tmp_path: Path) -> None:
    assert settle_with_newest_arrival(tmp_path, cutoff(at(0)), at(1)) == CheckRange(us(at(0)), us(at(1)), None)


def test_a_range_partly_final_is_cut_to_its_final_windows(tmp_path: Path) -> None:
    span = settle_with_newest_arrival(tmp_path, cutoff(at(2)), at(10))
    assert (span.start_us, span.end_us) == (us(at(0)), us(at(3)))
    assert span.unsettled == (
        "windows starting 2024-06-03T10:03:00Z or later are not final yet (newest arrival 2024-06-03T10:05:01Z)"
    )
