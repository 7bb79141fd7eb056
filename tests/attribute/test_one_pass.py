"""The one-pass rewrite (`parity.in_time`): which queries it takes, and that its in-time values are exactly the
query's values over only the events that arrived in time (`recompute_restricted`, the per-phase recompute that
filters the events themselves), for random events, lateness, tumbling and sliding windows and every aggregate
shape it supports, including cells whose events are all late."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from killing import FULL

from parity.attribute import in_time_frame
from parity.in_time import in_time_query
from parity.offline import recompute, recompute_restricted
from parity.query import parse_query, read_query
from parity.settings import Settings
from parity.spec import FeatureSpec, load_feature

REPO = Path(__file__).resolve().parents[2]
FEATURES = REPO / "tests" / "check" / "features"


@pytest.mark.parametrize(
    ("project", "name"),
    [(REPO, n) for n in ("available_drivers", "avg_eta", "demand_supply", "ride_requests")]
    + [(FEATURES, p.stem) for p in sorted((FEATURES / "realtime_jobs").glob("*.yaml"))],
)
def test_every_shipped_and_end_to_end_feature_is_attributed_in_one_pass(project: Path, name: str) -> None:
    spec = load_feature(name, project)
    # The end-to-end projects copy the shipped queries beside the test features' own (tests/check/check_project.py).
    sql = spec.offline_query if spec.offline_query.is_file() else REPO / "offline_queries" / spec.offline_query.name
    tree = parse_query(sql.read_text(), sql.name)
    assert in_time_query(tree, spec.source, (spec.allowed_lateness_us,)) is not None


WINDOWED = "GROUP BY city, window(event_time, '1 minute')"


@pytest.mark.parametrize(
    "sql",
    [
        # the window in an inner query, the aggregate in an outer one
        (f"WITH w AS (SELECT city, window.start AS window_start, window.end AS window_end, event_id FROM ride_events "
        f"{WINDOWED}, event_id) SELECT city, window_start, window_end, COUNT(*) AS n FROM w "
        "GROUP BY city, window_start, window_end"),
        # a join of windowed relations
        (f"SELECT a.city, a.window_start, a.window_end, a.n + b.n AS n FROM (SELECT city, window.start AS window_start, "
        f"window.end AS window_end, COUNT(*) AS n FROM ride_events {WINDOWED}) a JOIN (SELECT city, window.start AS "
        f"window_start, window.end AS window_end, COUNT(*) AS n FROM ride_events {WINDOWED}) b "
        "ON a.city = b.city AND a.window_start = b.window_start"),
        # a window function over aggregates
        ("SELECT city, window.start AS window_start, window.end AS window_end, "
        f"RANK() OVER (PARTITION BY window.start ORDER BY COUNT(*)) AS n FROM ride_events {WINDOWED}"),
        # order-sensitive aggregates
        f"SELECT city, window.start AS window_start, window.end AS window_end, FIRST(eta_seconds) AS n FROM ride_events {WINDOWED}",
        (f"SELECT city, window.start AS window_start, window.end AS window_end, COLLECT_LIST(eta_seconds) AS n "
        f"FROM ride_events {WINDOWED}"),
        # a HAVING decides which cells exist
        (f"SELECT city, window.start AS window_start, window.end AS window_end, COUNT(*) AS n FROM ride_events {WINDOWED} "
        "HAVING COUNT(*) > 1"),
        # a filter on a value above the aggregation
        (f"WITH c AS (SELECT city, window.start AS window_start, window.end AS window_end, COUNT(*) AS n FROM ride_events "
        f"{WINDOWED}) SELECT * FROM c WHERE n > 1"),
        # COUNT(DISTINCT a, b) skips rows where either is null: not one CASE
        (f"SELECT city, window.start AS window_start, window.end AS window_end, COUNT(DISTINCT event_id, rider_id) AS n "
        f"FROM ride_events {WINDOWED}"),
    ],
)
def test_queries_the_rewrite_cannot_prove_fall_back_to_the_per_phase_recompute(sql: str) -> None:
    assert in_time_query(parse_query(sql, "q.sql"), "ride_events", (0,)) is None


def test_the_cutoff_is_the_replays_window_end_plus_lateness_plus_one_tick() -> None:
    sql = f"SELECT city, window.start AS window_start, window.end AS window_end, COUNT(*) AS n FROM ride_events {WINDOWED}"
    rewritten = in_time_query(parse_query(sql, "q.sql"), "ride_events", (120_000_000,))
    assert rewritten is not None
    text = rewritten.tree.sql(dialect="spark")
    assert "COUNT(CASE WHEN ingest_time < TIMESTAMP_MICROS(UNIX_MICROS(window.end) + 121000000) THEN 1 END)" in text


# --- the property -----------------------------------------------------------------------------------------

BASE = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.UTC)
BASE_US = int(BASE.timestamp()) * 1_000_000
CITIES = ("sf", "nyc", None)
# Every aggregate shape the rewrite supports, on a plain query and over a deduplicating CTE / an outer projection.
SHAPES = {
    "plain": (
        ("SELECT city, window.start AS window_start, window.end AS window_end, COUNT(*) AS deliveries, "
        "COUNT(DISTINCT event_id) AS requests, COUNT(eta_seconds) AS quoted, SUM(eta_seconds) AS eta_sum, "
        "AVG(eta_seconds) AS eta_avg, MIN(eta_seconds) AS eta_min, MAX(eta_seconds) AS eta_max, "
        "try_divide(SUM(eta_seconds), CAST(COUNT(DISTINCT event_id) AS DOUBLE)) AS eta_per_request "
        "FROM ride_events WHERE event_type = 'ride_requested' GROUP BY city, window(event_time, {window})"),
        ("deliveries", "requests", "quoted", "eta_sum", "eta_avg", "eta_min", "eta_max", "eta_per_request"),
    ),
    "deduplicated": (
        ("WITH requests AS (SELECT DISTINCT event_id, event_time, city, eta_seconds FROM ride_events "
        "WHERE event_type = 'ride_requested') SELECT city, window.start AS window_start, window.end AS window_end, "
        "COUNT(*) AS requests, AVG(eta_seconds) AS eta_avg FROM requests GROUP BY city, window(event_time, {window})"),
        ("requests", "eta_avg"),
    ),
    "projected": (
        ("WITH counts AS (SELECT city, window.start AS window_start, window.end AS window_end, "
        "COUNT(DISTINCT CASE WHEN event_type = 'ride_requested' THEN event_id END) AS requests, "
        "COUNT(DISTINCT CASE WHEN event_type = 'driver_ping' THEN event_id END) AS pings FROM ride_events "
        "GROUP BY city, window(event_time, {window})) SELECT city, window_start, window_end, requests, pings, "
        "try_divide(CAST(requests AS DOUBLE), CAST(pings AS DOUBLE)) AS ratio FROM counts"),
        ("requests", "pings", "ratio"),
    ),
}
WINDOWS = {"tumbling": ("'1 minute'", "{size: 1m}"), "sliding": ("'3 minutes', '1 minute'", "{size: 3m, slide: 1m}")}


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory, repo_settings: Settings) -> tuple[Settings, dict[str, FeatureSpec]]:
    """A project with every shape x window as a feature."""
    project = tmp_path_factory.mktemp("one_pass")
    (project / "realtime_jobs").mkdir()
    (project / "offline_queries").mkdir()
    specs = {}
    for shape, (sql, values) in SHAPES.items():
        for window_name, (window_sql, window_yaml) in WINDOWS.items():
            name = f"{shape}_{window_name}"
            (project / "offline_queries" / f"{name}.sql").write_text(sql.format(window=window_sql))
            (project / "realtime_jobs" / f"{name}.yaml").write_text(
                f"feature: {name}\nsource: ride_events\nkeys: [city]\nwindow: {window_yaml}\n"
                f"values: {{{', '.join(f'{v}: {{}}' for v in values)}}}\ntransform_ref: realtime_jobs/job.py:Job\n"
            )
            specs[name] = load_feature(name, project)
    return dataclasses.replace(repo_settings, project=project), specs


def random_events(event: Callable[..., dict[str, Any]], seed: int, count: int) -> list[dict[str, Any]]:
    """Events over 6 minutes: some delivered twice, some null ETAs, arrival delays from 0 to 5 minutes."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        happened = BASE + dt.timedelta(seconds=rng.randrange(0, 360))
        kind = rng.choice(["ride_requested", "ride_requested", "driver_ping"])
        eta = None if rng.random() < 0.2 else float(rng.randrange(30, 900))
        city = rng.choice(CITIES)
        for _ in range(2 if rng.random() < 0.15 else 1):
            delay = dt.timedelta(seconds=rng.choice([1, 2, 5, 30, 60, 90, 150, 200, 300]))
            rows.append(event(f"e{i}", happened, kind, ingest_time=happened + delay, city=city, eta_seconds=eta))
    return rows


@settings(max_examples=60 if FULL else 8, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(0, 10_000),
    count=st.integers(1, 40),
    lateness_s=st.sampled_from([0, 30, 60, 120]),
    feature=st.sampled_from([f"{s}_{w}" for s in SHAPES for w in WINDOWS]),
)
def test_one_pass_in_time_values_equal_the_query_over_only_the_in_time_events(
    spark: Any, shapes: tuple[Settings, dict[str, FeatureSpec]], tmp_path_factory: pytest.TempPathFactory,
    ride_event: Callable[..., dict[str, Any]], event_log_writer: Callable[..., None],
    seed: int, count: int, lateness_s: int, feature: str,
) -> None:
    settings_, specs = shapes
    spec = dataclasses.replace(specs[feature], allowed_lateness_us=lateness_s * 1_000_000)
    log = tmp_path_factory.mktemp("events")
    event_log_writer(log, "ride_events", random_events(ride_event, seed, count))
    run = dataclasses.replace(settings_, event_log=log)
    start, end = BASE_US - 2 * 60_000_000, BASE_US + 8 * 60_000_000
    in_time = in_time_query(read_query(spec, run.project), spec.source, (spec.allowed_lateness_us,))
    assert in_time is not None
    full = recompute(spec, run, start, end, in_time=in_time)
    one_pass = in_time_frame(full, spec, in_time, 0)
    restricted = recompute_restricted(spec, run, full)  # every cell, its events filtered by arrival

    def by_cell(frame: pd.DataFrame) -> dict[tuple[Any, int], tuple[Any, ...]]:
        return {
            (None if pd.isna(row["city"]) else row["city"], int(row["window_start"].value // 1000)):
                tuple(None if pd.isna(row[v]) else round(float(row[v]), 9) for v in spec.values)
            for row in frame.to_dict("records")
        }

    assert by_cell(one_pass) == by_cell(restricted)
