"""A real check (Beam stream, Spark recompute, `parity check --alert` in a subprocess) writes the HTML report beside
the JSON and Markdown, the index, and an alert that links to the report; `parity report` renders it again.

The project is tests/check's late project (`late_rides()`, see tests/check/conftest.py) checked on
`requests_but_one_cell`, whose job drops every row of one geohash6 cell (unexplained, missing online) and which
also sees the late arrivals planted there (late_arrival), with regions and `report_base_url` in its settings and
an alert rule writing to a JSONL file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "check"))
from check_project import DROPPED_CELL, END, START, Project, late_rides, make_project
from pyspark.sql import SparkSession

from parity.errors import EXIT_BREACH, EXIT_ERROR
from parity.settings import load_settings

FEATURE = "requests_but_one_cell"
BASE_URL = "https://reports.example.test/parity"
ENV = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def _parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)], check=False,
                          capture_output=True, text=True, cwd=project, env=ENV, timeout=600)


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> tuple[Path, dict[str, Any], str]:
    root = tmp_path_factory.mktemp("report_project")
    make_project(root, late_rides())
    with (root / "pyproject.toml").open("a") as handle:
        handle.write(f'report_base_url = "{BASE_URL}/"\nregions = {{ bay_area = ["9q8", "9q9"] }}\n')
    (root / "alerts").mkdir()
    (root / "alerts" / "page.yaml").write_text(
        'features: ["*"]\nwhen: {breach: critical}\nchannels:\n  - type: jsonl\n    path: alerts.jsonl\n'
    )
    project = Project(load_settings(root), late_rides())
    project.stream(FEATURE)
    done = _parity(root, "check", FEATURE, "--start", START, "--end", END, "--alert")
    assert done.returncode == EXIT_BREACH, done.stderr
    (json_path,) = (root / "reports" / FEATURE).glob("*.json")
    return root, json.loads(json_path.read_text()), done.stderr


def test_every_check_writes_the_html_report_beside_the_json_and_markdown(checked: tuple[Path, dict[str, Any], str]) -> None:
    root, body, stderr = checked
    folder = root / "reports" / FEATURE
    html = folder / f"{body['run_id']}.html"
    assert html.is_file() and (folder / f"{body['run_id']}.md").is_file()
    assert str(html) in stderr  # the check names the HTML report
    page = html.read_text()
    assert 'id="range-chart"' in page and DROPPED_CELL in page and "bay_area" in page
    index = (root / "reports" / "index.html").read_text()
    assert f'href="{FEATURE}/{body["run_id"]}.html"' in index


def test_the_result_carries_per_window_and_per_geohash_counts_that_add_up(checked: tuple[Path, dict[str, Any], str]) -> None:
    _, body, _ = checked
    windows = body["windows"]
    assert len(windows) == 10 and [w["window_start"] for w in windows] == sorted(w["window_start"] for w in windows)
    assert sum(w["compared"] for w in windows) == body["compared"]
    assert sum(w["matched"] for w in windows) == body["matched"]
    for cause, count in body["causes"].items():
        assert sum(w["causes"][cause] for w in windows) == count
    assert body["causes"]["unexplained"] > 0 and body["causes"]["late_arrival"] > 0
    cells = body["geohash_cells"]
    assert cells["column"] == "geohash6" and sum(cells["cells"]) == body["compared"]
    dropped = cells["keys"].index(DROPPED_CELL)
    assert cells["matched"][dropped] == 0 and cells["unexplained"][dropped] == cells["cells"][dropped] == 10
    assert sum(cells["unexplained"]) == body["causes"]["unexplained"]


def test_the_alert_links_to_the_report_of_the_check(checked: tuple[Path, dict[str, Any], str]) -> None:
    root, body, _ = checked
    (line,) = (root / "alerts.jsonl").read_text().splitlines()
    assert json.loads(line)["report_url"] == f"{BASE_URL}/{FEATURE}/{body['run_id']}.html"


def test_parity_report_renders_the_latest_report_again_and_prints_its_path(checked: tuple[Path, dict[str, Any], str]) -> None:
    root, body, _ = checked
    html = root / "reports" / FEATURE / f"{body['run_id']}.html"
    html.unlink()
    done = _parity(root, "report", FEATURE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(html) and html.is_file()
    again = _parity(root, "report")
    assert again.returncode == 0 and again.stdout.strip() == str(root / "reports" / "index.html")


def test_parity_report_of_an_unknown_run_is_one_line_and_exit_2(checked: tuple[Path, dict[str, Any], str]) -> None:
    root, _, _ = checked
    done = _parity(root, "report", FEATURE, "--run", "nosuchrun")
    assert done.returncode == EXIT_ERROR
    assert done.stderr.count("\n") == 1 and "nosuchrun" in done.stderr and "Traceback" not in done.stderr
