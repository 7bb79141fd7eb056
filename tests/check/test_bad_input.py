"""Bad input: `parity check` exits 2 with one `error:` line on stderr (never a traceback, never a verdict).

The CLI runs in this process (`parity.cli.main` with its argv), so the Spark failure uses the run's one
session. The project holds `clean_rides()` (newest arrival about 10:16:41) and no stream: the online
logs below are written by hand.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from check_project import CELLS, END, START, clean_rides, make_project, us
from pyspark.sql import SparkSession

from parity.cli import main
from parity.errors import EXIT_ERROR
from parity.settings import Settings

BAD_SQL = """SELECT
  geohash(lat, lon, 6) AS geohash6,
  window.start AS window_start,
  window.end AS window_end,
  COUNT(DISTINCT CAST(event_id AS INT)) AS requests
FROM ride_events
WHERE event_type = 'ride_requested'
GROUP BY geohash(lat, lon, 6), window(event_time, '1 minute')
"""


def online_rows(values: dict[str, pa.Array]) -> pa.Table:
    """One pane of cell (CELLS[0], 10:00) with the given key and value columns."""
    start = dt.datetime(2024, 6, 3, 10, 0, tzinfo=dt.UTC)
    stamp = pa.timestamp("us", tz="UTC")
    return pa.table(
        {
            **values,
            "window_start": pa.array([us(start)], pa.int64()).cast(stamp),
            "window_end": pa.array([us(start + dt.timedelta(minutes=1))], pa.int64()).cast(stamp),
            "emitted_at": pa.array([us(start + dt.timedelta(minutes=1))], pa.int64()).cast(stamp),
            "pane_timing": ["ON_TIME"],
            "pane_index": pa.array([0], pa.int64()),
        }
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Settings:
    settings = make_project(tmp_path_factory.mktemp("bad_input"), clean_rides())
    spec = (settings.realtime_jobs / "ride_requests.yaml").read_text()
    (settings.realtime_jobs / "bad_sql.yaml").write_text(spec.replace("feature: ride_requests", "feature: bad_sql"))
    (settings.offline_queries / "bad_sql.sql").write_text(BAD_SQL)
    for feature, values in (
        ("bad_sql", {"geohash6": [CELLS[0]], "requests": pa.array([1], pa.int64())}),
        ("ride_requests", {"geohash6": [CELLS[0]]}),  # no `requests` column
    ):
        (Path(settings.online_log) / feature).mkdir(parents=True)
        pq.write_table(online_rows(values), Path(settings.online_log) / feature / "panes.parquet")
    return settings


def parity_check(project: Settings, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run `parity check ARGS --project P` in-process; (exit code, the one `error:` line on stderr)."""
    level = logging.getLogger().level
    try:
        with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as exit_info:
            patch.setattr(sys, "argv", ["parity", "check", *args, "--project", str(project.project)])
            main()
    finally:
        logging.getLogger().setLevel(level)  # the CLI quiets the root logger; give it back
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert isinstance(exit_info.value.code, int)
    return exit_info.value.code, errors[0]


def test_unknown_feature(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = parity_check(project, capsys, "no_such_feature", "--start", START, "--end", END)
    assert code == EXIT_ERROR
    assert error.startswith("error: unknown feature 'no_such_feature'; known features: ")


def test_range_without_events(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = parity_check(
        project, capsys, "ride_requests", "--start", "2024-06-03T08:00:00Z", "--end", "2024-06-03T08:10:00Z"
    )
    assert code == EXIT_ERROR
    assert error == (
        f"error: {Path(project.event_log) / 'ride_events'}: "
        "no events between 2024-06-03T08:00:00Z and 2024-06-03T08:10:00Z"
    )


def test_online_log_with_missing_columns(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, error = parity_check(project, capsys, "ride_requests", "--start", START, "--end", END)
    assert code == EXIT_ERROR
    assert error == f"error: {Path(project.online_log) / 'ride_requests' / 'panes.parquet'}: online log lacks column(s) requests"


def test_sql_failing_in_spark_shows_sparks_message_shortened(
    project: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    code, error = parity_check(project, capsys, "bad_sql", "--start", START, "--end", END)
    assert code == EXIT_ERROR
    # A column the events lack never reaches Spark (`parity.feature`); a query Spark fails at run time does.
    assert error.startswith("error: offline query of bad_sql: [CAST_INVALID_INPUT]"), error
    assert len(error) <= len("error: offline query of bad_sql: ") + 300


def test_range_not_yet_settled(project: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    # 1-minute windows with 2 minutes of lateness: the newest arrival (10:16:41) settles windows up to 10:13.
    code, error = parity_check(
        project, capsys, "ride_requests", "--start", "2024-06-03T10:15:00Z", "--end", "2024-06-03T10:25:00Z"
    )
    assert code == EXIT_ERROR
    assert "range 2024-06-03T10:15:00Z..2024-06-03T10:25:00Z is not yet settled" in error
    assert "newest arrival is 2024-06-03T10:16:41.688706Z" in error
