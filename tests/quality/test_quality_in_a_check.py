"""The data expectations in a real check (Beam stream, Spark recompute): they judge what the readers read.

A project of one feature, `city_requests` (tests/check/features: requests per free-text city per minute), over
ride requests at two cities from 10:00 to 10:10 (2024-06-03 UTC) and driver pings to 10:17 that settle the range:
- `test_a_misplaced_event_and_a_stray_online_row_make_the_check_inconclusive` plants, after the stream, an event
  file in partition hour=10 holding an 11:30 event and an event without event_time, and an online row for the
  10:12 window in the file that covers windows [10:00, 10:10): the range filters drop all three;
- `test_null_keys_the_offline_result_has_too_pass` has one request in ten without a city: both sides emit a NULL
  city cell, a legitimate key.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from parity.check import run_check
from parity.events import read_events, write_events
from parity.generate import SCHEMA
from parity.offline import event_range
from parity.realtime import run_stream
from parity.result import Verdict
from parity.settings import Settings, load_settings
from parity.spec import load_feature

FEATURES = Path(__file__).resolve().parents[1] / "check" / "features"
BASE = dt.datetime(2024, 6, 3, 10, 0, tzinfo=dt.UTC)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def us(minute: float) -> int:
    return (BASE + dt.timedelta(minutes=minute) - EPOCH) // dt.timedelta(microseconds=1)


def ride(event_id: str, minute: float, event_type: str, city: str | None) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    moment = BASE + dt.timedelta(minutes=minute)
    row.update(event_id=event_id, event_time=moment, ingest_time=moment + dt.timedelta(seconds=2),
               event_type=event_type, city=city, lat=38.72, lon=-9.14, device_id=f"dev-{event_id}")
    return row


def streamed_project(root: Path, null_city_every: int = 0) -> Settings:
    """The project of the module docstring in `root`, its windows [10:00, 10:10) streamed on Beam."""
    for folder in ("realtime_jobs", "offline_queries"):
        (root / folder).mkdir()
    for name in ("realtime_jobs/city_requests.py", "realtime_jobs/city_requests.yaml", "offline_queries/city_requests.sql"):
        shutil.copy(FEATURES / name, root / name)
    (root / "pyproject.toml").write_text(
        '[tool.parity]\nevent_log = "events"\nonline_log = "online"\nquarantine = "quarantine"\n'
        'reports = "reports"\nspark_master = "local[2]"\nbeam_runner = "BundleBasedDirectRunner"\n'
    )
    settings = load_settings(root)
    rows = []
    for n in range(60):
        city = None if null_city_every and n % null_city_every == 0 else ("lisbon", "porto")[n % 2]
        rows.append(ride(f"r{n}", n / 6 + 0.05, "ride_requested", city))
    rows += [ride(f"p{n}", 10 + n / 3, "driver_ping", "lisbon") for n in range(22)]
    assert write_events(pa.Table.from_pylist(rows, schema=SCHEMA), settings.event_log, "ride_events",
                        settings.quarantine).rows_quarantined == 0
    spec = load_feature("city_requests", root)
    events = read_events(settings.event_log, "ride_events", *event_range(spec.window, us(0), us(10)))
    run_stream(spec, settings, events, windows=(us(0), us(10)))
    return settings


def test_a_misplaced_event_and_a_stray_online_row_make_the_check_inconclusive(
    tmp_path: Path, spark: SparkSession
) -> None:
    settings = streamed_project(tmp_path)
    spec = load_feature("city_requests", tmp_path)
    clean = run_check(spec, settings, us(0), us(10))
    assert clean.verdict is Verdict.PASSED, clean.failed_expectations
    sub_range = run_check(spec, settings, us(2), us(5))  # the online file also holds windows outside it: normal
    assert sub_range.verdict is Verdict.PASSED, sub_range.failed_expectations

    hour = settings.event_log / "ride_events" / "date=2024-06-03" / "hour=10"
    planted = [ride("misplaced", 90, "ride_requested", "lisbon"), ride("timeless", 5, "ride_requested", "porto")]
    planted[1]["event_time"] = None
    pq.write_table(pa.Table.from_pylist(planted, schema=SCHEMA), hour / "other-writer.parquet")
    (online_file,) = (Path(settings.online_log) / "city_requests").rglob("stream.*.parquet")
    online = pq.read_table(online_file).to_pandas()
    stray = online.head(1).copy()
    stray[["window_start", "window_end"]] = [pd.Timestamp(us(12), unit="us", tz="UTC"),
                                             pd.Timestamp(us(13), unit="us", tz="UTC")]
    pq.write_table(pa.Table.from_pandas(pd.concat([online, stray], ignore_index=True), preserve_index=False),
                   online_file)

    result = run_check(spec, settings, us(0), us(10))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.compared == clean.compared and result.matched == clean.matched  # the cells themselves agree
    failed = {(f["suite"], f["expectation"]): f["observed"] for f in result.failed_expectations}
    assert set(failed) == {("events", "expect_table_row_count_to_equal"), ("online", "expect_table_row_count_to_equal")}
    assert failed["events", "expect_table_row_count_to_equal"] == (
        "2 rows, e.g. misplaced at 2024-06-03T11:30:00Z in date=2024-06-03/hour=10; "
        "timeless at null in date=2024-06-03/hour=10"
    )
    assert failed["online", "expect_table_row_count_to_equal"] == f"1 row, e.g. 2024-06-03T10:12:00Z in date=2024-06-03/hour=10/{online_file.name}"


def test_null_keys_the_offline_result_has_too_pass(tmp_path: Path, spark: SparkSession) -> None:
    settings = streamed_project(tmp_path, null_city_every=10)
    online = pq.read_table(next((Path(settings.online_log) / "city_requests").rglob("*.parquet"))).to_pandas()
    assert online["city"].isna().sum() == 6  # the six minutes with a request without a city
    result = run_check(load_feature("city_requests", tmp_path), settings, us(0), us(10))
    assert result.verdict is Verdict.PASSED, result.failed_expectations
    assert result.compared == result.matched == 26
