"""Defect (null semantics): demand_supply whose job gives ratio 0.0 where no driver is available, where the SQL's
`try_divide` gives NULL. Otherwise demand_supply: distinct request ids and available driver ids per geohash5 cell."""

from __future__ import annotations

from typing import Any, NamedTuple

import apache_beam as beam
from apache_beam.transforms.combiners import ToSetCombineFn

from parity.geo import geohash


class SupplyRow(NamedTuple):
    geohash5: str | None
    requests: int
    drivers: int
    ratio: float | None


def _sides(event: Any) -> tuple[str | None, tuple[str, str]]:
    cell = geohash(event.lat, event.lon, 5)
    if event.event_type == "ride_requested":
        return cell, ("request", event.event_id)
    available = event.available is True and event.driver_id is not None
    return cell, ("driver", event.driver_id if available else "")


def _row(cell: str | None, seen: set[tuple[str, str]]) -> SupplyRow:
    requests = sum(1 for side, _ in seen if side == "request")
    drivers = sum(1 for side, name in seen if side == "driver" and name)
    return SupplyRow(cell, requests, drivers, requests / drivers if drivers else 0.0)


class ZeroRatioSupply(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "RequestsAndPings" >> beam.Filter(lambda e: e.event_type in ("ride_requested", "driver_ping"))
            | "Cell" >> beam.Map(_sides)
            | "Seen" >> beam.CombinePerKey(ToSetCombineFn())
            | "Row" >> beam.MapTuple(_row)
        )
