"""The "Put this in your CI" example of docs/porting.md, run as a feature repository would run it: its test
file in a project holding the examples, beside the test `parity new` scaffolds for a new feature, and `pytest` in a
fresh process with `parity.testing` as the plugin that provides `parity_spark`."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "porting.md"


def ci_example() -> str:
    section = DOC.read_text().split("### Put this in your CI", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"{DOC.name}: no python block under 'Put this in your CI'"
    return found.group(1)


def test_the_documented_ci_test_and_a_scaffolded_test_pass_in_a_feature_repository(tmp_path: Path) -> None:
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    (tmp_path / "pyproject.toml").write_text('[tool.parity]\nspark_master = "local[2]"\n')
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_features.py").write_text(ci_example())
    scaffolded = subprocess.run([sys.executable, "-m", "parity.cli", "new", "surge_requests", "--source", "ride_events",
                                 "--project", str(tmp_path)], capture_output=True, text=True, timeout=300, check=False)
    assert scaffolded.returncode == 0, scaffolded.stderr
    assert (tmp_path / "tests" / "test_surge_requests_parity.py").is_file()
    installed = any(e.value == "parity.testing" for e in importlib.metadata.entry_points(group="pytest11"))
    plugin = [] if installed else ["-p", "parity.testing"]  # the entry point exists once parity is (re)installed
    done = subprocess.run([sys.executable, "-m", "pytest", *plugin, "-q", "-p", "no:cacheprovider", "tests"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout
    assert not (tmp_path / "data").exists()  # the project's own data folders are never touched
