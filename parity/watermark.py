"""The one watermark rule, shared by the realtime replay and the offline late-arrival recompute.

The replay delivers events in arrival (`ingest_time`) order. Arrivals are grouped into ticks of
`TICK_US`; before the events of a tick are delivered, the watermark advances to the tick's start.
Beam then drops an element of window W when the watermark has passed `W.end + allowed_lateness`.
So an event counts in W exactly when its `ingest_time < arrival_cutoff_us(W.end, lateness)`,
and the offline side recomputes "what the stream could have seen" with that same predicate.
"""

from __future__ import annotations

TICK_US = 1_000_000


def arrival_tick(ingest_us: int) -> int:
    """The watermark in force when an event that arrived at `ingest_us` is delivered."""
    return ingest_us - ingest_us % TICK_US


def arrival_cutoff_us(window_end_us: int, allowed_lateness_us: int) -> int:
    """Exclusive upper bound on `ingest_time` for an event to be counted in the window ending at `window_end_us`.

    An event is kept while its tick's watermark has not passed `window_end + lateness`:
    `arrival_tick(ingest) <= window_end + lateness`, i.e. `ingest < window_end + lateness + TICK`
    when window bounds and lateness are whole ticks.
    """
    return window_end_us + allowed_lateness_us + TICK_US


def on_time_cutoff_us(window_end_us: int) -> int:
    """Exclusive upper bound on `ingest_time` for an event to be in the ON_TIME pane of the window ending at
    `window_end_us`: the pane fires once the watermark reaches the window's end, before the events of the
    tick that moved it there, so it holds the events with `arrival_tick(ingest) < window_end`."""
    return -(-window_end_us // TICK_US) * TICK_US
