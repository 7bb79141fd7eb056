"""`parity replay`: the recorded log against a fresh replay and offline, each divergent cell classified.

Real Beam for the recorded stream and the replay, real Spark for both checks. `clean_rides()` has no late
event, so no cell is `late_arrival` here (tests/check/test_late_data.py covers what `check` calls late).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from check_project import END, RIDE_EVENTS, START, at, cells, clean_rides, geohash6, is_request, make_project, us
from pyspark.sql import SparkSession
from typer.testing import CliRunner

from parity.cli import app
from parity.realtime import run_stream
from parity.replay import EXAMPLES, ReplayClass, replay_text, run_replay
from parity.spec import load_feature


def test_a_job_with_a_planted_bug_is_job_logic(tmp_path: Path, spark: SparkSession) -> None:
    rows = clean_rides()
    settings = make_project(tmp_path, rows)
    spec = load_feature("unfiltered_requests", settings.project)  # counts cancellations and pings as requests
    recorded = run_stream(spec, settings, pa.Table.from_pylist(rows, schema=RIDE_EVENTS), windows=(us(at(0)), us(at(10))))
    result = run_replay(spec, settings, us(at(0)), us(at(10)))
    divergent = result.recorded.compared - result.recorded.matched
    assert divergent > 5
    assert result.classes == {**dict.fromkeys(ReplayClass, 0), ReplayClass.JOB_LOGIC: divergent}
    assert result.recorded_vs_replay.agreement == 1.0
    text = replay_text(result)
    assert f"job_logic {divergent}, runtime 0, nondeterminism 0" in text and text.count("    job_logic ") == EXAMPLES
    assert result.replay.matched == result.recorded.matched
    # The replay went to its own log; the recorded one is as the stream left it.
    assert result.replay_log != recorded.path and list(result.replay_log.rglob("replay.*.parquet"))
    assert sorted(recorded.path.rglob("*.parquet")) == list(recorded.files)


def test_a_recorded_log_with_rows_removed_or_altered_is_runtime(tmp_path: Path, spark: SparkSession) -> None:
    rows = clean_rides()
    settings = make_project(tmp_path, rows)
    spec = load_feature("ride_requests", settings.project)
    recorded = run_stream(spec, settings, pa.Table.from_pylist(rows, schema=RIDE_EVENTS), windows=(us(at(0)), us(at(10))))
    (file,) = recorded.files
    frame = pq.read_table(file).to_pandas()
    cell_of = list(zip(frame["geohash6"], frame["window_start"], strict=True))
    removed, altered = sorted(set(cell_of))[:2], sorted(set(cell_of))[5]
    frame = frame[[cell not in removed for cell in cell_of]].copy()  # production lost these messages
    changed = [(g, w) == altered for g, w in zip(frame["geohash6"], frame["window_start"], strict=True)]
    frame.loc[changed, "requests"] += 1  # and wrote a wrong value here (another job version, say)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), file)

    done = CliRunner().invoke(app, ["replay", "ride_requests", "--start", START, "--end", END, "--format", "json",
                                    "--project", str(settings.project)])
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["classes"] == {"late_arrival": 0, "job_logic": 0, "runtime": 3, "nondeterminism": 0}
    requests = cells(rows, is_request, geohash6)
    assert body["replay_vs_offline"]["passed"] and body["replay_vs_offline"]["matched"] == len(requests)
    assert body["recorded_vs_offline"]["matched"] == len(requests) - 3
    assert body["recorded_vs_replay"]["matched"] == len(requests) - 3
    runtime = {(c["keys"]["geohash6"], pd.Timestamp(c["window_start"])) for c in body["examples"]}
    assert runtime == {*removed, altered}
