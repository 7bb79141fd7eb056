"""The four shipped examples, job against SQL, on a small frame each, through `parity.testing.assert_parity`.

The frame (base 2026-11-26 10:00 UTC, two geohash6 cells in one geohash5 cell and one cell in New York):
- duplicates: request r1 delivered twice (40 s apart), driver d1 pinging twice in one minute;
- nulls: a request without an ETA, a ping without a driver_id, a ping whose `available` is null, a request
  without a rider;
- an empty window: nothing happens in 10:02-10:03 (and a gap of 10:06-10:08 inside demand_supply's sliding windows);
- no supply: New York has requests and only an unavailable ping (demand_supply's ratio is null there).
Every event arrives 1 s after it happens (on time). A planted wrong job (ride_requests counting every delivery)
must make `assert_parity` fail with the divergence table naming the cell it gets wrong.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from pyspark.sql import SparkSession

from parity.testing import assert_parity, events, ride_event

REPO = Path(__file__).resolve().parents[2]
SF_A, SF_B, NYC = "9q8yyk", "9q8yym", "dr5reg"


def example_frame() -> pa.Table:
    return events(
        ride_event("r1", "2026-11-26T10:00:05Z", cell=SF_A, eta_seconds=120.0),
        ride_event("r1", "2026-11-26T10:00:05Z", cell=SF_A, eta_seconds=120.0, delay="40s"),
        ride_event("r2", "2026-11-26T10:00:30Z", cell=SF_A, eta_seconds=None),
        ride_event("r3", "2026-11-26T10:01:10Z", cell=SF_B, eta_seconds=301.5, rider_id=None),
        ride_event("c1", "2026-11-26T10:01:20Z", "ride_cancelled", cell=SF_B),
        ride_event("p1", "2026-11-26T10:00:10Z", "driver_ping", cell=SF_A, driver_id="d1"),
        ride_event("p2", "2026-11-26T10:00:50Z", "driver_ping", cell=SF_A, driver_id="d1"),
        ride_event("p3", "2026-11-26T10:01:00Z", "driver_ping", cell=SF_B, driver_id=None),
        ride_event("p4", "2026-11-26T10:01:30Z", "driver_ping", cell=SF_B, driver_id="d2", available=None),
        ride_event("p5", "2026-11-26T10:03:15Z", "driver_ping", cell=SF_B, driver_id="d3"),
        ride_event("n1", "2026-11-26T10:03:40Z", cell=NYC, eta_seconds=60.0),
        ride_event("n2", "2026-11-26T10:04:10Z", cell=NYC, eta_seconds=90.0),
        ride_event("p6", "2026-11-26T10:04:20Z", "driver_ping", cell=NYC, driver_id="d9", available=False),
        ride_event("r4", "2026-11-26T10:08:30Z", cell=SF_A, eta_seconds=200.0),
    )


@pytest.mark.parametrize("feature", ["ride_requests", "available_drivers", "demand_supply", "avg_eta"])
def test_example_job_agrees_with_its_sql_on_nulls_duplicates_and_empty_windows(feature: str, spark: SparkSession) -> None:
    result = assert_parity(feature, example_frame(), REPO)
    assert result.compared > 0 and result.matched == result.compared
    if feature == "ride_requests":  # r1 twice counts once; the empty minute 10:02 has no cell on either side
        windows = {window.window_start: window.compared for window in result.windows}
        assert "2026-11-26T10:02:00Z" not in windows and windows["2026-11-26T10:00:00Z"] == 1


def wrong_project(root: Path) -> Path:
    """The examples, with ride_requests' job counting every delivery instead of distinct event ids."""
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    job = root / "realtime_jobs" / "ride_requests.yaml"
    planted = job.read_text().replace('requests: "len(event_ids)"', "requests: event_ids").replace(
        "fn: {type: apache_beam.transforms.combiners.ToSetCombineFn, config: {}}", "fn: count")
    assert planted != job.read_text()
    job.write_text(planted)
    (root / "pyproject.toml").write_text('[tool.parity]\nspark_master = "local[2]"\n')
    return root


def test_a_planted_wrong_job_fails_with_the_divergent_cell_in_the_table(tmp_path: Path, spark: SparkSession) -> None:
    with pytest.raises(AssertionError) as failed:
        assert_parity("ride_requests", example_frame(), wrong_project(tmp_path / "project"))
    message = str(failed.value)
    assert "1 of 5 cells diverge (1 unexplained)" in message
    table = [line.split() for line in message.splitlines()]
    assert ["key", "window", "value", "offline", "online", "cause"] in table
    assert ["geohash6=9q8yyk", "2026-11-26T10:00:00Z", "requests", "2", "3", "unexplained"] in table
    report = Path(message.splitlines()[-1].removeprefix("report: "))
    assert report.is_file() and report.suffix == ".html"  # kept for the reader of the failure
    shutil.rmtree(report.parents[2])
