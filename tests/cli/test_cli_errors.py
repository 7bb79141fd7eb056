"""Bad input gets one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
        capture_output=True, text=True, cwd=project, timeout=300, check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\n')
    return tmp_path


def assert_one_line_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_lint_passes_on_the_examples(project: Path) -> None:
    done = parity(project, "lint")
    assert done.returncode == 0, done.stderr
    assert "4 features ok" in done.stdout


def test_lint_names_file_and_unknown_key(project: Path) -> None:
    spec = project / "realtime_jobs" / "ride_requests.yaml"
    spec.write_text(spec.read_text() + "colour: red\n")
    done = parity(project, "lint")
    assert done.returncode == 2
    assert "realtime_jobs/ride_requests.yaml: colour: unknown key" in done.stderr


def test_lint_names_a_value_column_missing_from_the_sql(project: Path) -> None:
    sql = project / "offline_queries" / "ride_requests.sql"
    sql.write_text(sql.read_text().replace("AS requests", "AS n_requests"))
    done = parity(project, "lint")
    assert done.returncode == 2
    assert "offline_queries/ride_requests.sql" in done.stderr and "requests" in done.stderr


def test_lint_names_a_bad_window(project: Path) -> None:
    spec = project / "realtime_jobs" / "avg_eta.yaml"
    spec.write_text(spec.read_text().replace("window: {size: 5m}", "window: {size: 1m, slide: 5m}"))
    done = parity(project, "lint")
    assert done.returncode == 2
    assert "realtime_jobs/avg_eta.yaml: window: slide must not exceed size" in done.stderr


def test_malformed_yaml(project: Path) -> None:
    (project / "realtime_jobs" / "ride_requests.yaml").write_text("feature: [unclosed\n")
    done = parity(project, "stream", "ride_requests", "--start", "2026-11-26T08:00Z", "--end", "2026-11-26T09:00Z")
    assert_one_line_error(done, "realtime_jobs/ride_requests.yaml", "malformed YAML")


def test_unknown_feature(project: Path) -> None:
    done = parity(project, "stream", "nope", "--start", "2026-11-26T08:00Z", "--end", "2026-11-26T09:00Z")
    assert_one_line_error(done, "unknown feature 'nope'", "ride_requests")


def test_missing_event_log(project: Path) -> None:
    done = parity(project, "stream", "ride_requests", "--start", "2026-11-26T08:00Z", "--end", "2026-11-26T09:00Z")
    assert_one_line_error(done, str(project / "events"))


def test_bad_time(project: Path) -> None:
    done = parity(project, "check", "ride_requests", "--start", "yesterday", "--end", "2026-11-26T09:00Z")
    assert_one_line_error(done, "--start", "yesterday")


def test_check_unknown_feature_exits_2(project: Path) -> None:
    done = parity(project, "check", "nope", "--start", "2026-11-26T08:00Z", "--end", "2026-11-26T09:00Z")
    assert_one_line_error(done, "unknown feature 'nope'")


@pytest.mark.parametrize(
    "document",
    ["[" * 20_000 + "]" * 20_000, "- " * 20_000 + "x\n"],  # 40 KB each (an indented mapping this deep is 400 MB)
    ids=["flow", "block"],
)
def test_lint_names_a_spec_nested_too_deep(project: Path, document: str) -> None:
    (project / "realtime_jobs" / "ride_requests.yaml").write_text(document)
    done = parity(project, "lint")
    assert done.returncode == 2 and "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if "ride_requests.yaml" in line]
    assert len(lines) == 1 and "nested more than 100 levels deep" in lines[0], done.stderr
