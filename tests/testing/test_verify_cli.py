"""`parity verify` through the CLI, on a project whose event log holds 20 generated minutes (2026-11-26 08:00-08:20,
40 events a minute, seed 7: 804 events, one request delivered twice, nothing later than ride_requests' 2 minutes;
the newest arrival is 08:20:01).

Features: the examples, and `counted_requests`, ride_requests with a planted defect: its job counts every
delivery, so a duplicated request makes its cell one too high (ride_requests counts distinct event ids).
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parity.events import write_events
from parity.generate import generate_rides
from parity.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
START_US = 1_795_680_000_000_000  # 2026-11-26T08:00:00Z
MINUTE_US = 60_000_000
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("verify_project")
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    job = (root / "realtime_jobs" / "ride_requests.yaml").read_text()
    planted = job.replace("feature: ride_requests", "feature: counted_requests").replace(
        'requests: "len(event_ids)"', "requests: event_ids").replace(
        "fn: {type: apache_beam.transforms.combiners.ToSetCombineFn, config: {}}", "fn: count")
    assert planted.count("counted_requests") == 1 and "fn: count" in planted
    (root / "realtime_jobs" / "counted_requests.yaml").write_text(planted)
    shutil.copy(root / "offline_queries" / "ride_requests.sql", root / "offline_queries" / "counted_requests.sql")
    (root / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n'
                                         'quarantine = "quarantine"\nreports = "reports"\n'
                                         'database = "sqlite:///parity.db"\nspark_master = "local[2]"\n')
    settings = load_settings(root)
    write_events(generate_rides(START_US, 20 * MINUTE_US, 40, seed=7), settings.event_log, "ride_events",
                 settings.quarantine)
    return root


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                          capture_output=True, text=True, cwd=project, timeout=600, check=False)


def on_a_terminal(project: Path, *args: str) -> tuple[int, str]:
    """Run `parity` with stdout and stderr on a pseudo-terminal; its exit code and what the terminal showed."""
    leader, follower = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    done = subprocess.Popen([sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
                            stdout=follower, stderr=follower, stdin=subprocess.DEVNULL, cwd=project, env=env)
    os.close(follower)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return done.wait(timeout=600), ANSI.sub("", shown.decode(errors="replace")).replace("\r", "\n")


def test_verify_streams_and_checks_the_newest_settled_windows_with_progress_on_a_terminal(project: Path) -> None:
    code, shown = on_a_terminal(project, "verify", "ride_requests", "--hours", "1")
    assert code == 0, shown
    assert "✓ read " in shown and "✓ streamed " in shown and "✓ checked " in shown  # the stages, ticked off
    assert "ride_requests: PASSED  agreement 100.000%" in shown
    # The newest arrival is 08:20:01; the 1-minute windows are final up to the one starting 08:17 (its end + 2m
    # lateness + 1s), and the log begins at 08:00, so the hour asked for holds 18 minutes.
    assert "windows: 2026-11-26T08:00:00Z .. 2026-11-26T08:18:00Z" in shown
    assert "the event log starts at 2026-11-26T08:00:00Z: 18m of the 1h asked" in shown
    assert "causes of divergent cells: none" in shown
    report = Path(re.search(r"report: (\S+\.html)", shown).group(1))  # type: ignore[union-attr]
    assert report.is_file() and report.parent == project / "reports" / "ride_requests"
    assert list((project / "online" / "ride_requests").rglob("*.parquet"))  # streamed into the project's online log


def test_verify_of_a_wrong_job_exits_1_with_the_causes_in_json_and_no_progress(project: Path) -> None:
    done = parity(project, "verify", "counted_requests", "--format", "json")
    assert done.returncode == 1, done.stderr
    assert "✓" not in done.stdout + done.stderr and "⠋" not in done.stdout + done.stderr
    [line] = done.stdout.splitlines()
    summary = json.loads(line)
    assert summary["verdict"] == "breached" and summary["causes"]["unexplained"] > 0
    assert summary["value_mismatch"] == summary["causes"]["unexplained"] == 1  # the duplicated request's cell
    assert Path(summary["report"]).is_file() and summary["streamed_events"] > 0


@pytest.mark.parametrize(("args", "words"), [
    (("verify", "ride_requests", "--hours", "0"), "--hours: 0 must be a whole number of hours"),
    (("verify", "no_such_feature"), "unknown feature 'no_such_feature'"),
    (("verify", "ride_requests", "--format", "yaml"), "--format: 'yaml' is not one of text, markdown, html, json"),
])
def test_verify_refuses_bad_input_in_one_line(project: Path, args: tuple[str, ...], words: str) -> None:
    done = parity(project, *args)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert words in line


def test_verify_of_an_empty_log_says_to_generate_events(tmp_path: Path) -> None:
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\ndatabase = "sqlite:///p.db"\n')
    done = parity(tmp_path, "verify", "ride_requests")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "events/ride_events" in done.stderr and "parity generate" in done.stderr


def test_verify_before_any_window_is_final_says_so_in_one_line(tmp_path: Path) -> None:
    """One generated minute: the newest arrival is about 08:01, and the first window is final at 08:03:01."""
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\ndatabase = "sqlite:///p.db"\n')
    settings = load_settings(tmp_path)
    write_events(generate_rides(START_US, MINUTE_US, 40, seed=7), settings.event_log, "ride_events", settings.quarantine)
    done = parity(tmp_path, "verify", "ride_requests")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "no events in the windows of ride_requests final so far" in line
    assert "the newest arrival is 2026-11-26T08:01" in line and "its end + 121s" in line
