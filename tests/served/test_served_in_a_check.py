"""`run_check(..., served=True)` end to end: the hand-made ride_events log (tests/conftest.py: late arrivals
`late1` and `late2` planted) streamed by Beam, its panes written into a real Redis on the replayed clock (each at
the instant the replay emitted it, `replayed_emission`), tapped on that simulated clock, then checked: Spark's
offline rows, the stream's panes and the emitted check's causes meet the tap's reads in one served block."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import redis
from pyspark.sql import SparkSession
from test_served_redis import ONCE, Replay

from parity.check import read_online, run_check
from parity.events import read_events
from parity.online import open_source
from parity.online_store import open_store
from parity.online_store.server import LocalServer
from parity.realtime import run_stream
from parity.result import Cause
from parity.sample import window_micros
from parity.served import StoreCause, replayed_emission
from parity.served_log import Clock, ServedLogWriter, log_schema
from parity.settings import Settings
from parity.spec import load_feature
from parity.tap import known_keys, run_tap
from parity.units import MINUTE_US, US

BASE_US = 1_714_557_600_000_000  # 2024-05-01T10:00:00Z, the hand-made log's base


def test_a_check_with_served_reads_names_late_data_as_compute_and_finds_no_store_fault(
        ride_events_settings: Settings, spark: SparkSession, tmp_path: Path, redis_server: LocalServer) -> None:
    settings = dataclasses.replace(ride_events_settings, online_log=tmp_path / "online", served_log=tmp_path / "served",
                                   reports=tmp_path / "reports")
    spec = load_feature("ride_requests", settings.project)
    run_stream(spec, settings, read_events(settings.event_log, spec.source))
    panes = read_online(spec, open_source(settings.online_log), BASE_US - 60 * MINUTE_US, BASE_US + 60 * MINUTE_US).rows
    frame = pd.DataFrame({"geohash6": panes["geohash6"].astype(object), "requests": panes["requests"].astype(int),
                          "window_start": window_micros(panes["window_start"]),
                          "window_end": window_micros(panes["window_end"]),
                          "pane_index": panes["pane_index"].astype(int)})
    frame["emitted_at"] = replayed_emission(spec, frame)
    with redis.Redis.from_url(redis_server.url) as raw:
        raw.flushdb()
    start = BASE_US + 2 * MINUTE_US
    replay = Replay(open_store(redis_server.url), frame.to_dict("records"), now=start, spec=spec)
    keys, schema = known_keys(open_source(settings.online_log).read(spec.name, BASE_US, BASE_US + 60 * MINUTE_US), spec)
    writer = ServedLogWriter(settings.served_reads, spec, log_schema(spec, schema), Clock.SIMULATED)
    tapped = run_tap(spec, lambda: open_store(redis_server.url, retry=ONCE), keys, writer, replay,
                     duration_us=10 * MINUTE_US, rate_per_s=len(keys) / 5, batch=len(keys))
    assert tapped.reads == len(keys) * 120 and tapped.missed == 0

    result = run_check(spec, settings, BASE_US, BASE_US + 10 * MINUTE_US, served=True)
    served: dict[str, Any] | None = result.served
    assert served is not None and served["clock"] == "simulated" and served["reads"] > 100
    assert not any(served["causes"][c.value] for c in StoreCause), served["causes"]  # a correct store
    divergent = {c for c, n in served["causes"].items() if n}
    assert divergent <= {Cause.LATE_ARRIVAL.value}, served["causes"]  # late1 / late2: the stream's, not the store's
    # Fresh, but for the key whose window 10:02 only late events fed (late2): the stream never emitted it, so the
    # store's value stayed older than a window offline has, and those reads count their age against the SLA.
    assert served["freshness_p50_s"] <= spec.served_rules.freshness_us / US
    assert 0.8 < served["within_sla"] < 1.0
    assert 0 < served["served_agreement"] <= 1 and served["emitted_agreement"] == result.agreement
