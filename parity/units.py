"""Time as parity carries it: integer microseconds since the epoch, UTC, end to end.

The one place for the microsecond constants, duration parsing (`'90s'`, `'5m'`, `'2h'`) and formatting, and
the one ISO formatter (`iso`): whole seconds print as `2026-11-26T10:00:05Z`, a time with a fraction of a
second keeps it (`2026-11-26T10:00:05.250000Z`), so two times that differ never print alike.
"""

from __future__ import annotations

import datetime as dt
import re

US = 1_000_000
MS_US = 1_000
SECOND_US = US
MINUTE_US = 60 * US
HOUR_US = 3600 * US
DAY_US = 86400 * US
MAX_DURATION_US = 366 * DAY_US  # a window, lateness or timeout longer than a year is a typo

_UNITS = {"us": 1, "ms": MS_US, "s": SECOND_US, "m": MINUTE_US, "h": HOUR_US, "d": DAY_US}
_DURATION = re.compile(r"^\s*(\d+)\s*(us|ms|s|m|h|d)\s*$")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_duration(text: str | int) -> int:
    """`'90s'`, `'1m'`, `'2h'` -> microseconds. A bare integer is seconds."""
    if isinstance(text, int) and not isinstance(text, bool):
        if text < 0:
            raise ValueError(f"duration {text} must not be negative")
        us = text * US
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ValueError(f"bad duration {str(text)[:40]!r}; write a whole number and a unit: 30s, 1m, 5m, 2h")
        us = int(match.group(1)) * _UNITS[match.group(2)]
    if us > MAX_DURATION_US:
        raise ValueError(f"duration {str(text)[:20]!r} is longer than a year; write a shorter one")
    return us


def format_duration(us: int) -> str:
    """Microseconds -> the largest whole unit: 90 s -> `'90s'`, 2 h -> `'2h'`."""
    if us == 0:
        return "0s"
    for unit in ("d", "h", "m", "s", "ms"):
        if us % _UNITS[unit] == 0:
            return f"{us // _UNITS[unit]}{unit}"
    return f"{us}us"


def utc(us: int) -> dt.datetime:
    """Microseconds -> an aware UTC datetime, exact (no float on the way)."""
    return EPOCH + dt.timedelta(microseconds=us)


def iso(us: int) -> str:
    """The one ISO-8601 form of a time: `2026-11-26T10:00:05Z`, with `.ffffffZ` only when there is a fraction."""
    moment = utc(us)
    if moment.microsecond:
        return f"{moment:%Y-%m-%dT%H:%M:%S.%f}Z"
    return f"{moment:%Y-%m-%dT%H:%M:%S}Z"


def micros(moment: dt.datetime) -> int:
    """An aware datetime -> microseconds since the epoch, exact."""
    return (moment - EPOCH) // dt.timedelta(microseconds=1)
