"""Defect (window one minute off): re-stamps every request one minute after its event time and windows
again, the way a job that reads the wrong clock field or time zone would. Otherwise ride_requests."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms import trigger, window
from apache_beam.transforms.combiners import ToSetCombineFn
from apache_beam.utils.timestamp import Duration, Timestamp

from parity.geo import geohash

MINUTE_US = 60_000_000


class ShiftedRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "OneMinuteLate" >> beam.Map(lambda e: window.TimestampedValue(e, Timestamp(micros=e.event_time + MINUTE_US)))
            | "Rewindow" >> beam.WindowInto(
                window.FixedWindows(60),
                trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
                accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
                allowed_lateness=Duration(seconds=120),
            )
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Count" >> beam.MapTuple(lambda cell, ids: (cell, len(ids)))
        )
