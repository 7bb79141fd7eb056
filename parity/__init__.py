"""parity: keeps real-time ML features honest.

The flow, one module per stage: settings/spec (what a feature is) -> events (the event log) ->
realtime (Beam job replay) | offline (Spark SQL recompute) -> sample -> compare -> attribute ->
check (verdict) -> report / alerts.
"""

from __future__ import annotations

__version__ = "0.1.0"
