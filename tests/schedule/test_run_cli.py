"""`parity run` and `parity backfill` as processes: two at once, and kill -9 at random points, then a rerun.

Each is the real CLI in a child process (its own Spark), on the shared generated log and its real Beam output,
with the real store: SQLite, and PostgreSQL where PARITY_TEST_POSTGRES_URL names a server.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

from killing import FULL, kill_at_random, kill_points
from scheduled_project import END, FEATURE, HOURS, START
from stored import ledger_rows, results_per_hour

from parity.errors import EXIT_ERROR
from parity.settings import Settings
from parity.units import iso

ENV = {**os.environ, "JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def parity(*args: str, project: Path) -> list[str]:
    return [sys.executable, "-m", "parity.cli", *args, "--project", str(project)]


def finish(child: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = child.communicate(timeout=600)
    return child.returncode, out, err


def test_two_runs_started_at_once_check_each_hour_once(project: Settings) -> None:
    argv = parity("run", FEATURE, "--since", "6h", project=project.project)
    children = [subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(2)]
    finished = [finish(child) for child in children]
    for code, _, err in finished:
        assert code < EXIT_ERROR, err
        assert "Traceback" not in err
    outputs = "\n".join(out for _, out, _ in finished)
    assert outputs.count(f"{FEATURE:<20} {iso(HOURS[0])}") == 1
    assert outputs.count(f"{FEATURE:<20} {iso(HOURS[1])}") == 1
    assert Counter(row.start_us for row in ledger_rows(project)) == dict.fromkeys(HOURS, 1)
    assert results_per_hour(project) == {(FEATURE, iso(h)): 1 for h in HOURS}

    again = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert Counter(row.start_us for row in ledger_rows(project)) == dict.fromkeys(HOURS, 1)


def test_kill_9_during_backfill_then_a_rerun_leaves_every_hour_checked_once(sqlite_project: Settings) -> None:
    argv = parity("backfill", FEATURE, "--start", START, "--end", END, project=sqlite_project.project)
    rng = random.Random(11)
    killed_mid_run = 0
    for _ in range(kill_points(full=6, sample=1)):
        # Spark starts in 5-20 s, then an hour takes a few seconds: the kill lands before, between or in hours
        # (the bounded sample kills early enough that the backfill cannot have finished).
        killed = kill_at_random(argv, low_s=3.0, high_s=25.0 if FULL else 10.0, rng=rng, env=ENV)
        assert killed.killed or killed.returncode < EXIT_ERROR, killed.stderr
        killed_mid_run += killed.killed
        rerun = subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=600, check=False)
        assert rerun.returncode < EXIT_ERROR, rerun.stderr
        assert "\x1b[" not in rerun.stdout  # no progress bar when stdout is not a terminal
        assert Counter(row.start_us for row in ledger_rows(sqlite_project)) == dict.fromkeys(HOURS, 1)
        assert results_per_hour(sqlite_project) == {(FEATURE, iso(h)): 1 for h in HOURS}
        assert "nothing to do" in subprocess.run(argv, env=ENV, capture_output=True, text=True, timeout=300,
                                                 check=False).stdout
        Path(sqlite_project.database.removeprefix("sqlite:///")).unlink()  # the next kill point starts afresh
    assert killed_mid_run, "no kill landed before the backfill finished: the kill points test nothing"
