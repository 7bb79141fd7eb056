"""Planted trap (avg_integer): whole-second ETAs averaged with floor division."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam

from parity.geo import geohash


def _mean(cell: str | None, etas: Iterable[float]) -> tuple[str | None, int]:
    seconds = [int(eta) for eta in etas]
    return cell, sum(seconds) // len(seconds)


class AvgEta(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Quoted" >> beam.Filter(lambda e: e.event_type == "ride_requested" and e.eta_seconds is not None)
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.eta_seconds))
            | "Group" >> beam.GroupByKey()
            | "Mean" >> beam.MapTuple(_mean)
        )
