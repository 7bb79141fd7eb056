"""Defect (time zone): ride_requests whose job formats each event time as wall-clock time in the server's zone
(Asia/Jakarta, UTC+7) and reads it back as UTC, then windows again: every window lands 7 hours late."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms import trigger, window
from apache_beam.transforms.combiners import ToSetCombineFn
from apache_beam.utils.timestamp import Duration, Timestamp

from parity.geo import geohash

JAKARTA_OFFSET_US = 7 * 3600 * 1_000_000


class ZonedRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "LocalTimeAsUtc" >> beam.Map(
                lambda e: window.TimestampedValue(e, Timestamp(micros=e.event_time + JAKARTA_OFFSET_US)))
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
