"""Input data quality: real Great Expectations suites over clean inputs and inputs with one planted defect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from quality_inputs import END_US, EVENT_END_US, EVENT_START_US, MINUTE, START_US, US, Project, online_rows, ride_events

from parity.errors import DataError, SpecError
from parity.quality import (
    LENGTH_COLUMN,
    OFF_GRID_COLUMN,
    SKEW_COLUMN,
    FailedExpectation,
    QualityReport,
    Suite,
    validate_inputs,
)
from parity.settings import load_settings
from parity.spec import FeatureSpec

GEOHASH_REGEX = """\
expectations:
  - expectation: ExpectColumnValuesToMatchRegex
    kwargs: {column: geohash6, regex: "^[0-9b-hjkmnp-z]{6}$"}
    on: online
"""


def check(
    project: Project, events: pa.Table | pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec | None = None
) -> QualityReport:
    return validate_inputs(
        spec or project.feature(), project.settings, events, online, START_US, END_US, EVENT_START_US, EVENT_END_US
    )


def only_failure(report: QualityReport) -> FailedExpectation:
    assert not report.passed
    assert len(report.failed) == 1, [f.description for f in report.failed]
    return report.failed[0]


def with_column(table: pa.Table, name: str, values: object) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, pa.array(values, table.schema.field(name).type))


def test_clean_input_passes(project: Project) -> None:
    report = check(project, ride_events(2_000), online_rows(300))
    assert report.passed, report.failed
    assert report.failed == ()
    assert report.evaluated >= 12
    assert (report.event_rows, report.online_rows) == (2_000, 300)


def test_null_event_id_is_reported_with_its_count(project: Project) -> None:
    events = ride_events(2_000)
    ids = events.column("event_id").to_pylist()
    for row in (3, 400, 1999):
        ids[row] = None
    failure = only_failure(check(project, with_column(events, "event_id", ids), online_rows(300)))
    assert (failure.suite, failure.expectation, failure.column) == (
        Suite.EVENTS,
        "expect_column_values_to_not_be_null",
        "event_id",
    )
    assert failure.unexpected_count == 3
    assert failure.unexpected_percent == pytest.approx(0.15)


def test_missing_ingest_time_column_is_reported_missing(project: Project) -> None:
    events = ride_events(2_000).drop_columns(["ingest_time"])
    failure = only_failure(check(project, events, online_rows(300)))
    assert (failure.expectation, failure.column, failure.observed) == (
        "expect_column_to_exist",
        "ingest_time",
        "column is missing",
    )


def test_event_time_outside_the_event_range_is_reported(project: Project) -> None:
    events = ride_events(2_000)
    times = pc.cast(events.column("event_time"), pa.int64()).to_numpy().copy()
    times[:5] = EVENT_END_US + MINUTE  # and their ingest 20 s later: clocks are fine, the range is not
    ingest = times + 20 * US
    events = with_column(with_column(events, "event_time", times), "ingest_time", ingest)
    failure = only_failure(check(project, events, online_rows(300)))
    assert (failure.expectation, failure.column) == ("expect_column_values_to_be_between", "event_time")
    assert failure.unexpected_count == 5
    assert "2026-01-01T01:01:00Z" in failure.observed


def test_window_start_outside_the_checked_range_is_reported(project: Project) -> None:
    online = online_rows(300)
    online.loc[:1, "window_start"] = pd.Timestamp(END_US, unit="us", tz="UTC")
    online.loc[:1, "window_end"] = pd.Timestamp(END_US + MINUTE, unit="us", tz="UTC")
    failure = only_failure(check(project, ride_events(2_000), online))
    assert (failure.suite, failure.column, failure.unexpected_count) == (Suite.ONLINE, "window_start", 2)


def test_window_start_off_the_grid_is_reported(project: Project) -> None:
    online = online_rows(300)
    online.loc[:3, ["window_start", "window_end"]] += pd.Timedelta(seconds=30)
    failure = only_failure(check(project, ride_events(2_000), online))
    assert (failure.column, failure.unexpected_count) == (OFF_GRID_COLUMN, 4)
    assert "30000000" in failure.observed


def test_window_length_other_than_the_size_is_reported(project: Project) -> None:
    online = online_rows(300)
    online.loc[:1, "window_end"] -= pd.Timedelta(seconds=1)
    failure = only_failure(check(project, ride_events(2_000), online))
    assert (failure.column, failure.unexpected_count) == (LENGTH_COLUMN, 2)
    assert failure.kwargs["min_value"] == failure.kwargs["max_value"] == MINUTE


def test_null_key_is_reported(project: Project) -> None:
    online = online_rows(300)
    online.loc[[5, 6], "geohash6"] = None
    failure = only_failure(check(project, ride_events(2_000), online))
    assert (failure.expectation, failure.column, failure.unexpected_count) == (
        "expect_column_values_to_not_be_null",
        "geohash6",
        2,
    )


def skewed(events: pa.Table, share: float) -> pa.Table:
    """Stamp `share` of the events 10 minutes ahead of their arrival, as a device with a fast clock does."""
    event_us = pc.cast(events.column("event_time"), pa.int64()).to_numpy()
    ingest_us = pc.cast(events.column("ingest_time"), pa.int64()).to_numpy().copy()
    bad = np.arange(len(ingest_us)) < int(share * len(ingest_us))
    ingest_us[bad] = event_us[bad] - 10 * MINUTE
    return with_column(events, "ingest_time", ingest_us)


def test_mostly_tolerates_a_small_share_of_skewed_clocks(project: Project) -> None:
    report = check(project, skewed(ride_events(2_000), 0.005), online_rows(300))
    assert report.passed, report.failed


def test_mostly_rejects_a_large_share_of_skewed_clocks(project: Project) -> None:
    failure = only_failure(check(project, skewed(ride_events(2_000), 0.05), online_rows(300)))
    assert (failure.column, failure.unexpected_count) == (SKEW_COLUMN, 100)
    assert failure.unexpected_percent == pytest.approx(5.0)
    assert failure.kwargs["mostly"] == 0.99
    assert failure.kwargs["max_value"] == 300  # the default 5m bound, in seconds


def test_clock_skew_bound_comes_from_settings(project: Project) -> None:
    (project.root / "pyproject.toml").write_text('[tool.parity]\nclock_skew_bound = "15m"\n')
    wider = Project(project.root, load_settings(project.root))
    assert check(wider, skewed(ride_events(2_000), 0.05), online_rows(300)).passed


def test_custom_spec_expectation_is_applied(project: Project) -> None:
    spec = project.feature(GEOHASH_REGEX)
    clean = check(project, ride_events(2_000), online_rows(300), spec)
    assert clean.passed, clean.failed
    online = online_rows(300)
    online.loc[7, "geohash6"] = "ABCDEF"  # upper case and 'a' are not geohash characters
    failure = only_failure(check(project, ride_events(2_000), online, spec))
    assert (failure.suite, failure.expectation, failure.column) == (
        Suite.ONLINE,
        "expect_column_values_to_match_regex",
        "geohash6",
    )
    assert failure.unexpected_count == 1
    assert "'ABCDEF'" in failure.observed


def test_custom_expectation_by_snake_name_on_events(project: Project) -> None:
    spec = project.feature(
        """\
        expectations:
          - expectation: expect_column_values_to_be_in_set
            kwargs: {column: city, value_set: [lisbon]}
            on: events
        """
    )
    failure = only_failure(check(project, ride_events(2_000), online_rows(300), spec))
    assert (failure.suite, failure.expectation, failure.column) == (
        Suite.EVENTS,
        "expect_column_values_to_be_in_set",
        "city",
    )
    assert 900 < (failure.unexpected_count or 0) < 1100  # the porto half


def test_custom_expectation_on_an_absent_column_reports_the_column_missing(project: Project) -> None:
    spec = project.feature(GEOHASH_REGEX.replace("geohash6,", "geohash7,"))
    failure = only_failure(check(project, ride_events(2_000), online_rows(300), spec))
    assert (failure.expectation, failure.column) == ("expect_column_to_exist", "geohash7")


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ("{expectation: ExpectColumnValuesToBeAwesome, on: online}", "expectations.0.expectation"),
        ("{expectation: expect_column_values_to_not_be_null, kwargs: {column: x}, on: offline}", "expectations.0.on"),
        ("{expectation: ExpectColumnValuesToNotBeNull, kwargs: {column: x}}", "expectations.0.on"),
        (
            "{expectation: ExpectColumnValuesToNotBeNull, kwargs: {column: x}, on: events, mostly: 0.9}",
            "expectations.0.mostly",
        ),
        ("{expectation: ExpectColumnValuesToNotBeNull, kwargs: {}, on: events}", "expectations.0.kwargs.column"),
        (
            "{expectation: ExpectColumnValuesToNotBeNull, kwargs: {column: x, mostly: 2}, on: events}",
            "expectations.0.kwargs.mostly",
        ),
        (
            "{expectation: ExpectColumnValuesToMatchRegex, kwargs: {column: x, regex: '(['}, on: online}",
            "expectations.0.kwargs.regex",
        ),
        ("{expectation: UnexpectedRowsExpectation, kwargs: {}, on: online}", "expectations.0.expectation"),
        ("just_a_string", "expectations.0"),
    ],
)
def test_bad_custom_expectation_is_a_spec_error_when_the_spec_loads(project: Project, entry: str, field: str) -> None:
    with pytest.raises(SpecError) as caught:
        project.feature(f"expectations:\n  - {entry}\n")
    assert (caught.value.path, caught.value.field) == ("realtime_jobs/ride_requests.yaml", field)
    assert str(caught.value).startswith(f"realtime_jobs/ride_requests.yaml: {field}: ")


def test_pandas_events_and_integer_microsecond_online_times_are_accepted(project: Project) -> None:
    online = online_rows(300)
    for name in ("window_start", "window_end", "emitted_at"):
        online[name] = online[name].astype("int64")  # pandas 2: datetime64[us] -> microseconds
    report = check(project, ride_events(2_000).to_pandas(), online)
    assert report.passed, report.failed


def test_empty_online_rows_pass(project: Project) -> None:
    assert check(project, ride_events(2_000), online_rows(0)).passed


def test_timestamp_column_of_another_type_is_a_data_error(project: Project) -> None:
    events = ride_events(100).to_pandas()
    events["event_time"] = events["event_time"].astype(str)
    with pytest.raises(DataError, match="column event_time has type object"):
        check(project, events, online_rows(10))


def test_failures_serialise_to_json(project: Project) -> None:
    online = online_rows(300)
    online.loc[:3, ["window_start", "window_end"]] += pd.Timedelta(seconds=30)
    report = check(project, skewed(ride_events(2_000), 0.05), online)
    payload = json.loads(json.dumps([failure.to_json() for failure in report.failed]))
    assert [(item["suite"], item["column"]) for item in payload] == [
        ("events", SKEW_COLUMN),
        ("online", OFF_GRID_COLUMN),
    ]


def test_nothing_is_written_to_disk(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = tmp_path / "cwd"
    home = tmp_path / "home"
    workdir.mkdir()
    home.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("HOME", str(home))
    assert check(project, ride_events(500), online_rows(50)).passed
    assert list(workdir.iterdir()) == list(home.iterdir()) == []
    assert sorted(p.name for p in project.root.iterdir()) == ["cwd", "home", "realtime_jobs"]


def test_importing_the_module_does_not_import_great_expectations() -> None:
    code = "import sys, parity.quality; print('great_expectations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={**os.environ})
    assert out.stdout.strip() == "False"


def test_200k_events_and_20k_online_rows_validate_in_a_few_seconds(project: Project) -> None:
    events, online = ride_events(200_000), online_rows(20_000)
    check(project, ride_events(100), online_rows(10))  # Great Expectations' first-use costs are not the rows'
    report = check(project, events, online)
    print(f"quality: 200k events + 20k online rows validated in {report.seconds:.2f} s")
    assert report.passed, report.failed
    assert report.seconds < 6.0  # about 1.5 s on 2 busy cores; the budget leaves room for a shared machine


def test_lint_names_the_spec_file_and_the_malformed_expectation_entry(project: Project) -> None:
    project.feature(GEOHASH_REGEX)  # a good first entry, then a bad one
    spec = project.root / "realtime_jobs" / "ride_requests.yaml"
    spec.write_text(spec.read_text() + "  - {expectation: ExpectColumnValuesToBeAwesome, on: online}\n")
    (project.root / "offline_queries").mkdir()
    (project.root / "offline_queries" / "ride_requests.sql").write_text(
        "SELECT geohash6, window.start AS window_start, window.end AS window_end, count(*) AS requests "
        "FROM ride_events GROUP BY geohash6, window(event_time, '1 minute')"
    )
    done = subprocess.run(
        [sys.executable, "-m", "parity.cli", "lint", "--project", str(project.root)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    problems = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(problems) == 1, done.stderr
    assert problems[0].startswith("realtime_jobs/ride_requests.yaml: expectations.1.expectation: "), problems[0]
    assert "ExpectColumnValuesToBeAwesome" in problems[0]
