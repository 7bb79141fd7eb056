"""Defect (float bias): avg_eta's mean of the deduplicated ETAs per geohash6 cell, multiplied by (1 + 1e-6)."""

from __future__ import annotations

import apache_beam as beam
from apache_beam.transforms.combiners import ToDictCombineFn

from parity.geo import geohash

BIAS = 1e-6


class BiasedEta(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Quoted" >> beam.Filter(lambda e: e.event_type == "ride_requested" and e.eta_seconds is not None)
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), (e.event_id, e.eta_seconds)))
            | "EtaByEvent" >> beam.CombinePerKey(ToDictCombineFn())
            | "Mean" >> beam.MapTuple(lambda cell, etas: (cell, sum(etas.values()) / len(etas) * (1 + BIAS)))
        )
