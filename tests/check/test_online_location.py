"""`online_log` is a location, resolved through the online-source registry at the edge.

`online_log = "file:///absolute/dir"` in `[tool.parity]` works for `stream`, `check`, `run` and `replay` (the
files land in, and are read from, that folder); `online_log = "kafka://x"` stops each of them with one line and
exit 2 naming the known schemes. The `check` runs as a subprocess, so its Spark JVM starts fresh: its stderr has
no WARN line of Spark or log4j (they are in `data/spark.log`). `run` and `replay` run in this process
(`parity.cli.main`), on the test run's one Spark session.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from parity.cli import main
from parity.events import write_events
from parity.generate import generate_rides
from parity.settings import load_settings
from parity.units import parse_duration

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-11-26T08:00:00Z", "2026-11-26T08:10:00Z"
RANGE = ("--start", START, "--end", END)


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                          capture_output=True, text=True, cwd=project, timeout=600, check=False)


def in_process(project: Path, *args: str) -> tuple[int, str]:
    import logging

    level = logging.getLogger().level
    err = io.StringIO()
    try:
        with pytest.MonkeyPatch.context() as patch, pytest.raises(SystemExit) as done, redirect_stderr(err), \
                redirect_stdout(io.StringIO()):
            patch.setattr(sys, "argv", ["parity", *args, "--project", str(project)])
            main()
    finally:
        logging.getLogger().setLevel(level)  # the CLI quiets the root logger; give it back
    assert isinstance(done.value.code, int)
    return done.value.code, err.getvalue()


def project_with(root: Path, online_log: str) -> Path:
    import shutil

    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text(
        f'[tool.parity]\nevent_log = "events"\nonline_log = "{online_log}"\nspark_master = "local[2]"\n')
    return root


@pytest.fixture(scope="module")
def url_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("url_project")
    folder = tmp_path_factory.mktemp("online_elsewhere")
    project = project_with(root, folder.as_uri())
    settings = load_settings(project)
    from parity.cli import parse_time

    write_events(generate_rides(parse_time(START, "--start"), parse_duration("20m"), 30, seed=5), settings.event_log,
                 "ride_events", settings.quarantine)
    yield project, folder


def test_a_file_url_is_kept_as_a_location_in_the_settings(url_project: tuple[Path, Path]) -> None:
    project, folder = url_project
    assert load_settings(project).online_log == folder.as_uri() == f"file://{folder}"


def test_stream_check_run_and_replay_use_the_folder_a_file_url_names(url_project: tuple[Path, Path],
                                                                     spark: SparkSession) -> None:
    project, folder = url_project
    code, err = in_process(project, "stream", "ride_requests", *RANGE, "--mode", "fast")
    assert code == 0, err
    assert list((folder / "ride_requests").rglob("*.parquet")) and not (project / "file:").exists()

    checked = parity(project, "check", "ride_requests", *RANGE, "--format", "json")
    assert checked.returncode == 0, checked.stderr
    assert '"verdict": "passed"' in checked.stdout
    spark_lines = [line for line in checked.stderr.splitlines() if " WARN " in f" {line} " or "log4j" in line]
    assert spark_lines == [], checked.stderr
    assert (project / "data" / "spark.log").is_file()  # where the JVM's own lines went

    code, err = in_process(project, "run", "ride_requests", "--since", "1h", "--step", "10m")
    assert code == 0, err
    code, err = in_process(project, "replay", "ride_requests", *RANGE)
    assert code == 0, err
    assert list((folder / "_replays" / "ride_requests").rglob("*.parquet"))


@pytest.mark.parametrize("command", [
    ("stream", "ride_requests", *RANGE),
    ("check", "ride_requests", *RANGE),
    ("run", "ride_requests", "--since", "24h"),
    ("replay", "ride_requests", *RANGE),
])
def test_an_unknown_scheme_is_one_line_naming_the_known_ones(tmp_path: Path, command: tuple[str, ...]) -> None:
    done = parity(project_with(tmp_path, "kafka://x"), *command)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert errors[0].startswith("error: kafka://x: no online source for scheme 'kafka'; known: "), errors
    assert {"file", "path"} <= set(errors[0].rpartition("known: ")[2].split(", ")), errors
