"""The quality tests' fixture: an empty feature project; the inputs are built by quality_inputs.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from quality_inputs import Project

from parity.settings import load_settings


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "realtime_jobs").mkdir()
    return Project(tmp_path, load_settings(tmp_path))
