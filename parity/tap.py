"""The tap: read a deterministic sample of a feature's keys from the online store, at a bounded rate, into the
served log (`parity.served_log`), the way a model would read them. It never writes to the store.

Which keys: at each pass over the sample, the cells due at that instant (each key's latest window that had closed
by `now - served.delay`) drawn by the check's own cell hash (`parity.sample.in_sample`, at the spec's sample
rate), so the tap, the emitted check and the served check sample the same cells; `--keys N` keeps the N cells
of lowest hash. The keys are the ones the feature has (the caller reads them from the online log).

How fast: reads go out in pipelined batches of `batch` keys, one batch per `batch / rate` seconds of wall time,
so the store never sees more than `rate` reads a second from the tap.

On which clock: `WallClock`, or `CompressedClock` (a replay tapped at simulated instants, `speed` simulated
seconds per wall second); every read carries the clock's name. Tests drive the clock themselves (any object with
`now_us`, `sleep_until`, `speed` and `kind`).

When the store goes away: the batch that failed and every batch due while the store is unreachable are counted
as missed (not written: the served log holds only reads that happened); the tap reconnects with exponential
backoff (on wall time) and carries on. What it read is flushed to the served log at each hour and at the end,
whole files only, so killing the store, or the tap, never tears a file; the next tap writes beside it.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa

from parity.errors import ParityError
from parity.frames import NULLABLE_KEYS
from parity.online import OnlinePart
from parity.sample import cell_hash
from parity.served_log import Clock, ServedLogWriter
from parity.spec import FeatureSpec
from parity.units import HOUR_US, US, iso

log = logging.getLogger("parity.tap")
BATCH = 500
FLUSH_ROWS = 100_000
BACKOFF_S = (0.1, 5.0)  # first and longest wait between reconnection attempts, wall seconds


class Stored(Protocol):
    """What the store holds for one key (`parity.online_store.StoredValue`)."""

    @property
    def values(self) -> Mapping[str, Any]: ...
    @property
    def window_start_us(self) -> int: ...
    @property
    def window_end_us(self) -> int: ...
    @property
    def written_at_us(self) -> int: ...


class ReadableStore(Protocol):
    """The read side of an online store (`parity.online_store.OnlineStore`)."""

    def read(self, feature: str, keys: Sequence[Mapping[str, Any]]) -> Sequence[Stored | None]: ...
    def close(self) -> None: ...


class TapClock(Protocol):
    kind: Clock
    speed: float  # clock microseconds per wall microsecond

    def now_us(self) -> int: ...
    def sleep_until(self, instant_us: int) -> None: ...


@dataclass(slots=True)
class WallClock:
    kind: Clock = Clock.WALL
    speed: float = 1.0

    def now_us(self) -> int:
        return time.time_ns() // 1_000

    def sleep_until(self, instant_us: int) -> None:
        time.sleep(max(0.0, (instant_us - self.now_us()) / US))


@dataclass(slots=True)
class CompressedClock:
    """Simulated time: `start_us` at creation, running `speed` times faster than the wall."""

    start_us: int
    speed: float
    kind: Clock = Clock.SIMULATED
    _wall0: float = field(default_factory=time.monotonic)

    def now_us(self) -> int:
        return self.start_us + int((time.monotonic() - self._wall0) * US * self.speed)

    def sleep_until(self, instant_us: int) -> None:
        time.sleep(max(0.0, (instant_us - self.now_us()) / US / self.speed))


@dataclass(frozen=True, slots=True)
class TapResult:
    """What one tap did: reads made (and of them, keys present), reads missed while the store was unreachable,
    the outages (clock µs from, to) with the last error, and the served-log files it wrote."""

    feature: str
    tap_id: str
    clock: Clock
    started_us: int
    ended_us: int
    reads: int
    present: int
    missed: int
    outages: tuple[tuple[int, int], ...]
    error: str | None
    files: tuple[str, ...]

    def describe(self, store: str) -> str:
        line = (f"{self.feature}: {self.reads} reads ({self.present} keys present) from {store} on the "
                f"{self.clock.value} clock, {iso(self.started_us)} .. {iso(self.ended_us)}, into "
                f"{len(self.files)} served-log file(s) as tap {self.tap_id}")
        if self.missed:
            line += (f"; {self.missed} reads missed while the store was unreachable "
                     f"({len(self.outages)} outage(s), first at {iso(self.outages[0][0])}; last error: {self.error})")
        return line


def due_window_start(spec: FeatureSpec, now_us: int) -> int:
    """The start of the window a model reading at `now_us` should get (the served check's due window)."""
    slide = spec.window.slide_us
    return (now_us - spec.served_rules.delay_us) // slide * slide - spec.window.size_us


def sample_keys(spec: FeatureSpec, keys: pd.DataFrame, window_start_us: int, rate: float,
                limit: int | None = None) -> list[dict[str, Any]]:
    """The keys whose cell (key, `window_start_us`) is in the check's `rate` sample, lowest hash first, at most
    `limit` of them."""
    if keys.empty:
        return []
    hashes = cell_hash(spec.name, keys[list(spec.keys)], pd.Series(np.full(len(keys), window_start_us)))
    chosen = np.flatnonzero(hashes < np.uint64(min(math.ceil(rate * 2.0**64), 2**64 - 1))) if rate < 1 \
        else np.arange(len(keys))
    chosen = chosen[np.argsort(hashes[chosen], kind="stable")]
    if limit is not None:
        chosen = chosen[:limit]
    rows = keys[list(spec.keys)].iloc[chosen]
    return [{k: _plain(v) for k, v in zip(spec.keys, row, strict=True)}
            for row in rows.itertuples(index=False, name=None)]


def run_tap(
    spec: FeatureSpec,
    connect: Callable[[], ReadableStore],
    keys: pd.DataFrame,
    writer: ServedLogWriter,
    clock: TapClock,
    *,
    duration_us: int,
    rate_per_s: float,
    batch: int = BATCH,
    limit: int | None = None,
    unreachable: tuple[type[BaseException], ...] = (OSError,),
    on_batch: Callable[[int], None] = lambda reads: None,
) -> TapResult:
    """Tap `spec` for `duration_us` of `clock` time (see the module docstring). `connect` opens the store (called
    again to reconnect); `unreachable` are the errors that mean the store is away. Always flushes what it read,
    whatever stops it."""
    started = clock.now_us()
    end = started + duration_us
    reads = present = missed = 0
    outages: list[list[int]] = []
    error: str | None = None
    store: ReadableStore | None = None
    backoff = BACKOFF_S[0]
    retry_at = started
    pending: list[dict[str, Any]] = []
    sampled: tuple[int | None, list[dict[str, Any]]] = (None, [])
    next_at = started
    hour = started // HOUR_US
    try:
        while True:
            clock.sleep_until(next_at)
            now = clock.now_us()
            if now >= end:
                break
            if not pending:
                due = due_window_start(spec, now)
                if due != sampled[0]:  # the sample changes with the due window only
                    sampled = (due, sample_keys(spec, keys, due, spec.sample_rate, limit))
                pending = list(sampled[1])
                if not pending:  # nothing to read now: wait for the next window
                    next_at = now + spec.window.slide_us
                    continue
            chunk, pending = pending[:batch], pending[batch:]
            next_at = now + max(1, int(len(chunk) / rate_per_s * US * clock.speed))
            if store is None and now >= retry_at:
                try:
                    store = connect()
                except unreachable as exc:
                    error = _one_line(exc)
            got: Sequence[Stored | None] | None = None
            if store is not None:
                try:
                    got = store.read(spec.name, chunk)
                except unreachable as exc:
                    error = _one_line(exc)
                    _close(store)
                    store = None
            if got is None:
                missed += len(chunk)
                if not outages or outages[-1][1] != -1:
                    outages.append([now, -1])
                    log.warning("tap_store_unreachable feature=%s error=%s", spec.name, error)
                if now >= retry_at:
                    retry_at = now + int(backoff * US * clock.speed)
                    backoff = min(backoff * 2, BACKOFF_S[1])
                continue
            if outages and outages[-1][1] == -1:
                outages[-1][1] = now
                log.warning("tap_store_back feature=%s missed=%d", spec.name, missed)
            backoff = BACKOFF_S[0]
            rows = [_row(spec, key, value, now) for key, value in zip(chunk, got, strict=True)]
            present += sum(1 for value in got if value is not None)
            reads += len(rows)
            writer.append(rows)
            on_batch(reads)
            if now // HOUR_US != hour or writer.pending >= FLUSH_ROWS:
                hour = now // HOUR_US
                writer.flush()
    finally:
        writer.flush()
        if store is not None:
            _close(store)
    finished = min(clock.now_us(), end)
    closed = tuple((a, b if b != -1 else finished) for a, b in outages)
    return TapResult(spec.name, writer.tap_id, clock.kind, started, finished, reads, present, missed, closed, error,
                     tuple(str(f) for f in writer.files))


def _close(store: ReadableStore) -> None:
    try:
        store.close()
    except (OSError, ParityError) as exc:  # a store that went away may fail to close; nothing more to ask of it
        log.info("tap_store_close_failed error=%s", _one_line(exc))


def _row(spec: FeatureSpec, key: Mapping[str, Any], value: Stored | None, read_at: int) -> dict[str, Any]:
    row: dict[str, Any] = dict(key)
    row["read_at"] = read_at
    row["present"] = value is not None
    if value is None:
        row |= {"window_start": None, "window_end": None, "written_at": None, **dict.fromkeys(spec.values)}
    else:
        row |= {"window_start": value.window_start_us, "window_end": value.window_end_us,
                "written_at": value.written_at_us, **{v: value.values.get(v) for v in spec.values}}
    return row


def _plain(value: object) -> object:
    if value is pd.NA or value is None:
        return None
    return value.item() if hasattr(value, "item") else value


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def known_keys(parts: Sequence[OnlinePart], spec: FeatureSpec) -> tuple[pd.DataFrame, pa.Schema | None]:
    """The distinct keys of the feature's online output `parts` (what the tap samples from), and the online
    log's schema (the served log keeps the keys and values in its types)."""
    tables = [part.table.select(list(spec.keys)) for part in parts if part.table.num_rows]
    schema = next((part.table.schema for part in parts if part.table.num_rows), None)
    if not tables:
        return pd.DataFrame({k: pd.Series([], dtype=object) for k in spec.keys}), schema
    keys = pa.concat_tables(tables, promote_options="permissive").group_by(list(spec.keys)).aggregate([])
    frame = keys.to_pandas(types_mapper=NULLABLE_KEYS.get)
    return frame.sort_values(list(spec.keys), kind="stable").reset_index(drop=True), schema


def parse_rate(text: str) -> float:
    """`200/s`, `12000/m`, `200` (per second) -> reads per second; ValueError for anything else."""
    number, _, unit = text.strip().partition("/")
    per = {"": 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}.get(unit.strip())
    try:
        value = float(number)
    except ValueError:
        value = math.nan
    if per is None or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r} is not a rate such as 200/s or 12000/m")
    return value / per
