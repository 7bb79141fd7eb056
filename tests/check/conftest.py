"""Fixtures of the end-to-end check tests: feature projects on disk, their event logs, and their streams.

Every check here is real: events written with `parity.events.write_events`, the realtime side replayed on
Beam (`parity.realtime.run_stream`, BundleBasedDirectRunner), the offline side recomputed by the one Spark
session of the run (`spark` in tests/conftest.py). Each project is a temporary directory with a
pyproject.toml whose `[tool.parity]` points at folders inside it, the example features of this repository,
and the features of `tests/check/features/` (one realtime job and, where needed, one SQL query each):

- `shifted_requests`: window one minute off (the job re-stamps every request a minute late);
- `unfiltered_requests`: missing filter (cancellations and pings count as requests);
- `quoted_requests`: `COUNT(eta_seconds)` in SQL, Beam's `Count` (every row, null ETA included) in the job;
- `requests_but_one_cell`: dropped key (the job drops every row of `DROPPED_CELL`);
- `biased_eta`: avg_eta with every mean multiplied by (1 + 1e-6);
- `city_requests`: a correct job keyed by the free-text `city`, whose values are SQL injection attempts;
- `zoned_requests`: time zone (the job reads event times as UTC+7 wall-clock time: every window 7 h late);
- `coarse_requests`: geohash precision off by one (the job keys by geohash5, the SQL by geohash6);
- `zero_ratio_supply`: null semantics (demand_supply whose job gives ratio 0 where `try_divide` gives NULL);
- `overlapping_requests`: a correct job, streamed over overlapping ranges by its tests: by one writer (the
  second stream replaces the windows it shares) and by two writers of one hour (duplicate output).

The window one minute off is diagnosed `window_shift`, and each of the four above gets its diagnosis
(test_diagnoses.py); the missing filter, the `COUNT(col)` defect and the dropped key stay `unexplained`.

Event sets (base 2024-06-03 10:00 UTC; checks cover windows starting in [10:00, 10:10)):

`clean_rides()`: at each of 8 places (`PLACES`, one geohash6 cell each) and in each minute 10:00-10:09,
1-3 ride requests (about one in eight without an ETA), now and then a cancellation and a driver ping
(mostly available); 8 requests delivered a second time 5-40 s after the first delivery; everything arrives
0.2-3 s after it happened, so nothing is late. A driver ping every 20 s from 10:10 to 10:17 moves the
newest arrival to about 10:17, which settles every window in the checked range.

`late_rides()`: `clean_rides()` plus arrivals planted around the cutoff `window_end + 2m + 1s`:
  LATE_CELLS, each missing one request that arrived after its window's cutoff (online, the count is one
  short; or the cell is absent online when that was its only event, the case of the ninth place);
  a request arriving 1 µs before its cutoff (counted by both sides) and a duplicate delivery arriving
  after the cutoff (counted once by both sides).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from check_project import Project, clean_rides, late_rides, make_project
from pyspark.sql import SparkSession


@pytest.fixture(scope="package")
def clean_project(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Iterator[Project]:
    """A project over `clean_rides()`, shared by the check tests (each feature streams once per run)."""
    rows = clean_rides()
    settings = make_project(tmp_path_factory.mktemp("clean_project"), rows)
    yield Project(settings, rows)


@pytest.fixture(scope="package")
def late_project(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Iterator[Project]:
    """A project over `late_rides()`."""
    rows = late_rides()
    settings = make_project(tmp_path_factory.mktemp("late_project"), rows)
    yield Project(settings, rows)

