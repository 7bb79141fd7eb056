"""Defect (missing filter): ride_requests' distinct count of event ids per geohash6 cell, without the
`event_type == 'ride_requested'` filter, so cancellations and driver pings count as requests."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.combiners import ToSetCombineFn

from parity.geo import geohash


class UnfilteredRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Count" >> beam.MapTuple(lambda cell, ids: (cell, len(ids)))
        )
