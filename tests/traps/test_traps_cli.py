"""`parity lint` with porting traps: warnings on stdout, the exit code unchanged unless --strict."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from parity.cli import app

PLANTED = Path(__file__).resolve().parent / "planted"
REPO = Path(__file__).resolve().parents[2]


def test_lint_on_the_shipped_project_prints_no_warning(tmp_path: Path) -> None:
    for folder in ("offline_queries", "realtime_jobs"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    done = subprocess.run(
        [sys.executable, "-m", "parity.cli", "lint", "--strict", "--project", str(tmp_path)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stdout + done.stderr
    assert done.stdout.strip() == "4 features ok"


def test_lint_prints_one_warning_per_planted_trap_and_exits_0() -> None:
    done = CliRunner().invoke(app, ["lint", "--project", str(PLANTED)])
    assert done.exit_code == 0, done.output
    lines = done.stdout.splitlines()
    warnings = [line for line in lines if ": warning: " in line]
    assert len(warnings) == 12
    assert "offline_queries/count_nulls.sql:6: warning: count_nulls: COUNT(eta_seconds) skips rows whose eta_seconds " \
           "is null" in warnings[3]
    assert warnings[3].endswith("[job: realtime_jobs/count_nulls.yaml transform[2] Combine config.combine.quoted]; "
                                "fix: drop rows whose eta_seconds is None before the job counts them, "
                                "or write COUNT(*) if they count")
    assert lines[-1] == "12 features ok; 12 porting-trap warnings"


def test_lint_strict_exits_1_on_a_trap() -> None:
    done = CliRunner().invoke(app, ["lint", "--strict", "--project", str(PLANTED)])
    assert done.exit_code == 1, done.output


def test_lint_names_an_unparsable_python_job_and_exits_2(tmp_path: Path) -> None:
    shutil.copytree(PLANTED, tmp_path, dirs_exist_ok=True)
    (tmp_path / "realtime_jobs" / "window.py").write_text("class Requests(:\n")
    done = CliRunner().invoke(app, ["lint", "--project", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert "realtime_jobs/window.yaml: transform_ref: realtime_jobs/window.py: line 1: " in done.stderr
    assert "porting-trap" not in done.stdout  # the summary is not printed over a problem


def test_lint_names_the_sql_line_of_a_window_that_is_not_the_specs(tmp_path: Path) -> None:
    # The query's window against the spec's is lint_query's check (an error, exit 2), not a trap warning.
    shutil.copytree(PLANTED, tmp_path, dirs_exist_ok=True)
    sql = tmp_path / "offline_queries" / "window.sql"
    sql.write_text(sql.read_text().replace("'1 minute'", "'2 minutes'"))
    done = CliRunner().invoke(app, ["lint", "--project", str(tmp_path)])
    assert done.exit_code == 2, done.output
    assert done.stderr.splitlines() == [
        "offline_queries/window.sql: line 9: WINDOW(event_time, '2 minutes') is not the spec's window (1m tumbling)"
    ]
