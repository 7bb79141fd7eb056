"""ride_requests in Python (distinct event ids per geohash6 cell): a correct job. The defect planted with it is in
how it is run: two streams over overlapping ranges of windows (tests/check/test_diagnoses.py)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.combiners import ToSetCombineFn

from parity.geo import geohash


class OverlappingRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Count" >> beam.MapTuple(lambda cell, ids: (cell, len(ids)))
        )
