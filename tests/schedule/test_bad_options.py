"""Wrong options of run, backfill, history and metrics: exit 2 and one line naming the option and value."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parity.errors import EXIT_ERROR

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--all", "--since", "0h"], "error: --since: '0h' must be longer than zero"),
    (["run", "--all", "--since", "yesterday"], "error: --since: "),
    (["run", "--all", "--step", "90s"], "error: --step 90s: not a multiple of available_drivers's window slide 1m"),
    (["run"], "error: name at least one feature, or pass --all"),
    (["backfill", "--all"], "error: --start and --end are required"),
    (["backfill", "--all", "--start", "2026-11-26T08:00Z", "--end", "2026-11-26T08:30Z"],
     "error: --start 2026-11-26T08:00Z --end 2026-11-26T08:30Z: no whole --step 1h fits in the range"),
    (["history", "no_such_feature"], "error: unknown feature 'no_such_feature'; known features: "),
    (["history", "ride_requests", "--format", "xml"], "error: --format: 'xml' is not one of text, json"),
    (["metrics", "--output", "m.prom", "--serve", "9464"], "error: --output and --serve: pick one"),
    (["metrics", "--serve", "70000"], "error: --serve: 70000 is not a TCP port (1-65535)"),
])
def test_bad_options_exit_2_with_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(REPO)], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == EXIT_ERROR
    assert done.stderr.startswith(message), done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
