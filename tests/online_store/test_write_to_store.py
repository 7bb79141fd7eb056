"""`parity.beam.WriteToStore` in a streaming Beam pipeline writing into the real server: a late pane of an older
window, fired after the newer window's pane, never replaces it under the newest-window rule, and does under
last-arrival (the fault a naive writer plants)."""

from __future__ import annotations

import apache_beam as beam
import pytest
import redis
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms import trigger, window

from parity.beam import WriteToStore
from parity.online_store import ConflictRule, OnlineStore, StoredValue
from parity.online_store.server import LocalServer

S = 1_000_000


def late_pane_pipeline(url: str, rule: ConflictRule) -> None:
    """Key 9q8yyk: window [0, 60) fires on time (1 request), window [60, 120) fires on time (1 request), then a late
    request of [0, 60) fires that window's LATE pane (2 requests, accumulating). Key dr5reg: one on-time window."""
    events = (
        TestStream()
        .advance_watermark_to(0)
        .add_elements([window.TimestampedValue(("9q8yyk", 1), 10), window.TimestampedValue(("dr5reg", 1), 15)])
        .advance_watermark_to(65)
        .add_elements([window.TimestampedValue(("9q8yyk", 1), 70)])
        .advance_watermark_to(125)
        .add_elements([window.TimestampedValue(("9q8yyk", 1), 20)])  # late for [0, 60)
        .advance_watermark_to_infinity()
    )
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as pipeline:
        (
            pipeline
            | events
            | beam.WindowInto(window.FixedWindows(60), trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                              accumulation_mode=trigger.AccumulationMode.ACCUMULATING, allowed_lateness=600)
            | beam.CombinePerKey(sum)
            | WriteToStore("ride_requests", keys=["geohash6"], values=["requests"], store=url, rule=rule,
                           window_size_us=60 * S, clock=lambda: 777)
        )


@pytest.mark.parametrize(("rule", "window_end", "requests"), [
    (ConflictRule.NEWEST_WINDOW, 120 * S, 1),  # the newer window stays
    (ConflictRule.LAST_ARRIVAL, 60 * S, 2),  # the late pane of the older window replaced it
])
def test_write_to_store_applies_the_rule_to_a_late_pane_of_an_older_window(
        redis_server: LocalServer, store: OnlineStore, raw: redis.Redis, rule: ConflictRule, window_end: int,
        requests: int) -> None:
    late_pane_pipeline(redis_server.url, rule)
    held = store.read("ride_requests", [{"geohash6": "9q8yyk"}, {"geohash6": "dr5reg"}])
    assert held[0] == StoredValue({"requests": requests}, window_end - 60 * S, window_end, 777)
    assert held[1] == StoredValue({"requests": 1}, 0, 60 * S, 777)
