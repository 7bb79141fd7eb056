"""Defect (dropped key): ride_requests, except that every row of the geohash6 cell `9q8yvx` is dropped."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.combiners import ToSetCombineFn

from parity.geo import geohash

DROPPED_CELL = "9q8yvx"


class RequestsButOneCell(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "DropOneCell" >> beam.Filter(lambda pair: pair[0] != DROPPED_CELL)
            | "Ids" >> beam.CombinePerKey(ToSetCombineFn())
            | "Count" >> beam.MapTuple(lambda cell, ids: (cell, len(ids)))
        )
