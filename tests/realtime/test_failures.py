"""A realtime job that cannot run ends in one JobError line; it never leaves an empty output behind."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from parity.errors import ConfigError, JobError
from parity.realtime import run_stream
from parity.settings import Settings, load_settings
from parity.spec import load_feature

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)

SPEC = """\
feature: job
source: ride_events
keys: [geohash6]
window: {size: 1m}
values:
  requests: {}
"""

FAILING_JOB = """\
import apache_beam as beam


def explode(event):
    raise ValueError(f"cannot rate event {event.event_id}")


class Explodes(beam.PTransform):
    def expand(self, events):
        return events | beam.Map(explode)
"""


@pytest.fixture
def few_events(ride_event: Callable[..., dict[str, Any]], events_table: Callable[..., pa.Table]) -> pa.Table:
    return events_table([ride_event(f"r{n}", BASE + dt.timedelta(seconds=10 * n), "ride_requested") for n in range(3)])


def test_exception_in_a_user_transform_raises_job_error(feature_project: Callable[..., Path], few_events: pa.Table) -> None:
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Explodes\n", {"realtime_jobs/job.py": FAILING_JOB})
    settings = load_settings(project)
    with pytest.raises(JobError, match=r"^realtime job of job: .*ValueError: cannot rate event r\d") as caught:
        run_stream(load_feature("job", project), settings, few_events)
    assert "\n" not in str(caught.value)
    assert not list((Path(settings.online_log) / "job").rglob("*.parquet"))


def test_transform_ref_to_a_missing_file_raises_job_error(feature_project: Callable[..., Path], few_events: pa.Table) -> None:
    project = feature_project(SPEC + "transform_ref: realtime_jobs/nowhere.py:Job\n")
    with pytest.raises(JobError, match=r"transform_ref realtime_jobs/nowhere.py:Job: no file .*nowhere.py"):
        run_stream(load_feature("job", project), load_settings(project), few_events)


def test_transform_ref_to_a_missing_class_raises_job_error(feature_project: Callable[..., Path], few_events: pa.Table) -> None:
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Missing\n", {"realtime_jobs/job.py": FAILING_JOB})
    with pytest.raises(JobError, match=r"job.py has no beam.PTransform class Missing"):
        run_stream(load_feature("job", project), load_settings(project), few_events)


def test_beam_yaml_error_raises_job_error(feature_project: Callable[..., Path], few_events: pa.Table) -> None:
    yaml_job = SPEC + """\
transform:
  - type: Filter
    config:
      language: python
      keep: "no_such_column == 'x'"
"""
    project = feature_project(yaml_job)
    with pytest.raises(JobError, match=r"^realtime job of job: .*no_such_column"):
        run_stream(load_feature("job", project), load_settings(project), few_events)


def test_job_output_without_the_spec_value_column_raises_job_error(
    feature_project: Callable[..., Path], few_events: pa.Table
) -> None:
    yaml_job = SPEC + """\
transform:
  - type: MapToFields
    config:
      language: python
      fields:
        geohash6: "'x'"
        count: "1"
"""
    project = feature_project(yaml_job)
    with pytest.raises(JobError, match=r"output has no column 'requests'"):
        run_stream(load_feature("job", project), load_settings(project), few_events)


REWINDOWING_JOB = """\
import apache_beam as beam
from apache_beam.transforms import window


class Rewindows(beam.PTransform):
    def expand(self, events):
        return (
            events
            | beam.WindowInto(window.FixedWindows(120))
            | beam.Map(lambda event: (event.city, 1))
            | beam.CombinePerKey(sum)
        )
"""


def test_job_that_re_windows_raises_job_error(feature_project: Callable[..., Path], few_events: pa.Table) -> None:
    # Its panes would not be the spec's windows (and a segmented replay could not own them).
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Rewindows\n", {"realtime_jobs/job.py": REWINDOWING_JOB})
    with pytest.raises(JobError, match=r"output is not in the spec's windows .*do not re-window"):
        run_stream(load_feature("job", project), load_settings(project), few_events)


def test_runner_that_downloads_prism_is_refused_before_running(repo_settings: Settings, few_events: pa.Table) -> None:
    settings = dataclasses.replace(repo_settings, beam_runner="DirectRunner")
    with pytest.raises(ConfigError, match="beam_runner: DirectRunner first downloads the Prism runner"):
        run_stream(load_feature("ride_requests", settings.project), settings, few_events)


def test_output_columns_and_types(repo_settings: Settings, few_events: pa.Table, tmp_path: Path) -> None:
    result = run_stream(load_feature("ride_requests", repo_settings.project), repo_settings, few_events, out_dir=tmp_path)
    stamp = pa.timestamp("us", tz="UTC")
    assert result.panes().schema.remove_metadata() == pa.schema(
        [
            ("geohash6", pa.string()),
            ("requests", pa.int64()),
            ("window_start", stamp),
            ("window_end", stamp),
            ("pane_timing", pa.string()),
            ("pane_index", pa.int64()),
            ("emitted_at", stamp),
        ]
    )
    assert (result.rows, result.events_in) == (1, 3)


def test_rerun_over_the_same_events_replaces_its_output(repo_settings: Settings, few_events: pa.Table, tmp_path: Path) -> None:
    spec = load_feature("ride_requests", repo_settings.project)
    first = run_stream(spec, repo_settings, few_events, out_dir=tmp_path)
    second = run_stream(spec, repo_settings, few_events, out_dir=tmp_path)
    assert first.files != second.files and len(second.files) == 1  # a new generation for the hour
    assert sorted(tmp_path.rglob("*.parquet")) == list(second.files), "the rerun removed what it replaced"
    assert second.panes().num_rows == first.rows == 1


# --- a job is loaded only from inside its project, and nothing it raises while loading escapes as anything but a
# JobError (exit 2): SystemExit in a module's import or a class's construction included -----------------------

EXITS_ON_IMPORT = "import sys\nsys.exit(1)\n"
EXITS_ON_CONSTRUCTION = """\
import apache_beam as beam


class Job(beam.PTransform):
    def __init__(self):
        raise SystemExit(1)

    def expand(self, events):
        return events
"""


@pytest.mark.parametrize(("job", "words"), [(EXITS_ON_IMPORT, "importing job.py failed: SystemExit"),
                                            (EXITS_ON_CONSTRUCTION, "Job() failed: SystemExit")])
def test_system_exit_while_loading_a_job_is_a_job_error(
    feature_project: Callable[..., Path], few_events: pa.Table, job: str, words: str
) -> None:
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Job\n", {"realtime_jobs/job.py": job})
    settings = load_settings(project)
    with pytest.raises(JobError, match=rf"^realtime job of job: transform_ref realtime_jobs/job.py:Job: {re.escape(words)}"):
        run_stream(load_feature("job", project), settings, few_events)
    assert not list((Path(settings.online_log) / "job").rglob("*.parquet"))


def test_a_transform_ref_resolving_outside_the_project_is_not_imported(
    feature_project: Callable[..., Path], few_events: pa.Table, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "job.py").write_text(f"open({str(elsewhere / 'ran')!r}, 'w').close()\n")
    project = feature_project(SPEC + "transform_ref: realtime_jobs/job.py:Job\n", {"realtime_jobs/job.py": ""})
    spec = load_feature("job", project)
    (project / "realtime_jobs" / "job.py").unlink()
    (project / "realtime_jobs" / "job.py").symlink_to(elsewhere / "job.py")  # swapped after the spec was loaded
    for ref in ("realtime_jobs/job.py:Job", f"{elsewhere / 'job.py'}:Job", "../elsewhere/job.py:Job"):
        with pytest.raises(JobError, match=r"outside the project"):
            run_stream(dataclasses.replace(spec, transform_ref=ref), load_settings(project), few_events)
    assert not (elsewhere / "ran").exists()
