"""Online log types: one schema per feature. Files whose writers inferred different types for a column (an
integer total as int64 in one hour, as double in another) are read back with one schema, int staying int; a
declared type (`online_types` in the spec) is what every writer casts to and every reader reads; a value that
cannot be cast without loss is one DataError naming its file. Hand-made files, and one real (fast) Beam stream.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from parity.beam import PANE_COLUMNS, pane_table
from parity.check import read_online
from parity.errors import DataError, JobError
from parity.online import local_root, open_source
from parity.online.files import hour_folder
from parity.realtime import Mode, run_stream
from parity.settings import Settings, load_settings
from parity.spec import load_feature
from parity.units import HOUR_US

TEN = int(dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC).timestamp()) * 1_000_000
STAMP = pa.timestamp("us", tz="UTC")
SPEC = """\
feature: team_scores
source: scores
keys: [team]
window: {{size: 1h}}
values:
  total: {{}}
transform_ref: realtime_jobs/team_scores.py:Totals
{types}"""
JOB = """\
import apache_beam as beam


class Totals(beam.PTransform):
    def expand(self, events):
        return events | beam.Map(lambda e: (e.team, e.score * {factor})) | beam.CombinePerKey(sum)
"""


def project(tmp_path: Path, types: str = "", factor: str = "1.0") -> Settings:
    (tmp_path / "realtime_jobs").mkdir(parents=True, exist_ok=True)
    (tmp_path / "realtime_jobs" / "team_scores.yaml").write_text(SPEC.format(types=types))
    (tmp_path / "realtime_jobs" / "team_scores.py").write_text(JOB.format(factor=factor))
    return load_settings(tmp_path)


def write_hour(settings: Settings, hour: int, totals: list[object]) -> Path:
    """A pane file of hour `hour` after 10:00, as a pipeline's writer infers its types from `totals`."""
    start = TEN + hour * HOUR_US
    rows = [{"team": f"t{i}", "total": total, "window_start": start, "window_end": start + HOUR_US,
             "pane_timing": "ON_TIME", "pane_index": 0, "emitted_at": start + HOUR_US} for i, total in enumerate(totals)]
    folder = hour_folder(local_root(settings.online_log) / "team_scores", start)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "prod-0.parquet"
    pq.write_table(pane_table(rows, ("team", "total", *PANE_COLUMNS)), path)
    return path


def test_files_inferred_as_int_and_as_double_read_back_as_int(tmp_path: Path) -> None:
    settings = project(tmp_path)
    write_hour(settings, 0, [3, 5])
    doubled = write_hour(settings, 1, [4.0, 6.0])
    assert pq.read_schema(doubled).field("total").type == pa.float64()  # what the writer inferred
    rows = read_online(load_feature("team_scores", tmp_path), open_source(settings.online_log), TEN, TEN + 2 * HOUR_US).rows
    assert str(rows["total"].dtype) == "Int64"
    assert rows["total"].tolist() == [3, 5, 4, 6]


def test_undeclared_fractions_widen_to_double_without_loss(tmp_path: Path) -> None:
    settings = project(tmp_path)
    write_hour(settings, 0, [3, 5])
    write_hour(settings, 1, [4.5, 6.0])
    rows = read_online(load_feature("team_scores", tmp_path), open_source(settings.online_log), TEN, TEN + 2 * HOUR_US).rows
    assert rows["total"].dtype.kind == "f" and rows["total"].tolist() == [3.0, 5.0, 4.5, 6.0]


def test_a_value_the_declared_type_cannot_hold_is_one_line_naming_its_file(tmp_path: Path) -> None:
    settings = project(tmp_path, types="online_types: {team: string, total: bigint}\n")
    write_hour(settings, 0, [3, 5])
    lossy = write_hour(settings, 1, [4.0, 6.5])
    with pytest.raises(DataError) as caught:
        read_online(load_feature("team_scores", tmp_path), open_source(settings.online_log), TEN, TEN + 2 * HOUR_US)
    message = str(caught.value)
    assert message.startswith(f"{lossy}: column 'total' (double) cannot be read as int64 without loss")
    assert "6.5" in message and "\n" not in message


def test_a_spec_declaring_an_unknown_type_or_column_does_not_load(tmp_path: Path) -> None:
    from parity.errors import SpecError

    project(tmp_path, types="online_types: {total: integr}\n")
    with pytest.raises(SpecError, match="unknown column type 'integr'"):
        load_feature("team_scores", tmp_path)
    project(tmp_path, types="online_types: {score: bigint}\n")
    with pytest.raises(SpecError, match="online_types names score, not a key or value"):
        load_feature("team_scores", tmp_path)


def scores() -> pa.Table:
    times = [TEN + n * 60_000_000 for n in range(6)]
    return pa.table({"event_id": [f"e{n}" for n in range(6)], "event_time": pa.array(times, type=pa.int64()).cast(STAMP),
                     "ingest_time": pa.array(times, type=pa.int64()).cast(STAMP), "team": ["a", "b"] * 3,
                     "score": pa.array(range(6), type=pa.int64())})


def test_the_stream_writes_the_declared_type_whatever_the_job_returns(tmp_path: Path) -> None:
    # The job returns float totals (score * 1.0); the feature declares them bigint.
    settings = project(tmp_path, types="online_types: {total: bigint}\n")
    result = run_stream(load_feature("team_scores", tmp_path), settings, scores(), mode=Mode.FAST)
    assert result.files and all(pq.read_schema(f).field("total").type == pa.int64() for f in result.files)
    assert sorted(pc.cast(result.panes().column("total"), pa.int64()).to_pylist()) == [6, 9]


def test_a_job_value_the_declared_type_cannot_hold_fails_the_stream(tmp_path: Path) -> None:
    settings = project(tmp_path, types="online_types: {total: bigint}\n", factor="0.5")
    with pytest.raises(JobError, match=r"its output: column 'total' \(double\) cannot be read as int64 without loss"):
        run_stream(load_feature("team_scores", tmp_path), settings, scores(), mode=Mode.FAST)
    assert not list((local_root(settings.online_log) / "team_scores").rglob("*.parquet"))
