"""Requests, available drivers and their ratio per geohash5 cell, per window (parity applies the windows).

Ground truth: offline_queries/demand_supply.sql. Only ride_requested and driver_ping events enter, so a
cell whose only events are unavailable pings still emits requests=0, drivers=0, ratio=None. Requests are
distinct event ids (a duplicate delivery counts once), drivers distinct available driver ids, and the
ratio is None when no driver is available (the SQL's try_divide), never infinity.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam

from parity.geo import geohash


class DemandSupplyRow(NamedTuple):
    geohash5: str | None
    requests: int
    drivers: int
    ratio: float | None


class Sides(NamedTuple):
    """What one event adds to its cell: a request id or an available driver id (or neither)."""

    request: str | None
    driver: str | None


class DemandSupplyFn(beam.CombineFn):  # type: ignore[misc]
    """Accumulates the distinct request ids and available driver ids; outputs (requests, drivers, ratio)."""

    def create_accumulator(self) -> tuple[set[str], set[str]]:
        return set(), set()

    def add_input(self, acc: tuple[set[str], set[str]], sides: Sides) -> tuple[set[str], set[str]]:
        if sides.request is not None:
            acc[0].add(sides.request)
        if sides.driver is not None:
            acc[1].add(sides.driver)
        return acc

    def merge_accumulators(self, accumulators: Any) -> tuple[set[str], set[str]]:
        requests: set[str] = set()
        drivers: set[str] = set()
        for more_requests, more_drivers in accumulators:
            requests |= more_requests
            drivers |= more_drivers
        return requests, drivers

    def extract_output(self, acc: tuple[set[str], set[str]]) -> tuple[int, int, float | None]:
        requests, drivers = len(acc[0]), len(acc[1])
        return requests, drivers, (requests / drivers if drivers else None)


def _sides(event: Any) -> tuple[str | None, Sides]:
    cell = geohash(event.lat, event.lon, 5)
    if event.event_type == "ride_requested":
        return cell, Sides(request=event.event_id, driver=None)
    available = event.available is True and event.driver_id is not None
    return cell, Sides(request=None, driver=event.driver_id if available else None)


class DemandSupply(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "RequestsAndPings" >> beam.Filter(lambda e: e.event_type in ("ride_requested", "driver_ping"))
            | "Cell" >> beam.Map(_sides)
            | "Count" >> beam.CombinePerKey(DemandSupplyFn())
            | "Row" >> beam.MapTuple(lambda cell, out: DemandSupplyRow(cell, *out))
        )
