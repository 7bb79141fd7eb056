"""`parity stream --mode fast|faithful` through the real CLI: the default mode is chosen by size and said on stderr,
both modes write the same ON_TIME and final values into the online log, a bad mode is a one-line error."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-11-26T07:50:00Z", "2026-11-26T08:15:00Z"  # two hours of windows: two chunks


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
        capture_output=True, text=True, cwd=project, timeout=600, check=False,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("modes_project")
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n')
    done = parity(root, "generate", "--start", START, "--duration", "30m", "--rate", "60", "--seed", "5")
    assert done.returncode == 0, done.stderr
    return root


def values(folder: Path) -> tuple[dict[Any, Any], dict[Any, Any]]:
    rows = sorted(ds.dataset(folder, format="parquet", exclude_invalid_files=True).to_table().to_pylist(),
                  key=lambda r: r["pane_index"])
    on_time = {(r["geohash6"], r["window_start"]): r["requests"] for r in rows if r["pane_timing"] == "ON_TIME"}
    final = {(r["geohash6"], r["window_start"]): r["requests"] for r in rows}
    return on_time, final


def test_stream_chooses_the_mode_by_size_and_says_so_on_stderr(project: Path) -> None:
    done = parity(project, "stream", "ride_requests", "--start", START, "--end", END)
    assert done.returncode == 0, done.stderr
    assert "events: faithful mode (faithful below 20,000 events" in done.stderr  # ~1,800 events: the reference replay
    assert "(faithful mode," in done.stdout


def test_stream_modes_write_the_same_on_time_and_final_values(project: Path) -> None:
    online = project / "online" / "ride_requests"
    faithful = parity(project, "stream", "ride_requests", "--start", START, "--end", END, "--mode", "faithful")
    assert faithful.returncode == 0, faithful.stderr
    assert "mode (" not in faithful.stderr  # chosen, not defaulted: nothing to say
    reference = values(online)
    shutil.rmtree(online)
    fast = parity(project, "stream", "ride_requests", "--start", START, "--end", END, "--mode", "fast")
    assert fast.returncode == 0, fast.stderr
    assert "(fast mode," in fast.stdout
    assert values(online) == reference
    assert reference[0]


def test_stream_replays_a_range_an_hour_at_a_time_with_the_values_of_one_replay(project: Path, tmp_path: Path) -> None:
    from parity.events import read_events
    from parity.offline import event_range
    from parity.realtime import Mode, run_stream
    from parity.settings import load_settings
    from parity.spec import load_feature

    online = project / "online" / "ride_requests"
    shutil.rmtree(online, ignore_errors=True)
    done = parity(project, "stream", "ride_requests", "--start", START, "--end", END, "--mode", "fast")
    assert done.returncode == 0, done.stderr
    chunked = values(online)
    assert {start.hour for _, start in chunked[1]} == {7, 8}  # windows of both hours were written
    settings = load_settings(project)
    spec = load_feature("ride_requests", settings.project)
    start_us, end_us = (int(dt.datetime.fromisoformat(t).timestamp() * 1e6) for t in (START, END))
    whole = run_stream(spec, settings, read_events(settings.event_log, spec.source, *event_range(spec.window, start_us, end_us)),
                       windows=(start_us, end_us), mode=Mode.FAST, out_dir=tmp_path / "whole")
    assert values(whole.path) == chunked


def test_stream_rejects_an_unknown_mode_in_one_line(project: Path) -> None:
    done = parity(project, "stream", "ride_requests", "--start", START, "--end", END, "--mode", "quick")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert [line for line in done.stderr.splitlines() if line.startswith("error:")] == [
        "error: --mode: 'quick' is not one of faithful, fast"]
