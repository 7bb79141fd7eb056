"""kill -9 of `parity stream` (the real CLI in a subprocess) at random moments, then the next command.

After each kill: the online log shows nothing half-written (every visible file is a whole output, the one an
uninterrupted stream writes), and a rerun completes, leaves no hidden leftover (no `.staging-*`, no temporary
file) and writes exactly what an uninterrupted run writes (`emitted_at`, wall-clock time, aside): nothing lost.
`PARITY_FUZZ=full` (`make fuzz`) runs 10 kill points, `make test` 2. A kill point is a random delay between the
start and the length of one uninterrupted run; some land before the stream writes anything, most while Beam runs.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from killing import kill_at_random, kill_points

from parity.publish import published

REPO = Path(__file__).resolve().parents[2]
FEATURE = "available_drivers"
START, END = "2024-06-03T10:00:00Z", "2024-06-03T10:10:00Z"


@dataclass(frozen=True)
class Reference:
    project: Path
    env: dict[str, str]
    table: pa.Table  # what an uninterrupted stream writes, emitted_at aside
    name: str  # the hour folder of the stream's one file
    seconds: float

    @property
    def folder(self) -> Path:
        return self.project / "online" / FEATURE

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "parity.cli", "stream", FEATURE, "--start", START, "--end", END,
                "--project", str(self.project)]


def make_project(root: Path) -> Path:
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text(
        '[tool.parity]\nevent_log = "events"\nonline_log = "online"\nquarantine = "quarantine"\n'
        'reports = "reports"\ndatabase = "sqlite:///parity.db"\nbeam_runner = "BundleBasedDirectRunner"\n'
    )
    return root


def visible_files(folder: Path) -> list[Path]:
    """The online files a reader sees: published files of the hour folders (the stream writes one hour here)."""
    return [f for hour in sorted(folder.glob("date=*/hour=*")) for f in published(hour, ".parquet")]


def panes(file: Path) -> pa.Table:
    return pq.read_table(file).drop_columns(["emitted_at"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    project = make_project(tmp_path_factory.mktemp("kill_stream"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    subprocess.run([sys.executable, "-m", "parity.cli", "generate", "--start", "2024-06-03T09:58:00Z",
                    "--duration", "15m", "--rate", "400", "--project", str(project)],
                   check=True, env=env, capture_output=True, timeout=300)
    started = time.perf_counter()
    done = subprocess.run(Reference(project, env, pa.table({}), "", 0).argv(), check=False, env=env, capture_output=True,
                          text=True, timeout=600)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    (file,) = visible_files(project / "online" / FEATURE)
    table = panes(file)
    assert table.num_rows > 0
    return Reference(project, env, table, file.parent.name, seconds)


@pytest.mark.parametrize("point", range(kill_points(full=10, sample=2)))
def test_kill_stream_then_rerun_loses_nothing_and_leaves_nothing_half_written(reference: Reference, point: int) -> None:
    shutil.rmtree(reference.folder, ignore_errors=True)
    outcome = kill_at_random(reference.argv(), low_s=0.3, high_s=reference.seconds, rng=random.Random(9000 + point),
                             env=reference.env)
    assert outcome.killed or outcome.returncode == 0, outcome.stderr
    print(f"kill point {point}: killed={outcome.killed} after {outcome.delay_s:.2f}s of {reference.seconds:.2f}s")

    # What the next command sees: whole outputs only (the stream's file, or none yet).
    visible = visible_files(reference.folder)
    assert len(visible) <= 1 and all(file.parent.name == reference.name for file in visible)
    for file in visible:
        assert panes(file).equals(reference.table)

    rerun = subprocess.run(reference.argv(), check=False, env=reference.env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    (file,) = visible_files(reference.folder)
    everything = [p for p in reference.folder.rglob("*") if p.is_file()]
    assert everything == [file], "a leftover survived the rerun"
    table = panes(file)
    assert table.equals(reference.table)
    lost = reference.table.num_rows - table.num_rows
    assert lost == 0
