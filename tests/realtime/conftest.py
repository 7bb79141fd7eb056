"""Fixtures of the realtime tests: events tables built from `ride_event` rows, and throwaway feature projects.

`feature_project` writes a project with one feature whose job is given inline (a Python transform file or
Beam YAML), so failing jobs can be replayed through the real pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from parity.generate import SCHEMA

RIDE_EVENTS = SCHEMA  # the ride_events contract, as the generator writes it


@pytest.fixture(scope="session")
def events_table() -> Callable[[Sequence[dict[str, Any]]], pa.Table]:
    """`events_table(rows)`: ride_event rows as the Arrow table run_stream takes."""

    def build(rows: Sequence[dict[str, Any]]) -> pa.Table:
        return pa.Table.from_pylist(list(rows), schema=RIDE_EVENTS)

    return build


@pytest.fixture
def feature_project(tmp_path: Path) -> Callable[..., Path]:
    """`feature_project(spec_yaml, files={relative path: text})` -> a project directory holding feature `job`."""

    def build(spec_yaml: str, files: dict[str, str] | None = None) -> Path:
        (tmp_path / "realtime_jobs").mkdir(exist_ok=True)
        (tmp_path / "realtime_jobs" / "job.yaml").write_text(spec_yaml)
        for name, text in (files or {}).items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        return tmp_path

    return build
