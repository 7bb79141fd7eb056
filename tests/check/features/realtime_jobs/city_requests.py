"""Ride requests per city per window: distinct event ids, so a duplicate delivery counts once."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.combiners import ToSetCombineFn


class CityRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "City" >> beam.Map(lambda e: (e.city, e.event_id))
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Count" >> beam.MapTuple(lambda city, ids: (city, len(ids)))
        )
