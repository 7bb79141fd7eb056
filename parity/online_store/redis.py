"""The Redis (or ValKey) online store: `redis://[:password@]host:port[/db]` (`rediss://` for TLS).

Layout (Feast's Redis layout is the reference: one hash per entity key, a field per feature value):

- **One hash per entity key**, named `parity:` + the key columns as a canonical JSON object: names sorted, no
  spaces, values typed (`parity:{"geohash6":"9q8yyk"}`, `parity:{"driver_id":42}`; the int 42 and the string
  "42" are different keys). Every feature keyed by the same columns shares the entity's hash, as in Feast.
- **Fields per feature**: `<feature>.<value>` for each value column, and the pane's metadata
  `<feature>._window_start`, `<feature>._window_end` (µs UTC, the window the values are for),
  `<feature>._pane` (the pane's index in its window) and `<feature>._written_at` (µs UTC, when the writer
  wrote it, on its clock), as decimal integers.
- **Values are typed text, lossless**: `i:<int>` (any size, so int64 past 2^53 survives), `f:<repr>` (Python's
  shortest round-trip repr: `f:0.1`, `f:nan`, `f:-inf`, `f:-0.0`), `b:true`/`b:false`, `s:<text>` (UTF-8),
  `n:` for null. A field parity did not write (no such tag) reads back as its raw text.
- **Writes**: each pane is one call of a small Lua script (`EVALSHA`), atomic on the server: under the
  newest-window rule it writes only when the hash holds no newer pane of the feature (a later
  `_window_end`, or the same and a later `_pane`), so a late pane of an older window never overwrites a newer
  one, whichever writer comes first; under last-arrival it always writes. With a TTL it sets `EXPIRE` on the
  hash at each write: the entity expires `ttl` seconds after its last write of any feature (Feast's
  semantics too). Panes go in pipelined batches of `BATCH` (one round trip each), in order.
- **Reads**: `HGETALL` per key, pipelined in batches of `BATCH`; the feature's fields are picked out of it.
- **Unreachable**: every batch is retried with exponential backoff on connection errors and timeouts
  (`parity.online_store.Retry`); a batch is safe to apply twice (the same panes in the same order). When the
  store stays unreachable the error is one line naming the URL, password redacted.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry as ClientRetry

from parity.errors import OnlineStoreError
from parity.online_store import DEFAULT_RETRY, ConflictRule, Pane, Retry, StoredValue, Written, redact

PREFIX = "parity:"
BATCH = 500  # panes (writes) or keys (reads) per pipelined round trip
_META = frozenset(("_window_start", "_window_end", "_pane", "_written_at"))
_T = TypeVar("_T")

# KEYS[1]: the entity's hash. ARGV: 1 the feature, 2 the pane's window start, 3 its window end, 4 its pane index,
# 5 the write time, 6 '1' for the newest-window rule, 7 the TTL in seconds ('0': none), 8... value column and
# encoded value pairs. Returns 1 when written, 0 when the hash holds a newer pane of the feature.
_WRITE_PANE = """
local f = ARGV[1] .. '.'
if ARGV[6] == '1' then
  local held = redis.call('HMGET', KEYS[1], f .. '_window_end', f .. '_pane')
  if held[1] then
    local held_end, new_end = tonumber(held[1]), tonumber(ARGV[3])
    if held_end > new_end or (held_end == new_end and tonumber(held[2] or '-1') > tonumber(ARGV[4])) then
      return 0
    end
  end
end
local set = {f .. '_window_start', ARGV[2], f .. '_window_end', ARGV[3], f .. '_pane', ARGV[4], f .. '_written_at', ARGV[5]}
for i = 8, #ARGV, 2 do
  set[#set + 1] = f .. ARGV[i]
  set[#set + 1] = ARGV[i + 1]
end
redis.call('HSET', KEYS[1], unpack(set))
if ARGV[7] ~= '0' then
  redis.call('EXPIRE', KEYS[1], ARGV[7])
end
return 1
"""


class RedisStore:
    """The `OnlineStore` over one Redis database (see the module docstring). Connects, and checks the server
    answers, when made; thread-safe (redis-py's connection pool)."""

    def __init__(self, url: str, *, retry: Retry = DEFAULT_RETRY, timeout_s: float = 5.0) -> None:
        self.url = redact(url)
        self._retry = retry
        try:
            # parity retries (`_attempt`), the client does not: one policy, whose failure names the store.
            self._client = redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                retry=ClientRetry(NoBackoff(), 0))
        except ValueError as exc:
            raise OnlineStoreError(self.url, f"not a Redis URL ({exc}); expected redis://[:password@]host:port[/db]") from None
        self._script = self._client.register_script(_WRITE_PANE)
        self._attempt(self._client.ping)

    def write(self, feature: str, panes: Sequence[Pane], *, rule: ConflictRule = ConflictRule.NEWEST_WINDOW,
              ttl_s: int | None = None, now_us: int | None = None) -> Written:
        if ttl_s is not None and ttl_s <= 0:
            raise OnlineStoreError(self.url, f"TTL {ttl_s} s must be a positive number of seconds")
        stamp = time.time_ns() // 1_000 if now_us is None else now_us
        done = Written()
        for low in range(0, len(panes), BATCH):
            try:
                calls = [_script_call(feature, pane, rule, ttl_s, stamp) for pane in panes[low:low + BATCH]]
            except TypeError as exc:
                raise OnlineStoreError(self.url, f"cannot write {feature}: {exc}") from None
            results = self._attempt(functools.partial(self._run, calls))
            written = sum(1 for result in results if result == 1)
            done += Written(written, len(results) - written)
        return done

    def read(self, feature: str, keys: Sequence[Mapping[str, Any]]) -> list[StoredValue | None]:
        try:
            names = [store_key(key) for key in keys]
        except TypeError as exc:
            raise OnlineStoreError(self.url, f"cannot read {feature}: {exc}") from None
        held: list[StoredValue | None] = []
        for low in range(0, len(names), BATCH):
            batch = names[low:low + BATCH]
            hashes = self._attempt(functools.partial(self._get_all, batch))
            try:
                held.extend(stored_value(feature, fields) for fields in hashes)
            except ValueError as exc:
                raise OnlineStoreError(self.url, f"cannot read {feature}: {exc}") from None
        return held

    def close(self) -> None:
        self._client.close()

    def _run(self, calls: list[tuple[str, list[str | int]]]) -> list[Any]:
        pipe = self._client.pipeline(transaction=False)
        for key, args in calls:
            self._script(keys=[key], args=args, client=pipe)
        try:
            return pipe.execute()
        except redis.ResponseError as exc:
            raise OnlineStoreError(self.url, f"refused a write: {exc}") from None

    def _get_all(self, names: list[str]) -> list[dict[str, str]]:
        pipe = self._client.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(name)
        try:
            return pipe.execute()
        except redis.ResponseError as exc:
            raise OnlineStoreError(self.url, f"refused a read: {exc}") from None

    def _attempt(self, step: Callable[[], _T]) -> _T:
        """`step`, tried again after each wait of the retry policy while the server cannot be reached."""
        waits = self._retry.waits()
        for wait in [*waits, None]:
            try:
                return step()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                if wait is None:
                    gist = str(exc).splitlines()[0] if str(exc) else ""
                    raise OnlineStoreError(
                        self.url, f"unreachable after {len(waits) + 1} attempts over {sum(waits):.1f} s "
                                  f"({type(exc).__name__}: {gist})") from None
                time.sleep(wait)
        raise AssertionError("unreachable")  # the loop returns or raises


def store_key(key: Mapping[str, Any]) -> str:
    """The hash of an entity key: `parity:` + its columns as canonical JSON (names sorted, values typed)."""
    try:
        return PREFIX + json.dumps({name: _plain(value) for name, value in sorted(key.items())},
                                   separators=(",", ":"), ensure_ascii=False)
    except TypeError as exc:
        raise TypeError(f"key {dict(key)!r}: {exc}") from None


def encode_value(value: Any) -> str:
    """A value as the store's typed text (see the module docstring); `TypeError` for other types."""
    value = _plain(value)
    if value is None:
        return "n:"
    if isinstance(value, bool):
        return "b:true" if value else "b:false"
    if isinstance(value, int):
        return f"i:{value}"
    if isinstance(value, float):
        return f"f:{value!r}"
    if isinstance(value, str):
        return f"s:{value}"
    raise TypeError(f"{type(value).__name__} is not an online type (int, float, str, bool or null)")


def decode_value(text: str) -> Any:
    """The value `encode_value` wrote; text without one of its tags, as it is."""
    tag, colon, body = text.partition(":")
    if colon:
        if tag == "i":
            try:
                return int(body)
            except ValueError:
                return text
        if tag == "f":
            try:
                return float(body)
            except ValueError:
                return text
        if tag == "s":
            return body
        if tag == "b" and body in ("true", "false"):
            return body == "true"
        if tag == "n" and not body:
            return None
    return text


def stored_value(feature: str, fields: Mapping[str, str]) -> StoredValue | None:
    """The feature's part of one entity's hash, or None when it has none (`ValueError` for metadata that is not
    integers)."""
    prefix = f"{feature}."
    end = fields.get(prefix + "_window_end")
    if end is None:
        return None
    try:
        start, written = int(fields.get(prefix + "_window_start", "")), int(fields.get(prefix + "_written_at", ""))
        end_us = int(end)
    except ValueError:
        raise ValueError(f"{prefix}_window_start/_window_end/_written_at are not µs integers: "
                         f"{ {meta: fields.get(prefix + meta) for meta in _META} }") from None
    cut = len(prefix)
    values = {field[cut:]: decode_value(text) for field, text in fields.items()
              if field.startswith(prefix) and field[cut:] not in _META}
    return StoredValue(values=values, window_start_us=start, window_end_us=end_us, written_at_us=written)


def _script_call(feature: str, pane: Pane, rule: ConflictRule, ttl_s: int | None, now_us: int) -> tuple[str, list[str | int]]:
    args: list[str | int] = [feature, int(pane.window_start_us), int(pane.window_end_us), int(pane.pane_index), int(now_us),
                             "1" if rule is ConflictRule.NEWEST_WINDOW else "0", ttl_s or 0]
    for column, value in pane.values.items():
        try:
            args += [column, encode_value(value)]
        except TypeError as exc:
            raise TypeError(f"{feature}.{column} = {value!r}: {exc}") from None
    return store_key(pane.key), args


def _plain(value: Any) -> Any:
    """numpy scalars as the Python values they hold."""
    return value.item() if isinstance(value, np.generic) else value
