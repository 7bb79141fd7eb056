"""A job that fails in the fast mode ends in one JobError line, as in the faithful mode, and leaves no output."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from parity.errors import JobError
from parity.realtime import Mode, run_stream
from parity.settings import load_settings
from parity.spec import load_feature

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
SPEC = "feature: job\nsource: ride_events\nkeys: [geohash6]\nwindow: {size: 1m}\nvalues:\n  requests: {}\n"
FAILING_JOB = """\
import apache_beam as beam


def explode(event):
    raise ValueError(f"cannot rate event {event.event_id}")


class Explodes(beam.PTransform):
    def expand(self, events):
        return events | beam.Map(explode)
"""
GLOBAL_JOB = """\
import apache_beam as beam


class Globalizes(beam.PTransform):
    def expand(self, events):
        return events | beam.WindowInto(beam.window.GlobalWindows()) | beam.Map(lambda e: ("c", 1))
"""


@pytest.fixture
def few_events(ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table]) -> pa.Table:
    return events_table([ride_event(f"r{n}", BASE + dt.timedelta(seconds=10 * n), "ride_requested") for n in range(3)])


def test_exception_in_a_user_transform_raises_one_line_job_error_in_fast_mode(
    feature_project: Callable[..., Path], few_events: pa.Table
) -> None:
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Explodes\n", {"realtime_jobs/job.py": FAILING_JOB})
    settings = load_settings(project)
    with pytest.raises(JobError, match=r"^realtime job of job: .*ValueError: cannot rate event r\d") as caught:
        run_stream(load_feature("job", project), settings, few_events, mode=Mode.FAST)
    assert "\n" not in str(caught.value)
    assert not list((Path(settings.online_log) / "job").rglob("*.parquet"))


def test_output_outside_the_spec_windows_raises_job_error_in_fast_mode(
    feature_project: Callable[..., Path], few_events: pa.Table
) -> None:
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Globalizes\n", {"realtime_jobs/job.py": GLOBAL_JOB})
    with pytest.raises(JobError, match=r"output is not in the spec's windows"):
        run_stream(load_feature("job", project), load_settings(project), few_events, mode=Mode.FAST)
