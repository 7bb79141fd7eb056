"""`parity history` and `parity metrics` after a real run: what they show is what the ledger and incidents hold.

The metrics are parsed with prometheus_client's own text-format parser, from stdout, from `--output FILE` and
from a scrape of `--serve PORT` on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from scheduled_project import FEATURE, HOURS, Logs, make_project
from stored import ledger_rows

from parity import ledger
from parity.alerts import store
from parity.alerts.incidents import Incident, IncidentStatus
from parity.alerts.rules import Condition, Severity
from parity.history import SPARKS
from parity.result import Cause
from parity.schedule import grid_hours, run_feature
from parity.settings import Settings, load_settings
from parity.spec import load_feature
from parity.units import US, iso, parse_duration


@pytest.fixture(scope="module")
def sqlite_project(tmp_path_factory: pytest.TempPathFactory, generated_logs: Logs) -> Settings:
    """One project for the module: its tests only read what `checked` wrote."""
    root = tmp_path_factory.mktemp("history")
    return load_settings(make_project(root / "project", generated_logs, f"sqlite:///{root / 'parity.db'}"))


@pytest.fixture(scope="module")
def checked(sqlite_project: Settings) -> list[ledger.HourRecord]:
    """Both hours of ride_requests checked, and one open incident for it."""
    step = parse_duration("1h")
    run_feature(load_feature(FEATURE, sqlite_project.project), sqlite_project, grid_hours(HOURS[0], HOURS[1] + step, step))
    engine = ledger.connect(sqlite_project.database)
    with engine.begin() as conn:
        store.save_incident(conn, Incident("i1", FEATURE, "page_on_breach", IncidentStatus.OPEN, Condition.BREACH,
                                           Severity.CRITICAL, "breach", 1, 1, 1, None, 0, 1, "r"), new=True)
    engine.dispose()
    rows = ledger_rows(sqlite_project)
    assert [row.start_us for row in rows] == list(HOURS)
    return rows


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(settings.project)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_history_json_lists_each_checked_hour_from_the_ledger(sqlite_project: Settings,
                                                              checked: list[ledger.HourRecord]) -> None:
    done = cli(sqlite_project, "history", FEATURE, "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [
        {"start": iso(r.start_us), "end": iso(r.end_us), "agreement": r.agreement, "verdict": r.verdict.value,
         "causes": {c.value: n for c, n in r.causes.items()}, "run_id": r.run_id, "config_hash": r.config_hash,
         "earlier": []}
        for r in checked
    ]
    newest = cli(sqlite_project, "history", FEATURE, "--since", "1h", "--format", "json")
    assert [hour["start"] for hour in json.loads(newest.stdout)] == [iso(HOURS[1])]  # back from the newest hour


def test_history_text_has_a_sparkline_and_a_line_per_hour(sqlite_project: Settings,
                                                          checked: list[ledger.HourRecord]) -> None:
    lines = cli(sqlite_project, "history", FEATURE).stdout.splitlines()
    assert len(lines[1]) == 2 and set(lines[1]) <= set(SPARKS)
    assert [line.split()[0] for line in lines[2:]] == [iso(h) for h in HOURS]
    assert [line.split()[1] for line in lines[2:]] == [f"{r.agreement:.3%}" for r in checked]


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def expected(rows: list[ledger.HourRecord]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    newest = rows[-1]
    label = (("feature", FEATURE),)
    return {
        ("parity_agreement", label): newest.agreement,
        ("parity_cells_compared", label): newest.compared,
        ("parity_passed", label): float(newest.verdict.value == "passed"),
        ("parity_checked_hour_start_timestamp_seconds", label): HOURS[1] / US,
        **{("parity_cells", (("cause", cause.value), ("feature", FEATURE))): newest.causes[cause] for cause in Cause},
        ("parity_last_check_timestamp_seconds", label): max(r.recorded_at_us for r in rows) / US,
        ("parity_open_incidents", label): 1.0,
    }


def test_metrics_parse_as_prometheus_text_with_the_newest_hour(sqlite_project: Settings,
                                                                checked: list[ledger.HourRecord]) -> None:
    done = cli(sqlite_project, "metrics")
    assert done.returncode == 0, done.stderr
    assert samples(done.stdout) == expected(checked)
    target = sqlite_project.project / "textfile" / "parity.prom"
    assert cli(sqlite_project, "metrics", "--output", str(target)).returncode == 0
    assert target.read_text() == done.stdout


def test_metrics_serve_answers_a_scrape_on_loopback(sqlite_project: Settings,
                                                    checked: list[ledger.HourRecord]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "parity.cli", "metrics", "--serve", str(port), "--project",
                               str(sqlite_project.project)], stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                    body, kind = answer.read().decode(), answer.headers["Content-Type"]
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read() if server.stderr else ""
                time.sleep(0.2)
        assert kind.startswith("text/plain; version=0.0.4")
        assert samples(body) == expected(checked)
    finally:
        server.kill()
        server.communicate(timeout=30)


def test_metrics_of_an_empty_store_are_valid_and_empty(tmp_path: Path) -> None:
    project = tmp_path / "empty"
    project.mkdir()
    (project / "pyproject.toml").write_text(f'[tool.parity]\ndatabase = "sqlite:///{tmp_path / "p.db"}"\n')
    done = subprocess.run([sys.executable, "-m", "parity.cli", "metrics", "--project", str(project)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert samples(done.stdout) == {}
