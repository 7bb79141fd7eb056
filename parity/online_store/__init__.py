"""The online store models read: a small `OnlineStore` Protocol and a registry of stores by URL scheme.

The realtime job writes each pane it emits into the store (`parity.beam.WriteToStore`, `parity stream --into`);
a tap reads it back the way a model does. A store is named by a URL, resolved here, once, at the edge:

    store = open_store("redis://127.0.0.1:6379/0")
    store.write("ride_requests", [Pane({"geohash6": "9q8yyk"}, {"requests": 12}, start_us, end_us)])
    store.read("ride_requests", [{"geohash6": "9q8yyk"}])   # [StoredValue(values={"requests": 12}, ...)]
    store.close()

`redis://` (and `rediss://`, TLS) is the one store built (`parity.online_store.redis`, its docstring has the
layout). Another store is one module implementing the three methods of `OnlineStore` and one entry in
`STORES`. A DynamoDB adapter, say, would keep one item per entity key (partition key: the canonical key of
`parity.online_store.redis.store_key`), one attribute per `<feature>.<value>` plus the pane's window and write
time, the newest-window rule as a conditional `UpdateItem` (`attribute_not_exists(#end) OR #end <= :end`), the
TTL as DynamoDB's item TTL attribute, `BatchGetItem` for the pipelined read.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from parity.errors import OnlineStoreError

__all__ = [
    "DEFAULT_RETRY", "STORES", "ConflictRule", "OnlineStore", "Pane", "Retry", "StoreTarget", "StoredValue", "Written", "open_store",
    "redact",
]


class ConflictRule(enum.Enum):
    """What a write does when the store already holds a pane of the feature for the key.

    `NEWEST_WINDOW` (the default): the pane is written unless the store holds a newer one, by event time: a
    later `window_end`, or the same window and a later `pane_index`. A late pane of an older window never
    overwrites a newer window (Feast's Redis writer had this bug, feast#5163); the check and the write are one
    atomic step on the store, so concurrent writers cannot race. `LAST_ARRIVAL`: the naive writer, the last
    write wins whatever its window (selectable, so the fault it causes can be seen)."""

    NEWEST_WINDOW = "newest-window"
    LAST_ARRIVAL = "last-arrival"


@dataclass(frozen=True, slots=True)
class Pane:
    """One pane to write: the entity `key` (key column -> value), the feature's `values` (value column ->
    value: int, float, str, bool or None), its window (µs UTC) and its index among the window's panes."""

    key: Mapping[str, Any]
    values: Mapping[str, Any]
    window_start_us: int
    window_end_us: int
    pane_index: int = 0


@dataclass(frozen=True, slots=True)
class StoredValue:
    """What the store holds for one feature of one key: its values as written, the window they are for, and
    when they were written (`written_at_us`, on the writer's clock), all µs UTC."""

    values: Mapping[str, Any]
    window_start_us: int
    window_end_us: int
    written_at_us: int


@dataclass(frozen=True, slots=True)
class Written:
    """What a write did: panes written, and panes not written because the store held a newer pane (the
    newest-window rule at work; always 0 under `LAST_ARRIVAL`)."""

    written: int = 0
    kept_newer: int = 0

    def __add__(self, other: Written) -> Written:
        return Written(self.written + other.written, self.kept_newer + other.kept_newer)


@dataclass(frozen=True, slots=True)
class Retry:
    """How long a store keeps trying when it cannot be reached: `attempts` tries, waiting `backoff_s`, then
    twice as long each time (at most `max_backoff_s`), before it raises `OnlineStoreError`."""

    attempts: int = 6
    backoff_s: float = 0.05
    max_backoff_s: float = 2.0

    def waits(self) -> list[float]:
        """The waits between the attempts."""
        return [min(self.backoff_s * 2**i, self.max_backoff_s) for i in range(max(self.attempts - 1, 0))]


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """Where and how a job writes its panes: the store's URL, the conflict rule, the TTL (None: keys never
    expire). What `parity stream --into` hands the replay."""

    url: str
    rule: ConflictRule = ConflictRule.NEWEST_WINDOW
    ttl_s: int | None = None


class OnlineStore(Protocol):
    """A key-value store that models read features from. Implementations must be safe to use from several
    threads and processes at once (several writers, readers beside them)."""

    url: str  # the store's URL, password redacted (for messages)

    def write(self, feature: str, panes: Sequence[Pane], *, rule: ConflictRule = ConflictRule.NEWEST_WINDOW,
              ttl_s: int | None = None, now_us: int | None = None) -> Written:
        """Write a batch of `feature`'s panes, in order, under `rule`; each key written expires `ttl_s` seconds
        after its last write (None: never). `now_us` is the write time recorded (None: the wall clock now).
        Retries while the store cannot be reached; raises `OnlineStoreError` when it stays unreachable."""
        ...

    def read(self, feature: str, keys: Sequence[Mapping[str, Any]]) -> list[StoredValue | None]:
        """What the store holds for `feature` at each entity key (key column -> value), in `keys`' order; None
        where it holds nothing for the feature (never written, or expired). Reads only, in pipelined batches;
        retries like `write`."""
        ...

    def close(self) -> None:
        """Release the store's connections. The store is not used after it."""
        ...


DEFAULT_RETRY = Retry()

StoreFactory = Callable[[str, Retry], OnlineStore]


def _redis(url: str, retry: Retry) -> OnlineStore:
    from parity.online_store.redis import RedisStore

    return RedisStore(url, retry=retry)


# URL scheme -> the function opening such a store.
STORES: dict[str, StoreFactory] = {"redis": _redis, "rediss": _redis}


def open_store(url: str, *, retry: Retry = DEFAULT_RETRY) -> OnlineStore:
    """The store `url` names, connected (raises `OnlineStoreError` for an unknown scheme or a store that stays
    unreachable)."""
    scheme = urlsplit(url).scheme
    factory = STORES.get(scheme)
    if factory is None:
        known = ", ".join(f"{name}://" for name in STORES)
        raise OnlineStoreError(redact(url), f"unknown scheme {scheme + '://' if scheme else '(none)'}; known: {known}")
    return factory(url, retry)


def redact(url: str) -> str:
    """`url` with its password, if any, shown as `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
