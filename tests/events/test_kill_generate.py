"""kill -9 of `parity generate` (the real CLI in a subprocess) at random moments, then the next command.

After each kill: every file a reader lists (event log and quarantine) is whole, one of the files an uninterrupted
run writes, with the same content; a rerun completes, leaves no temporary file, and the event log and quarantine
are then exactly an uninterrupted run's, file for file: nothing lost, nothing twice. `PARITY_FUZZ=full` runs 10
kill points, `make test` 2; a point is a random delay in the first 90% of one uninterrupted run.
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

from parity.events import event_files
from parity.publish import published

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = ("events", "quarantine")


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.parity]\nevent_log = "events"\nquarantine = "quarantine"\n')
    return root


def every_file(project: Path) -> dict[str, pa.Table]:
    """Every file under the outputs, hidden ones included, by path: its table (None if it cannot be read)."""
    found: dict[str, pa.Table] = {}
    for output in OUTPUTS:
        for file in sorted((project / output).rglob("*")) if (project / output).is_dir() else []:
            if file.is_file():
                found[file.relative_to(project).as_posix()] = pq.read_table(file)
    return found


def visible(project: Path) -> list[Path]:
    """What readers list: the event log's files and the quarantine's."""
    files = event_files(project / "events", "ride_events") if (project / "events" / "ride_events").is_dir() else []
    quarantine = project / "quarantine" / "ride_events"
    return [*files, *(published(quarantine, ".parquet") if quarantine.is_dir() else [])]


@dataclass(frozen=True)
class Reference:
    argv: list[str]
    env: dict[str, str]
    files: dict[str, pa.Table]
    seconds: float


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    root = tmp_path_factory.mktemp("kill_generate")
    project = make_project(root / "reference")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    argv = [sys.executable, "-m", "parity.cli", "generate", "--start", "2024-06-03T10:00:00Z", "--duration", "4h",
            "--rate", "400", "--project", str(root / "run")]
    started = time.perf_counter()
    done = subprocess.run([*argv[:-1], str(project)], check=False, env=env, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    files = every_file(project)
    assert sum(1 for name in files if name.startswith("events/")) >= 4 and any(n.startswith("quarantine/") for n in files)
    make_project(root / "run")
    return Reference(argv, env, files, seconds)


@pytest.mark.parametrize("point", range(kill_points(full=10, sample=2)))
def test_kill_generate_then_rerun_loses_nothing_and_duplicates_nothing(reference: Reference, point: int) -> None:
    project = Path(reference.argv[-1])
    for output in OUTPUTS:
        shutil.rmtree(project / output, ignore_errors=True)
    outcome = kill_at_random(reference.argv, low_s=0.2, high_s=0.9 * reference.seconds, rng=random.Random(7000 + point),
                             env=reference.env)
    assert outcome.killed or outcome.returncode == 0, outcome.stderr
    print(f"kill point {point}: killed={outcome.killed} after {outcome.delay_s:.2f}s of {reference.seconds:.2f}s")

    for file in visible(project):  # the next command sees whole files of this write, or none
        name = file.relative_to(project).as_posix()
        assert name in reference.files, name
        assert pq.read_table(file).equals(reference.files[name])

    rerun = subprocess.run(reference.argv, check=False, env=reference.env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    files = every_file(project)
    assert sorted(files) == sorted(reference.files), "a leftover survived the rerun, or a file is missing"
    for name, table in files.items():
        assert table.equals(reference.files[name]), name
    lost = sum(t.num_rows for t in reference.files.values()) - sum(t.num_rows for t in files.values())
    assert lost == 0
