"""A production pipeline logging its feature output with `parity.beam.LogOutputs`, then `parity check` on it.

The pipeline is what runs on Flink or Dataflow, with a `TestStream` standing in for Kafka: events stamped with
their event time, the watermark following arrivals; the pipeline's own windowing and its own job code
(ride requests per geohash6 cell, distinct event ids), then `LogOutputs`. Nothing of `parity stream` runs.
Real Beam (BundleBasedDirectRunner), real Spark for the check.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import apache_beam as beam
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.transforms import trigger, window
from apache_beam.transforms.combiners import ToSetCombineFn
from check_project import RIDE_EVENTS, at, cells, clean_rides, geohash6, is_request, make_project, us
from pyspark.sql import SparkSession

from parity.beam import LogOutputs
from parity.check import run_check
from parity.geo import geohash
from parity.realtime import Segment, event_row_type, pipeline_options, replay, replay_batches
from parity.result import Verdict
from parity.sample import in_sample
from parity.settings import Settings
from parity.spec import load_feature


class RideRequests(beam.PTransform):  # type: ignore[misc]
    """The production job: its own windows and trigger, then distinct ride requests per geohash6 cell."""

    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Minutes" >> beam.WindowInto(window.FixedWindows(60), trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                                           accumulation_mode=trigger.AccumulationMode.ACCUMULATING, allowed_lateness=120)
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Row" >> beam.MapTuple(lambda cell, ids: beam.Row(geohash6=cell, requests=len(ids)))
        )


def run_production(settings: Settings, rows: list[dict[str, Any]], logs: dict[str, tuple[Path, float]]) -> None:
    """Kafka (a TestStream of the events in arrival order) -> RideRequests -> LogOutputs, one per log."""
    spec = load_feature("ride_requests", settings.project)
    events = pa.Table.from_pylist(rows, schema=RIDE_EVENTS).sort_by([("ingest_time", "ascending")])
    row_type = event_row_type(events.schema)
    event_us = pc.cast(events["event_time"], pa.int64()).to_pylist()
    ingest_us = pc.cast(events["ingest_time"], pa.int64()).to_pylist()
    as_micros = [{k: (us(v) if isinstance(v, dt.datetime) else v) for k, v in row.items()} for row in events.to_pylist()]
    elements = [row_type(**row) for row in as_micros]
    kafka = replay(Segment(None, None, tuple(replay_batches(elements, event_us, ingest_us, spec))), row_type)
    pipeline = beam.Pipeline(options=pipeline_options(settings))
    features = pipeline | "Kafka" >> kafka | "Feature" >> RideRequests()
    for writer, (root, rate) in logs.items():
        features | f"Log-{writer}" >> LogOutputs("ride_requests", keys=["geohash6"], values=["requests"],
                                                 online_log=str(root), writer=writer, sample_rate=rate)
    pipeline.run(test_runner_api=False).wait_until_finish()


def test_a_production_pipeline_logged_with_log_outputs_passes_the_check(tmp_path: Path, spark: SparkSession) -> None:
    rows = clean_rides()
    settings = make_project(tmp_path, rows)
    sampled_log = tmp_path / "sampled-online"
    run_production(settings, rows, {"prod-eu1": (settings.online_log, 1.0), "prod-sampled": (sampled_log, 0.5)})

    files = sorted((Path(settings.online_log) / "ride_requests").rglob("*.parquet"))
    assert files and all(f.parent.as_posix().endswith("ride_requests/date=2024-06-03/hour=10") for f in files)
    assert all(f.name.startswith("prod-eu1-") for f in files)
    result = run_check(load_feature("ride_requests", settings.project), settings, us(at(0)), us(at(10)))
    requests = cells(rows, is_request, geohash6)
    assert result.verdict is Verdict.PASSED, result.failed_expectations
    assert (result.compared, result.matched, result.duplicate_online) == (len(requests), len(requests), 0)

    # The 50% log holds exactly the cells a 50% check samples, and that check passes on it.
    logged = pd.concat([pq.read_table(f).to_pandas() for f in (sampled_log / "ride_requests").rglob("*.parquet")])
    every = pd.DataFrame({"geohash6": [cell for cell, _ in requests],
                          "window_start": [pd.Timestamp(start) for _, start in requests]})
    chosen = every[in_sample("ride_requests", every, ["geohash6"], 0.5)]
    assert 0 < len(chosen) < len(every)
    assert set(zip(logged["geohash6"], logged["window_start"], strict=True)) == set(
        zip(chosen["geohash6"], chosen["window_start"], strict=True))
    half = run_check(load_feature("ride_requests", settings.project),
                     dataclasses.replace(settings, online_log=str(sampled_log)),
                     us(at(0)), us(at(10)), sample_rate=0.5)
    assert half.verdict is Verdict.PASSED and half.compared == half.matched == len(chosen)
