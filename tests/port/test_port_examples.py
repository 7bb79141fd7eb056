"""Done-when of issue 13: every shipped example's SQL, ported by `parity port` into a fresh project, streams and
checks with no `unexplained` cell on generated data, through the CLI.

The normal run ports all four examples and streams and checks two of them (ride_requests: COUNT(DISTINCT);
avg_eta: a SELECT DISTINCT dedupe CTE and AVG) over ten minutes of windows, about a minute and a half on two
cores. `PARITY_FUZZ=full` streams and checks all four (demand_supply's sliding windows and available_drivers too)
over twenty minutes at a higher rate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parity.generate import SCHEMA

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.stem for p in (REPO / "offline_queries").glob("*.sql"))
FULL = os.environ.get("PARITY_FUZZ") == "full"
CHECKED = EXAMPLES if FULL else ["avg_eta", "ride_requests"]
START = "2026-11-26T08:00:00Z"
END = "2026-11-26T08:20:00Z" if FULL else "2026-11-26T08:10:00Z"
EVENTS = ("25m", "300") if FULL else ("15m", "150")  # duration, events per minute: the last windows settle


def parity(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity.cli", *args, "--project", str(project)],
        capture_output=True, text=True, cwd=project, timeout=900, check=False,
    )


def test_every_example_ported_into_a_fresh_project_checks_with_no_unexplained_cell(tmp_path: Path) -> None:
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(REPO / "offline_queries", tmp_path / "offline_queries")
    generated = parity(tmp_path, "generate", "--start", START, "--duration", EVENTS[0], "--rate", EVENTS[1])
    assert generated.returncode == 0, generated.stderr
    for feature in EXAMPLES:  # typed from the project's own event files (parity.schema)
        done = parity(tmp_path, "port", f"offline_queries/{feature}.sql")
        assert done.returncode == 0, done.stderr
    streamed = parity(tmp_path, "stream", *CHECKED, "--start", START, "--end", END)
    assert streamed.returncode == 0, streamed.stderr
    checked = parity(tmp_path, "check", *CHECKED, "--start", START, "--end", END, "--format", "json")
    results = [json.loads(line) for line in checked.stdout.splitlines() if line.strip().startswith("{")]
    assert [r["feature"] for r in results] == CHECKED, checked.stderr
    for result in results:
        assert result["compared"] > 50, result
        assert result["causes"]["unexplained"] == 0, result
        assert result["verdict"] == "passed", result
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("feature", EXAMPLES)
def test_every_example_ports_to_the_shipped_specs_keys_window_and_values(feature: str, tmp_path: Path) -> None:
    from parity.port import port_query
    from parity.spec import load_feature, load_spec

    shutil.copytree(REPO / "offline_queries", tmp_path / "offline_queries")
    ported = load_spec(port_query(tmp_path / "offline_queries" / f"{feature}.sql", tmp_path, schema_of=lambda _: SCHEMA).spec_path, tmp_path)
    shipped = load_feature(feature, REPO)
    assert (ported.keys, ported.window, ported.values) == (shipped.keys, shipped.window, shipped.values)
