"""One unreadable file fails its own feature's check, never the others': `parity check good broken --alert`.

The project holds `clean_rides()` (hour 10:00 of 2024-06-03) and, in the 09:00 partition, an event file cut in
half: an old file no check of 10:00 reads. `ride_requests` is streamed for real; `broken` (ride_requests under
another name) has an online log whose one file is cut in half. The CLI runs in this process (`parity.cli.main`),
so its Spark check uses the run's one session.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest
import sqlalchemy as sa
from check_project import END, RIDE_EVENTS, START, clean_rides, make_project
from pyspark.sql import SparkSession

from parity.alerts import open_incidents
from parity.alerts.rules import Condition
from parity.alerts.store import check_results
from parity.check import read_online
from parity.cli import main
from parity.errors import EXIT_ERROR, DataError
from parity.online import open_source
from parity.realtime import run_stream
from parity.settings import Settings
from parity.spec import load_feature

RULE = """description: failed checks and breaches of every feature
features: ["*"]
when:
  breach: critical
  failed: error
channels:
  - type: console
"""


@dataclass(frozen=True)
class Run:
    settings: Settings
    code: int
    err: str
    broken_file: Path
    broken_event_file: Path
    warnings: tuple[str, ...]  # what parity logged at WARNING or above


def cut_in_half(file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Iterator[Run]:
    settings = make_project(tmp_path_factory.mktemp("isolation"), clean_rides())
    spec_text = (settings.realtime_jobs / "ride_requests.yaml").read_text()
    (settings.realtime_jobs / "broken.yaml").write_text(spec_text.replace("feature: ride_requests", "feature: broken"))
    (settings.offline_queries / "broken.sql").write_text((settings.offline_queries / "ride_requests.sql").read_text())
    (settings.alerts).mkdir(exist_ok=True)
    (settings.alerts / "page.yaml").write_text(RULE)

    events = pa.Table.from_pylist(clean_rides(), schema=RIDE_EVENTS)
    run_stream(load_feature("ride_requests", settings.project), settings, events)
    (broken,) = run_stream(load_feature("broken", settings.project), settings, events).files
    cut_in_half(broken)

    old_hour = settings.event_log / "ride_events" / "date=2024-06-03" / "hour=09"
    old_hour.mkdir(parents=True)
    old_file = old_hour / "part-old.parquet"
    old_file.write_bytes(next((settings.event_log / "ride_events").rglob("part-*.parquet")).read_bytes()[:300])

    level = logging.getLogger().level
    warnings = _Records()
    logging.getLogger("parity").addHandler(warnings)
    argv = ["parity", "check", "broken", "ride_requests", "--start", START, "--end", END, "--alert",
            "--project", str(settings.project)]
    err = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as exit_info, \
                redirect_stderr(err), redirect_stdout(io.StringIO()):
            patch.setattr(sys, "argv", argv)
            main()
    finally:
        logging.getLogger().setLevel(level)  # the CLI quiets the root logger; give it back
        logging.getLogger("parity").removeHandler(warnings)
    assert isinstance(exit_info.value.code, int)
    yield Run(settings, exit_info.value.code, err.getvalue(), broken, old_file, tuple(warnings.lines))


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_run_exits_2_with_no_traceback(run: Run) -> None:
    assert run.code == EXIT_ERROR, run.err
    assert "Traceback" not in run.err


def test_the_broken_feature_fails_with_one_line_naming_its_file(run: Run) -> None:
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run.err
    assert errors[0].startswith(f"error: {run.broken_file}: unreadable Parquet file")


def test_the_other_feature_is_checked_and_reported_after_it(run: Run) -> None:
    reports = sorted((run.settings.reports / "ride_requests").glob("*.json"))
    assert len(reports) == 1, list(run.settings.reports.iterdir()) if run.settings.reports.is_dir() else "no reports"
    report = json.loads(reports[0].read_text())
    assert report["verdict"] == "passed" and report["compared"] > 0


def test_both_outcomes_are_recorded(run: Run) -> None:
    engine = sa.create_engine(run.settings.database)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(check_results.c.feature, check_results.c.outcome)).all()
    finally:
        engine.dispose()
    assert sorted((feature, outcome) for feature, outcome in rows) == [("broken", "failed"), ("ride_requests", "passed")]


def test_the_broken_feature_opens_a_failed_incident(run: Run) -> None:
    incidents = open_incidents(run.settings)
    assert [(i.feature, i.condition) for i in incidents] == [("broken", Condition.FAILED)]
    assert str(run.broken_file) in incidents[0].summary


def test_an_unreadable_event_file_of_another_hour_is_skipped_with_a_warning(run: Run) -> None:
    naming = [line for line in run.warnings if str(run.broken_event_file) in line]
    assert naming, run.warnings  # one per check that looked for the newest arrival


def test_reading_an_unreadable_online_file_is_a_data_error_naming_it(run: Run) -> None:
    spec = load_feature("broken", run.settings.project)
    with pytest.raises(DataError) as caught:
        read_online(spec, open_source(run.settings.online_log), 0, 2**62)
    assert caught.value.path == str(run.broken_file)


def test_hidden_files_of_the_online_log_are_not_output(run: Run) -> None:
    spec = load_feature("ride_requests", run.settings.project)
    folder = Path(run.settings.online_log) / "ride_requests"
    whole = read_online(spec, open_source(run.settings.online_log), 0, 2**62).rows
    assert len(whole) > 0
    hidden = [where / name for where in (folder, folder / "date=2024-06-03" / "hour=10")
              for name in (".parity-tmp-elsewhere-1-0-half.parquet", "_SUCCESS.parquet")]
    for path in hidden:
        path.write_bytes(b"PAR1 half-written")
    try:
        assert read_online(spec, open_source(run.settings.online_log), 0, 2**62).rows.equals(whole)
    finally:
        for path in hidden:
            path.unlink()
