"""Fast == faithful on the end-to-end test features (tests/check/features/: the defects the checks must find, and
correct jobs keyed by city or by cell), over `late_rides()` of tests/check/check_project.py: every ON_TIME and
every final value the two modes write are the same. Real Beam both sides, no Spark needed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pyarrow as pa
import pytest
from test_fast_replay import assert_same_values

from parity.realtime import Mode, run_stream
from parity.settings import Settings
from parity.spec import load_feature

FEATURES = Path(__file__).resolve().parents[1] / "check" / "features" / "realtime_jobs"
TEST_FEATURES = sorted(p.stem for p in FEATURES.glob("*.yaml"))
# Jobs that re-stamp their events and window them again replace the framework's windows: the fast mode applies the
# late-data cutoffs of the framework's windows before the job, the faithful mode's Beam those of the job's own
# windows after it, so late events count differently (documented in parity/realtime/fast.py).
REWINDOWING = ("shifted_requests", "zoned_requests")


def check_project() -> ModuleType:
    """tests/check/check_project.py (its event sets and project layout), as that package's tests import it."""
    if "check_project" in sys.modules:
        return sys.modules["check_project"]
    spec = importlib.util.spec_from_file_location("check_project", FEATURES.parents[1] / "check_project.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_project"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def late_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, pa.Table]:
    project = check_project()
    rows = project.late_rides()
    settings = project.make_project(tmp_path_factory.mktemp("late_project"), rows)
    return settings, pa.Table.from_pylist(rows, schema=project.RIDE_EVENTS)


def test_the_test_features_are_all_here() -> None:
    assert len(TEST_FEATURES) == 10 and set(REWINDOWING) <= set(TEST_FEATURES)


@pytest.mark.parametrize("feature", [name for name in TEST_FEATURES if name not in REWINDOWING])
def test_fast_mode_gives_the_faithful_values_of_each_end_to_end_test_feature(
    feature: str, late_project: tuple[Settings, pa.Table], tmp_path: Path
) -> None:
    settings, events = late_project
    spec = load_feature(feature, settings.project)
    faithful = run_stream(spec, settings, events, mode=Mode.FAITHFUL, out_dir=tmp_path / "faithful")
    fast = run_stream(spec, settings, events, mode=Mode.FAST, out_dir=tmp_path / "fast")
    assert faithful.rows > 0
    assert_same_values(spec, faithful, fast)
