"""`parity generate` then `parity stream` end to end through the real CLI, on a small generated log."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[2]
START, END = "2026-11-26T08:00:00Z", "2026-11-26T08:20:00Z"


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
        capture_output=True, text=True, cwd=project, timeout=600, check=False,
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    project = tmp_path_factory.mktemp("cli_project")
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, project / folder)
    (project / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nonline_log = "online"\n')
    done = parity(project, "generate", "--start", START, "--duration", "20m", "--rate", "60", "--seed", "3")
    return project, done


def test_generate_writes_the_log_and_counts_quarantined_rows(generated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, done = generated
    assert done.returncode == 0, done.stderr
    assert "wrote " in done.stdout and "quarantined " in done.stdout
    assert sorted(p.name for p in (project / "events" / "ride_events").iterdir()) == ["date=2026-11-26"]
    written = int(done.stdout.split("wrote ")[1].split()[0])
    quarantined = int(done.stdout.split("quarantined ")[1].split()[0])
    on_disk = sum(pq.read_metadata(f).num_rows for f in (project / "events").rglob("*.parquet"))
    assert on_disk == written > 1200  # 20 minutes x 60 events, plus duplicate deliveries
    if quarantined:
        bad = sum(pq.read_metadata(f).num_rows for f in (project / "data" / "quarantine").rglob("*.parquet"))
        assert bad == quarantined


def test_generate_rejects_a_bad_rate(generated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = generated
    done = parity(project, "generate", "--start", START, "--duration", "5m", "--rate", "0")
    assert done.returncode == 2 and "--rate" in done.stderr and "Traceback" not in done.stderr


def test_stream_writes_panes_for_the_range(generated: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    project, _ = generated
    done = parity(project, "stream", "ride_requests", "--start", START, "--end", END)
    assert done.returncode == 0, done.stderr
    files = list((project / "online" / "ride_requests").rglob("*.parquet"))
    assert len(files) == 1
    table = pq.read_table(files[0])
    assert {"geohash6", "requests", "window_start", "window_end", "pane_timing", "pane_index", "emitted_at"} <= set(
        table.column_names
    )
    assert table.num_rows > 0
    assert set(table.column("pane_timing").to_pylist()) <= {"EARLY", "ON_TIME", "LATE"}
    assert "ON_TIME" in set(table.column("pane_timing").to_pylist())
