"""Planted trap (local_time): the hour of day from the machine's local time zone, not UTC."""

from __future__ import annotations

import datetime as dt
from typing import Any

import apache_beam as beam

from parity.geo import geohash


def _cell(event: Any) -> tuple[tuple[str | None, int], int]:
    local = dt.datetime.fromtimestamp(event.event_time / 1_000_000)  # event_time: int microseconds UTC
    return (geohash(event.lat, event.lon, 6), local.hour), 1


class RequestsByHour(beam.PTransform):  # type: ignore[misc]
    def expand(self, events: beam.PCollection) -> beam.PCollection:
        return (
            events
            | "Requests" >> beam.Filter(lambda e: e.event_type == "ride_requested")
            | "Cell" >> beam.Map(_cell)
            | "Count" >> beam.CombinePerKey(sum)
        )
