"""Distinct available drivers per geohash6 cell, per window (the windows are applied by parity from the spec).

Ground truth: offline_queries/available_drivers.sql. Like its WHERE clause, only driver pings with
`available` true and a driver_id count; a point with invalid coordinates falls in the None cell, as
Spark's `geohash(...)` groups it under NULL.
"""

from __future__ import annotations

from typing import Any

import apache_beam as beam

from parity.geo import geohash


class DistinctDrivers(beam.CombineFn):  # type: ignore[misc]
    """Exact count of distinct driver ids; the set is the accumulator, so later panes stay distinct."""

    def create_accumulator(self) -> set[str]:
        return set()

    def add_input(self, seen: set[str], driver_id: str) -> set[str]:
        seen.add(driver_id)
        return seen

    def merge_accumulators(self, accumulators: Any) -> set[str]:
        merged: set[str] = set()
        for seen in accumulators:
            merged |= seen
        return merged

    def extract_output(self, seen: set[str]) -> int:
        return len(seen)


class AvailableDrivers(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Available" >> beam.Filter(
                lambda e: e.event_type == "driver_ping" and e.available is True and e.driver_id is not None
            )
            | "Cell" >> beam.Map(lambda e: (geohash(e.lat, e.lon, 6), e.driver_id))
            | "Drivers" >> beam.CombinePerKey(DistinctDrivers())
        )
