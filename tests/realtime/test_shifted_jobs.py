"""A job that re-stamps its events (a time-zone bug) keeps every pane it emits: the replay writes the panes of
windows outside the stream's range too (its spill), in both modes, across faithful segments and across streams
of consecutive ranges, and as many cells come back from the online log as the same transform emits on bare
Beam. Real Beam (TestPipeline, BundleBasedDirectRunner, FnApiRunner), no Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms import window
from apache_beam.utils.timestamp import Timestamp

from parity.online import local_root
from parity.online.files import read_hours
from parity.realtime import Mode, event_row_type, event_rows, load_job, run_stream, window_into
from parity.settings import load_settings
from parity.spec import FeatureSpec, load_feature
from parity.units import HOUR_US

BASE_US = int(dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC).timestamp()) * 1_000_000
SCORES = pa.schema([("event_id", pa.string()), ("event_time", pa.timestamp("us", tz="UTC")),
                    ("ingest_time", pa.timestamp("us", tz="UTC")), ("team", pa.string()), ("score", pa.int64())])

SPEC = """\
feature: team_scores
source: scores
keys: [team]
window: {size: 1h}
values:
  total: {}
transform_ref: realtime_jobs/team_scores.py:Shifted
"""

JOB = """\
import apache_beam as beam
from apache_beam.transforms import window
from apache_beam.utils.timestamp import Timestamp

SHIFT_US = {shift}


class Shifted(beam.PTransform):
    def expand(self, events):
        return (
            events
            | beam.Map(lambda e: window.TimestampedValue(e, Timestamp(micros=e.event_time + SHIFT_US)))
            | beam.WindowInto(window.FixedWindows(3600))
            | beam.Map(lambda e: (e.team, e.score))
            | beam.CombinePerKey(sum)
        )
"""


def scores(hours: int = 2) -> pa.Table:
    """40 scores an hour for 5 teams (one team plays in the first hour only), arriving 5 s after they happen."""
    rows = []
    for n in range(40 * hours):
        at = BASE_US + n * (HOUR_US // 40) + 7_000_000
        team = f"t{n % 5}" if n < 40 else f"t{n % 4}"
        rows.append({"event_id": f"e{n}", "event_time": at, "ingest_time": at + 5_000_000, "team": team, "score": n})
    return pa.Table.from_pylist(rows, schema=SCORES)


def project_with(tmp_path: Path, shift_us: int) -> tuple[FeatureSpec, Any]:
    (tmp_path / "realtime_jobs").mkdir(parents=True, exist_ok=True)
    (tmp_path / "realtime_jobs" / "team_scores.yaml").write_text(SPEC)
    (tmp_path / "realtime_jobs" / "team_scores.py").write_text(JOB.format(shift=shift_us))
    settings = load_settings(tmp_path)
    return load_feature("team_scores", tmp_path), settings


def online_cells(root: Path) -> list[tuple[str, int, int]]:
    """(team, window start, total) of each cell's last pane in the online log, every hour of the log."""
    parts = read_hours(root, BASE_US - 24 * HOUR_US, BASE_US + 24 * HOUR_US)
    table = pa.concat_tables([p.table.select(["team", "window_start", "total", "pane_index"]) for p in parts])
    last: dict[tuple[str, int], tuple[int, int]] = {}
    for row in table.to_pylist():
        cell = (row["team"], int(row["window_start"].timestamp() * 1_000_000))
        if cell not in last or row["pane_index"] >= last[cell][0]:
            last[cell] = (row["pane_index"], row["total"])
    return sorted((team, start, total) for (team, start), (_, total) in last.items())


def bare_beam_cells(spec: FeatureSpec, project: Path, events: pa.Table) -> Callable[..., None]:
    """`expect(cells, values=True)`: asserts on bare Beam (TestPipeline) that the job over `events`, in the
    framework's windows, emits exactly `cells` (their keys and windows only, without `values`)."""

    def expect(cells: list[tuple[str, int, int]], values: bool = True) -> None:
        event_type = event_row_type(events.schema)
        stamped = [window.TimestampedValue(row, Timestamp(micros=row.event_time)) for row in event_rows(events, event_type)]
        with BeamTestPipeline(runner="FnApiRunner") as pipeline:
            out = (
                pipeline
                | beam.Create(stamped).with_output_types(event_type)
                | window_into(spec)
                | load_job(spec, project)
                | beam.ParDo(_Cell())
                | beam.Map(lambda cell: cell if values else cell[:2])
            )
            assert_that(out, equal_to(cells if values else [cell[:2] for cell in cells]))

    return expect


class _Cell(beam.DoFn):
    def process(self, element: tuple[str, int], win: Any = beam.DoFn.WindowParam) -> Any:
        yield element[0], win.start.micros, element[1]


@pytest.mark.parametrize("mode", [Mode.FAITHFUL, Mode.FAST])
@pytest.mark.parametrize("shift_us", [HOUR_US, 30 * 60_000_000], ids=["+1h", "+30m"])
def test_a_re_stamping_job_streams_every_cell_bare_beam_emits(mode: Mode, shift_us: int, tmp_path: Path) -> None:
    spec, settings = project_with(tmp_path / "project", shift_us)
    events = scores()
    # The stream's range is the events' two hours; the faithful mode replays them in several segments.
    result = run_stream(spec, settings, events, mode=mode, windows=(BASE_US, BASE_US + 2 * HOUR_US), segment_events=25)
    cells = online_cells(result.path)
    assert len(cells) >= 9 and result.note is None
    # A whole-window shift keeps each window's events in one segment, so its values are bare Beam's too; a half-hour
    # shift mixes two segments' events in a window, of which the owner's pane is written.
    bare_beam_cells(spec, tmp_path / "project", events)(cells, values=shift_us % HOUR_US == 0)


@pytest.mark.parametrize("mode", [Mode.FAITHFUL, Mode.FAST])
def test_streams_of_consecutive_hours_keep_each_others_spill(mode: Mode, tmp_path: Path) -> None:
    # As `parity stream` replays a range an hour at a time: the first hour's panes land in the second hour, which
    # the second stream claims (and computes nothing for); they stay.
    spec, settings = project_with(tmp_path / "project", HOUR_US)
    events = scores()
    times = pc.cast(events.column("event_time"), pa.int64())
    for hour in (BASE_US, BASE_US + HOUR_US):
        part = events.filter(pc.and_(pc.greater_equal(times, hour), pc.less(times, hour + HOUR_US)))
        run_stream(spec, settings, part, mode=mode, windows=(hour, hour + HOUR_US))
    cells = online_cells(local_root(settings.online_log) / spec.name)
    assert {start for _, start, _ in cells} == {BASE_US + HOUR_US, BASE_US + 2 * HOUR_US}
    bare_beam_cells(spec, tmp_path / "project", events)(cells)


def test_a_stream_of_the_same_range_again_replaces_its_spill(tmp_path: Path) -> None:
    spec, settings = project_with(tmp_path / "project", HOUR_US)
    events = scores(hours=1)
    first = run_stream(spec, settings, events, mode=Mode.FAST, windows=(BASE_US, BASE_US + HOUR_US))
    again = run_stream(spec, settings, events, mode=Mode.FAST, windows=(BASE_US, BASE_US + HOUR_US))
    assert first.rows == again.rows == 5
    assert len(online_cells(local_root(settings.online_log) / spec.name)) == 5
    spill = sorted((local_root(settings.online_log) / spec.name).rglob("*.spill.parquet"))
    assert len(spill) == 1 and spill[0] in again.files


def test_the_owners_pane_wins_over_another_streams_spill(tmp_path: Path) -> None:
    # +30 min: the first hour's late half lands in the second hour, which the second stream computes too.
    spec, settings = project_with(tmp_path / "project", 30 * 60_000_000)
    events = scores()
    times = pc.cast(events.column("event_time"), pa.int64())
    for hour in (BASE_US + HOUR_US, BASE_US):  # the owner first: order does not matter
        part = events.filter(pc.and_(pc.greater_equal(times, hour), pc.less(times, hour + HOUR_US)))
        run_stream(spec, settings, part, mode=Mode.FAST, windows=(hour, hour + HOUR_US))
    cells = online_cells(local_root(settings.online_log) / spec.name)
    in_second = [cell for cell in cells if cell[1] == BASE_US + HOUR_US]
    # t0..t3 play in both hours: the owner's (second stream's) totals; t4 only in the first hour's spill.
    assert [team for team, _, _ in in_second] == ["t0", "t1", "t2", "t3", "t4"]
    assert len(cells) == len({(team, start) for team, start, _ in cells})


def test_a_job_that_emits_nothing_says_so_in_one_line(tmp_path: Path) -> None:
    _, settings = project_with(tmp_path / "project", HOUR_US)
    (tmp_path / "project" / "realtime_jobs" / "team_scores.py").write_text(
        JOB.format(shift=0).replace("| beam.CombinePerKey(sum)", "| beam.Filter(lambda kv: False)"))
    result = run_stream(load_feature("team_scores", tmp_path / "project"), settings, scores(), mode=Mode.FAST)
    assert result.rows == 0
    assert result.note == "team_scores: the job emitted no rows for 80 events in 2 windows; check its filters and windowing"
