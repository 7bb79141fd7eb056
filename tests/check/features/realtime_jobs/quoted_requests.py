"""Defect (COUNT(col) vs COUNT(*)): Beam's Count counts an element whatever it holds, so requests without
an ETA are counted, while the SQL's COUNT(eta_seconds) skips them."""

from __future__ import annotations

import apache_beam as beam

from parity.geo import geohash


class QuotedRequests(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.eta_seconds))
            | "Count" >> beam.combiners.Count.PerKey()
        )
