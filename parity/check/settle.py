"""Which windows a check may judge: the range cut to the slide grid and to the windows already final."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from parity.errors import DataError
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.units import format_duration, iso
from parity.watermark import arrival_cutoff_us


@dataclass(frozen=True, slots=True)
class CheckRange:
    """Windows with `window_start` in [start_us, end_us). `unsettled` says what was cut off as not yet final."""

    start_us: int
    end_us: int
    unsettled: str | None


def new_run_id(feature: str, start_us: int, end_us: int) -> str:
    now = dt.datetime.now(tz=dt.UTC)
    digest = hashlib.sha1(f"{feature}:{start_us}:{end_us}:{now.timestamp()}".encode()).hexdigest()[:6]
    return f"{now:%Y%m%dT%H%M%S}Z-{digest}"


def settle(spec: FeatureSpec, settings: Settings, start_us: int, end_us: int) -> CheckRange:
    """Keep only final windows: the newest arrival in the event log must have reached a window's arrival cutoff
    (`parity.watermark.arrival_cutoff_us`: `window_end + allowed_lateness` and one watermark tick)."""
    from parity.events import newest_arrival_us

    if end_us <= start_us:
        raise DataError("--end", f"end {iso(end_us)} must be after start {iso(start_us)}")
    grid = spec.window.slide_us
    start = -(-start_us // grid) * grid  # ceil to the grid, in integers
    end = -(-end_us // grid) * grid
    newest = newest_arrival_us(settings.event_log, spec.source, settings.clock_skew_bound_us)
    # Final once arrivals reached the window's arrival cutoff (window_end + lateness + one watermark tick):
    # the stream still counts an event arriving before it. With window_end = window_start + size,
    # cutoff(window_start + size) <= newest  <=>  window_start <= newest - cutoff(size).
    last_final = (newest - arrival_cutoff_us(spec.window.size_us, spec.allowed_lateness_us)) // grid * grid
    settled_end = min(end, last_final + grid)
    if settled_end <= start:
        final_after = format_duration(arrival_cutoff_us(0, spec.allowed_lateness_us))
        raise DataError(
            str(settings.event_log / spec.source),
            f"range {iso(start_us)}..{iso(end_us)} is not yet settled: the newest arrival is {iso(newest)}, and a "
            f"window is final once arrivals reach its end + {final_after} (lateness and one watermark tick); "
            "check an earlier range",
        )
    unsettled = None
    if settled_end < end:
        unsettled = f"windows starting {iso(settled_end)} or later are not final yet (newest arrival {iso(newest)})"
    return CheckRange(start, settled_end, unsettled)
