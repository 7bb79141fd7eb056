"""A feature is loaded once, and what protects Spark runs before Spark starts, on every path.

A query whose window is not the spec's (`window(event_time, '1 microsecond')`: millions of windows per event, the
job the fuzz corpus found runs Spark out of memory) is refused by `lint`, `check`, `run`, `backfill` and `replay`
with one line and exit 2, in under 5 seconds, and no Spark JVM started (a quiet session would have created
`data/spark.log`); `parity.testing.assert_parity` refuses it before its stream runs. A column the events lack is
refused the same way, with the query's file, line and column.
"""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parity.errors import QueryError

REPO = Path(__file__).resolve().parents[2]
SQL = "offline_queries/ride_requests.sql"
HOUR = ("--start", "2024-05-01T10:00:00Z", "--end", "2024-05-01T11:00:00Z")


def parity(project: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """The command's result and the CPU seconds it used: a Spark JVM's start alone takes more than 5 (measured
    as CPU, not wall time, so that a busy machine does not fail the test)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                          capture_output=True, text=True, cwd=project, timeout=120, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return done, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n')
    return tmp_path


@pytest.fixture
def microsecond_window(project: Path) -> Path:
    sql = project / SQL
    sql.write_text(sql.read_text().replace("'1 minute'", "'1 microsecond'"))
    return project


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    assert "Traceback" not in done.stderr, done.stderr
    return [line for line in done.stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize("command", [
    ("lint",),
    ("check", "ride_requests", *HOUR),
    ("run", "ride_requests", "--since", "24h"),
    ("backfill", "ride_requests", *HOUR),
    ("replay", "ride_requests", *HOUR),
])
def test_a_query_window_not_the_specs_is_refused_before_spark_starts(microsecond_window: Path,
                                                                     command: tuple[str, ...]) -> None:
    done, seconds = parity(microsecond_window, *command)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = error_lines(done) if command[0] != "lint" else done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert SQL in lines[0] and "'1 microsecond'" in lines[0] and "is not the spec's window (1m tumbling)" in lines[0]
    assert seconds < 5, f"{command[0]} took {seconds:.1f} CPU seconds"
    assert not (microsecond_window / "data" / "spark.log").exists(), "a Spark JVM was started"
    assert not (microsecond_window / "online").exists(), "a stream was run"


def test_assert_parity_refuses_the_query_before_its_stream_runs(microsecond_window: Path, tmp_path: Path,
                                                                ride_event: Callable[..., dict[str, Any]]) -> None:
    import datetime as dt

    from parity.testing import assert_parity

    frame = [ride_event("r1", dt.datetime(2024, 5, 1, 10, 0, 5, tzinfo=dt.UTC), "ride_requested")]
    started = time.process_time()
    with pytest.raises(QueryError, match=r"'1 microsecond'.*is not the spec's window"):
        assert_parity("ride_requests", frame, project=microsecond_window, workdir=tmp_path / "work")
    assert time.process_time() - started < 5
    assert not (tmp_path / "work" / "online").exists(), "the stream ran"


def test_a_column_the_events_lack_is_refused_with_file_line_and_col_before_spark(
    project: Path, event_log_writer: Callable[..., None], ride_event: Callable[..., dict[str, Any]]
) -> None:
    import datetime as dt

    event_log_writer(project / "events", "ride_events",
                     [ride_event("r1", dt.datetime(2024, 5, 1, 10, 0, 5, tzinfo=dt.UTC), "ride_requested")])
    sql = project / SQL
    sql.write_text(sql.read_text().replace("COUNT(DISTINCT event_id)", "COUNT(DISTINCT event_idd)"))
    for command in (("lint",), ("check", "ride_requests", *HOUR)):
        done, seconds = parity(project, *command)
        assert done.returncode == 2, done.stdout + done.stderr
        assert f"{SQL}:7:26: Column 'event_idd' could not be resolved; did you mean event_id?" in done.stderr
        assert seconds < 5 and not (project / "data" / "spark.log").exists()


def test_lint_reports_every_finding_of_sqllint_as_file_line_col(
    project: Path, event_log_writer: Callable[..., None], ride_event: Callable[..., dict[str, Any]]
) -> None:
    import datetime as dt

    event_log_writer(project / "events", "ride_events",
                     [ride_event("r1", dt.datetime(2024, 5, 1, 10, 0, 5, tzinfo=dt.UTC), "ride_requested")])
    sql = project / SQL
    sql.write_text(sql.read_text().replace("geohash(lat, lon, 6)", "geohsh(lat, lon, 6)"))
    done, _ = parity(project, "lint")
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert [line.split(":")[1] for line in lines] == ["4", "10"]  # both calls, by line
    assert all(re.fullmatch(rf"{SQL}:\d+:\d+: unknown function geohsh\(\); did you mean geohash\(\)\?", line)
               for line in lines), lines
