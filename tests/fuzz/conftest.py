"""The one valid project every fuzz input mutates a copy of.

`fuzz_base` is built once per run: this repository's four example features and three alert rules, a
pyproject.toml whose `[tool.parity]` points inside the project, 20 minutes of generated ride events
(2024-06-03 10:00-10:20 UTC, 60 a minute, seed 3: one hour partition, one file) written with
`write_events`, and ride_requests streamed on Beam over the checked range 10:00-10:15. The other features
are streamed on first use (`FuzzBase.online_for`), so a run that never checks them never pays for Beam.
Nothing is planted in it: every difference is the mutation of the one input under test.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from fuzz_corpus import BASE_PYPROJECT, REPO
from fuzz_project import START, FuzzBase, us
from pyspark.sql import SparkSession

from parity.events import write_events
from parity.generate import generate_rides
from parity.settings import load_settings


@pytest.fixture(scope="session")
def fuzz_base(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Iterator[FuzzBase]:
    root = tmp_path_factory.mktemp("fuzz_base")
    for folder in ("realtime_jobs", "offline_queries", "alerts"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text(BASE_PYPROJECT)
    settings = load_settings(root)
    table = generate_rides(us(START), 20 * 60 * 1_000_000, 60, seed=3)
    write_events(table, settings.event_log, "ride_events", settings.quarantine)
    shutil.rmtree(settings.quarantine, ignore_errors=True)  # the generator's planted broken rows: not ours
    base = FuzzBase(settings)
    base.online_for("ride_requests")
    yield base
