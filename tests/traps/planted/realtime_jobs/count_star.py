"""Planted trap (count_nulls, the reverse): rows without an ETA are dropped, then rows are counted."""

from __future__ import annotations

import apache_beam as beam

from parity.geo import geohash


class CountStar(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Quoted" >> beam.Filter(lambda e: e.eta_seconds is not None)
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.event_id))
            | "Count" >> beam.combiners.Count.PerKey()
        )
