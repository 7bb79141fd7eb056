"""Planted trap (window): the job windows its elements itself, into 2 minutes."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms import window

from parity.geo import geohash


class Requests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "TwoMinutes" >> beam.WindowInto(window.FixedWindows(120))
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "Distinct" >> beam.Distinct()
            | "Count" >> beam.combiners.Count.PerKey()
        )
