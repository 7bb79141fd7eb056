"""Defect (geohash precision off by one): ride_requests whose job keys each request by its geohash at precision 5,
not 6, so its keys are the parents of the SQL's."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.combiners import ToSetCombineFn

from parity.geo import geohash


class CoarseRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 5), e.event_id))
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Count" >> beam.MapTuple(lambda cell, ids: (cell, len(ids)))
        )
