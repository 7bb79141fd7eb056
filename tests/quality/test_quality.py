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
import pyarrow.parquet as pq
import pytest
from quality_inputs import END_US, MINUTE, START_US, Project, online_rows, ride_events

from parity.check import read_online
from parity.errors import DataError, SpecError
from parity.events import TIMESTAMP, read_event_range, write_events
from parity.online import open_source
from parity.quality import (
    LENGTH_COLUMN,
    OFF_GRID_COLUMN,
    SKEW_COLUMN,
    FailedExpectation,
    QualityReport,
    Suite,
    validate_events,
    validate_online,
)
from parity.settings import load_settings
from parity.spec import FeatureSpec

GEOHASH_REGEX = """\
expectations:
  - expectation: ExpectColumnValuesToMatchRegex
    kwargs: {column: geohash6, regex: "^[0-9b-hjkmnp-z]{6}$"}
    on: online
"""


NO_MISPLACED = pa.table({"event_id": pa.array([], pa.string()), "event_time": pa.array([], TIMESTAMP),
                         "partition": pa.array([], pa.string())})
NO_STRAYS = pd.DataFrame({"window_start": pd.Series([], dtype="datetime64[us, UTC]"), "file": pd.Series([], dtype=str)})


def no_null_keys(spec: FeatureSpec) -> pd.DataFrame:
    """An offline result without a null key."""
    return pd.DataFrame({key: ["u4pruy"] for key in spec.keys})


def check(
    project: Project, events: pa.Table | pd.DataFrame, online: pd.DataFrame, spec: FeatureSpec | None = None
) -> QualityReport:
    """Both suites, over inputs whose readers set nothing aside and an offline result without null keys."""
    spec = spec or project.feature()
    return validate_events(spec, project.settings, events, NO_MISPLACED) + validate_online(
        spec, online, NO_STRAYS, no_null_keys(spec)
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
    assert failure.observed == "3 of 2000 rows unexpected (0.15%), e.g. None, None, None"
    assert failure.unexpected_percent == pytest.approx(0.15)


def test_missing_ingest_time_column_is_reported_missing(project: Project) -> None:
    events = ride_events(2_000).drop_columns(["ingest_time"])
    failure = only_failure(check(project, events, online_rows(300)))
    assert (failure.expectation, failure.column, failure.observed) == (
        "expect_column_to_exist",
        "ingest_time",
        "column is missing",
    )


def test_events_misplaced_in_their_partition_are_reported_from_what_the_reader_read(project: Project) -> None:
    log = project.settings.event_log
    clean = ride_events(2_000)
    assert write_events(clean, log, "ride_events", project.settings.quarantine).rows_quarantined == 0
    # Another writer's file in partition hour=00 holding a 01:30 event and an event without event_time.
    hour = log / "ride_events" / "date=2026-01-01" / "hour=00"
    stray = clean.slice(0, 2)
    stray = with_column(stray, "event_id", ["misplaced", "timeless"])
    stray = with_column(stray, "event_time", [END_US + 30 * MINUTE, None])
    pq.write_table(stray, hour / "other-writer.parquet")
    read = read_event_range(log, "ride_events", START_US, START_US + 10 * MINUTE)  # a sub-range of hour=00
    assert "misplaced" not in read.events.column("event_id").to_pylist()  # the range filter dropped both rows
    failure = only_failure(
        validate_events(project.feature(), project.settings, read.events, read.misplaced)
    )
    assert (failure.suite, failure.expectation) == (Suite.EVENTS, "expect_table_row_count_to_equal")
    assert failure.observed == (
        "2 rows, e.g. misplaced at 2026-01-01T01:30:00Z in date=2026-01-01/hour=00; "
        "timeless at null in date=2026-01-01/hour=00"
    )


def test_online_rows_outside_the_windows_their_file_covers_are_reported(project: Project) -> None:
    online = online_rows(300)
    folder = Path(project.settings.online_log) / "ride_requests"
    folder.mkdir(parents=True)
    online.to_parquet(folder / "windows-20260101T000000000000Z--20260101T010000000000Z.parquet")
    bad = online.head(3).copy()
    bad.loc[0, ["window_start", "window_end"]] = [pd.Timestamp(END_US, unit="us", tz="UTC")] * 2
    bad.loc[1, "window_start"] = None
    bad.loc[2, ["window_start", "window_end"]] = [pd.Timestamp(START_US + n * MINUTE, unit="us", tz="UTC") for n in (5, 6)]
    bad.to_parquet(folder / "windows-20260101T000000000000Z--20260101T003000000000Z.parquet")
    bad.to_parquet(folder / "from-another-writer.parquet")  # claims no range: only its null window_start is stray
    spec = project.feature()
    read = read_online(spec, open_source(project.settings.online_log), START_US, START_US + 10 * MINUTE)  # a sub-range of the files
    failure = only_failure(validate_online(spec, read.rows, read.strays, no_null_keys(spec)))
    assert (failure.suite, failure.expectation) == (Suite.ONLINE, "expect_table_row_count_to_equal")
    assert failure.observed.startswith("3 rows, e.g. ")
    assert "2026-01-01T01:00:00Z in windows-20260101T000000000000Z--20260101T003000000000Z.parquet" in failure.observed
    assert "null in from-another-writer.parquet" in failure.observed


def test_windows_outside_a_checked_sub_range_are_not_strays(project: Project) -> None:
    folder = Path(project.settings.online_log) / "ride_requests"
    folder.mkdir(parents=True)
    online_rows(300).to_parquet(folder / "windows-20260101T000000000000Z--20260101T010000000000Z.parquet")
    spec = project.feature()
    read = read_online(spec, open_source(project.settings.online_log), START_US + 20 * MINUTE, START_US + 30 * MINUTE)
    assert 0 < len(read.rows) < 300 and len(read.strays) == 0
    report = validate_online(spec, read.rows, read.strays, no_null_keys(spec))
    assert report.passed, report.failed


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


def test_null_key_is_accepted_where_the_offline_result_has_null_keys(project: Project) -> None:
    online = online_rows(300)
    online.loc[[5, 6], "geohash6"] = None
    offline = online.head(10).copy()
    offline.loc[3, "geohash6"] = None  # the offline query emits NULL for events without coordinates
    spec = project.feature()
    report = validate_online(spec, online, NO_STRAYS, offline)
    assert report.passed, report.failed


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


def test_a_string_column_only_null_rules_read_reaches_great_expectations_as_its_null_mask(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Great Expectations fingerprints every frame it validates by hashing it whole: a string column costs a
    Python object a row there (most of the events suite's time at 200k events), its null mask 8 bytes."""
    import parity.quality

    given: list[pd.DataFrame] = []
    validate = parity.quality.validate

    def spy(suite: Suite, frame: pd.DataFrame, rules: list) -> list[FailedExpectation]:  # type: ignore[type-arg]
        given.append(frame)
        return validate(suite, frame, rules)

    monkeypatch.setattr(parity.quality, "validate", spy)
    events = ride_events(2_000)
    ids = events.column("event_id").to_pylist()
    ids[5] = None
    online = online_rows(300)
    online.loc[7, "geohash6"] = None
    report = check(project, with_column(events, "event_id", ids), online)
    events_frame, online_frame = (frame for frame in given if len(frame))
    assert events_frame["event_id"].dtype == np.float64 and online_frame["geohash6"].dtype == np.float64
    assert [f.observed for f in report.failed] == [
        "1 of 2000 rows unexpected (0.05%), e.g. None", "1 of 300 rows unexpected (0.333%), e.g. None"
    ]


def test_a_column_a_feature_expectation_reads_keeps_its_values_beside_its_null_rule(project: Project) -> None:
    spec = project.feature(
        """\
        expectations:
          - expectation: ExpectColumnValuesToMatchRegex
            kwargs: {column: event_id, regex: "^ev-"}
            on: events
        """
    )
    events = ride_events(2_000)
    ids = events.column("event_id").to_pylist()
    ids[3], ids[9] = None, "bad-id"
    report = check(project, with_column(events, "event_id", ids), online_rows(300), spec)
    assert [(f.expectation, f.unexpected_count) for f in report.failed] == [
        ("expect_column_values_to_not_be_null", 1), ("expect_column_values_to_match_regex", 1)
    ]
    assert "'bad-id'" in report.failed[1].observed
