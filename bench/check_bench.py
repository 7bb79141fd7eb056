"""Cost of a one-hour `parity.check.run_check` over a 24-hour event log, against a bare Spark query over that hour.

Setup (not timed): a temporary feature project (`[tool.parity]` pointing inside it, the example features copied
from this repository) whose `ride_events` log holds 24 hours of `parity.generate.generate_rides` events written
with `parity.events.write_events`, one file per hour. The realtime output of the checked hour is not replayed on
Beam (too slow for a benchmark); it is the offline truth of that hour written as the realtime job writes it (keys,
values, window_start, window_end, pane_timing ON_TIME, pane_index 0, emitted_at), in two scenarios:
- `clean`: exactly the truth, as a healthy feature's output; nothing diverges, so no attribution query runs;
- `divergent`: `PERTURBED` of the cells damaged, half with the first value off by one, half removed, as a
  porting bug would; attribution reads them from the same pass.
- `late`: what a healthy stream outputs: the feature's Beam job replayed over the hour, dropping what arrived
  after its lateness. Every cell that late arrivals changed diverges, and attribution explains them from the
  in-time values the recompute carries (one pass): the cost of the common scheduled check.

Measured, in one process, on one SparkSession:
- bare: the feature's SQL file, unchanged, over `spark.read.parquet(<the checked hour's files>)` registered as
  the source view, collected with `toPandas()`;
- check: `run_check(spec, settings, hour_start, hour_end)`, with its per-stage seconds (logger `parity.check`).

Both paths are warmed first (Spark session and JIT, the Python UDF workers, the Great Expectations import), then
run `runs` times each, interleaved; the table shows medians. Target: check <= 1.5x bare.

    python -m bench.check_bench --runs 3 --rate 330
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from parity.check import run_check
from parity.events import partition_name, read_events, write_events
from parity.generate import generate_rides
from parity.offline import event_range, recompute, spark_session
from parity.online.files import write_hours
from parity.realtime import run_stream
from parity.result import CheckResult
from parity.settings import Settings, load_settings
from parity.spec import FeatureSpec, load_feature

REPO = Path(__file__).resolve().parents[1]
HOUR_US = 3_600_000_000
DAY_START_US = 1_767_571_200 * 1_000_000  # 2026-01-05T00:00:00Z
CHECKED_HOUR = 12  # windows starting in [12:00, 13:00) of that day
FEATURES = ("ride_requests", "demand_supply")
PERTURBED = 0.005
SCENARIOS = {"clean": 0.0, "divergent": PERTURBED, "late": None}  # scenario -> share of cells damaged
TARGET = 1.5
SOURCE = "ride_events"
_STAGE = re.compile(r"stage=(\w+)\b.*?seconds=([0-9.]+)")


def main(runs: int = 3, rate_per_min: int = 330, only: tuple[str, ...] = ()) -> dict[str, object]:
    """Build the project, time both paths per feature; print a table and return the numbers. `only`: some of the
    `feature:scenario` pairs (all by default)."""
    root = Path(tempfile.mkdtemp(prefix="parity-check-bench-"))
    try:
        settings = make_project(root, rate_per_min)
        start_us = DAY_START_US + CHECKED_HOUR * HOUR_US
        end_us = start_us + HOUR_US
        specs = {name: load_feature(name, settings.project) for name in FEATURES}
        scenarios = {scenario: dataclasses.replace(settings, online_log=str(root / f"online-{scenario}"))
                     for scenario in SCENARIOS}
        planted = {
            (scenario, name): write_online(spec, scenarios[scenario], start_us, end_us, share)
            for scenario, share in SCENARIOS.items()
            for name, spec in specs.items()
            if not only or f"{name}:{scenario}" in only
        }
        results: dict[str, object] = {
            "events": _event_rows(settings),
            "hour": f"{pd.Timestamp(start_us, unit='us', tz='UTC'):%Y-%m-%dT%H:%MZ}",
            "runs": runs,
        }
        for scenario, name in planted:  # warm every path before timing any: the JVM keeps getting faster
            for _ in range(2):
                bare_query(specs[name], settings, hour_files(settings, start_us))
                run_check(specs[name], scenarios[scenario], start_us, end_us)
        for (scenario, name), counts in planted.items():
            timed = time_feature(specs[name], scenarios[scenario], start_us, end_us, runs)
            results[f"{name} {scenario}"] = {**timed, **counts}
        results["load_average"] = list(os.getloadavg())
        _print(results)
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- setup ------------------------------------------------------------------------------------------------


def make_project(root: Path, rate_per_min: int) -> Settings:
    """A feature project in `root` with 24 hours of ride events in its event log."""
    for folder in ("realtime_jobs", "offline_queries"):
        shutil.copytree(REPO / folder, root / folder)
    (root / "pyproject.toml").write_text(
        "[tool.parity]\n"
        'event_log = "events"\n'
        'online_log = "online"\n'
        'quarantine = "quarantine"\n'
        'reports = "reports"\n'
        'database = "sqlite:///parity.db"\n'
    )
    settings = load_settings(root)
    events = generate_rides(DAY_START_US, 24 * HOUR_US, rate_per_min)
    write_events(events, settings.event_log, SOURCE, settings.quarantine)
    return settings


def write_online(
    spec: FeatureSpec, settings: Settings, start_us: int, end_us: int, share: float | None, seed: int = 5
) -> dict[str, int]:
    """The checked hour's offline truth as the realtime job's output, `share` of its cells damaged; for None, the
    feature's Beam job replayed over the hour (`parity.realtime.run_stream`): a healthy stream, which drops what
    arrives after its lateness. (It was once the offline restricted recompute, which agreed with the check's own
    attribution by construction.)"""
    truth = recompute(spec, settings, start_us, end_us)
    if share is None:
        lo, hi = event_range(spec.window, start_us, end_us)
        run_stream(spec, settings, read_events(settings.event_log, spec.source, lo, hi), windows=(start_us, end_us))
        return {"cells": len(truth), "shifted": 0, "removed": 0}
    else:
        rng = np.random.default_rng(seed)
        damaged = rng.choice(len(truth), size=round(len(truth) * share), replace=False)
        shifted, removed = np.array_split(damaged, 2)
        first = spec.values[0]
        online = truth.copy()
        online.loc[online.index[shifted], first] = online.loc[online.index[shifted], first] + 1
        online = online.drop(index=online.index[removed]).reset_index(drop=True)
    online["pane_timing"] = "ON_TIME"
    online["pane_index"] = np.zeros(len(online), dtype=np.int64)
    online["emitted_at"] = online["window_end"] + pd.Timedelta(seconds=3)
    # from_pandas: a null offline value (NaN in the collected float column) is written as null, as Beam writes None.
    table = pa.Table.from_pandas(online, preserve_index=False)
    write_hours(Path(settings.online_log) / spec.name, "bench", table, (start_us, end_us))
    return {"cells": len(truth), "shifted": len(shifted), "removed": len(removed)}


def _event_rows(settings: Settings) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in (settings.event_log / SOURCE).rglob("*.parquet"))


def hour_files(settings: Settings, start_us: int) -> list[str]:
    return sorted(str(f) for f in (settings.event_log / SOURCE / partition_name(start_us)).glob("*.parquet"))


# --- the two paths ----------------------------------------------------------------------------------------


def bare_query(spec: FeatureSpec, settings: Settings, files: list[str]) -> pd.DataFrame:
    """The feature's SQL as written, over just the hour's files registered as the source view."""
    spark = spark_session(settings)
    spark.read.parquet(*files).createOrReplaceTempView(spec.source)
    return spark.sql((settings.project / spec.offline_query).read_text()).toPandas()


class _Stages(logging.Handler):
    """Collects the `stage_done` records run_check logs: stage -> seconds."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        found = _STAGE.search(record.getMessage())
        if found:
            self.seconds[found.group(1)] = self.seconds.get(found.group(1), 0.0) + float(found.group(2))


@contextmanager
def _stages() -> Iterator[_Stages]:
    logger = logging.getLogger("parity.check")
    handler = _Stages()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def timed_check(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int) -> tuple[float, dict[str, float],
                                                                                              CheckResult]:
    with _stages() as stages:
        began = time.perf_counter()
        result = run_check(spec, settings, start_us, end_us)
        seconds = time.perf_counter() - began
    return seconds, stages.seconds, result


def time_feature(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int, runs: int) -> dict[str, object]:
    """Median seconds of the bare query and of the check, the check's stages, and what the check found."""
    files = hour_files(settings, start_us)
    bare_query(spec, settings, files)  # warm: session, scan, UDF workers
    _, _, result = timed_check(spec, settings, start_us, end_us)  # warm: Great Expectations, attribution
    bare: list[float] = []
    check: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(runs):  # interleaved, so a burst of load elsewhere hits both paths alike
        began = time.perf_counter()
        bare_query(spec, settings, files)
        bare.append(time.perf_counter() - began)
        seconds, stage_seconds, result = timed_check(spec, settings, start_us, end_us)
        check.append(seconds)
        for stage, value in stage_seconds.items():
            stages.setdefault(stage, []).append(value)
    bare_s, check_s = statistics.median(bare), statistics.median(check)
    return {
        "bare_s": bare_s,
        "check_s": check_s,
        "ratio": check_s / bare_s,
        "stages_s": {stage: statistics.median(values) for stage, values in stages.items()},
        "compared": result.compared,
        "matched": result.matched,
        "causes": dict(result.causes),
        "verdict": str(result.verdict),
        "events_read": result.extra.get("events_read"),
        "hour_files": len(files),
    }


def _print(results: dict[str, object]) -> None:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"check of one hour ({results['hour']}) over a 24-hour log of {results['events']} events, median of "
          f"{results['runs']} runs (seconds); target check/bare <= {TARGET}; load average now {load}")
    rows = [(name, row) for name, row in results.items() if isinstance(row, dict)]
    stage_names: list[str] = []
    for _, row in rows:
        assert isinstance(row, dict)
        stage_names += [s for s in row["stages_s"] if s not in stage_names]
    header = f"{'feature':<24} {'bare':>6} {'check':>6} {'ratio':>6} " + " ".join(f"{s:>15}" for s in stage_names)
    print(header)
    for name, row in rows:
        assert isinstance(row, dict)
        stage_cells = " ".join(f"{row['stages_s'].get(s, float('nan')):>15.2f}" for s in stage_names)
        print(f"{name:<24} {row['bare_s']:>6.2f} {row['check_s']:>6.2f} {row['ratio']:>6.2f} {stage_cells}")
    for name, row in rows:
        assert isinstance(row, dict)
        print(f"  {name}: {row['compared']} cells compared, {row['matched']} matched, causes {row['causes']}, "
              f"{row['events_read']} events read by the check; planted {row['shifted']} shifted and "
              f"{row['removed']} removed of {row['cells']}; verdict {row['verdict']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=330, help="events per minute")
    parser.add_argument("--only", nargs="*", default=[], metavar="FEATURE:SCENARIO",
                        help=f"e.g. ride_requests:clean (features {', '.join(FEATURES)}; scenarios {', '.join(SCENARIOS)})")
    arguments = parser.parse_args()
    main(arguments.runs, arguments.rate, tuple(arguments.only))
