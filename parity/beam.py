"""Logging a production pipeline's feature output into the online log: `LogOutputs`.

A production Beam pipeline (Flink, Dataflow, reading Kafka) applies it to its feature output, still in the
feature's windows, the way `parity stream` applies it to the replayed job's output:

    features = events | "Feature" >> MyFeature()            # rows or (key, value) pairs, windowed
    features | "Log" >> LogOutputs("ride_requests", keys=["geohash6"], values=["requests"],
                                   online_log="gs://bucket/online", writer="prod-eu1", sample_rate=0.05)

Each pane becomes one row: the key and value columns, `window_start`, `window_end`, `pane_timing`
(EARLY/ON_TIME/LATE), `pane_index` and `emitted_at` (the processing time the pane was logged, µs UTC). The
rows are re-windowed into the global window with a DISCARDING trigger that fires for what arrived since the
last firing, so each firing of Beam's `fileio.WriteToFiles` moves only its own new files into place (an
accumulating one hands the sink every earlier file again at each firing). fileio passes no pane to the file
naming (`pane=None` on its unsharded path), so a name built from window and pane would repeat across
firings and a later file would replace an earlier one: the name carries a random part instead (tested:
with a name per shard only, the logged check loses panes and breaches). Files land in `<online_log>/<feature>/date=YYYY-MM-DD/hour=HH/`
by the hour of `window_start`, named `<writer>-<random>.parquet`; fileio writes them to a temporary folder and
renames them into place, which is atomic per file on local and HDFS filesystems and on object stores a single
object write. Two runs logging one hour under different writer ids both count (the check reports it).

Sampling by `sample_rate` uses the checker's own cell hash (`parity.sample`, keyed by the feature name, over
keys and `window_start`), so a 5% log holds exactly the cells a 5% check samples. Not by key alone, as
Chronon's logging samples: a key-only sample makes each check see a fixed 5% of keys in every window, so a
defect of one key is either always seen or never; hashing the cell spreads a small log over every key in
time, and keeps the one hash a check already trusts.

`WriteToStore`, beside it, writes the same panes into the online store that models read
(`parity.online_store`; its Redis module documents the layout), the job's last step in production:

    features | "Store" >> WriteToStore("ride_requests", keys=["geohash6"], values=["requests"],
                                       store="redis://feature-store:6379/0", ttl_s=3600)

Each pane becomes one write, in the order the pane arrives, under the newest-window rule unless told
otherwise (`rule=ConflictRule.LAST_ARRIVAL` is the naive writer). Panes are written in pipelined batches of
at most `parity.online_store.redis.BATCH` per bundle (a bundle's panes are in the store when it finishes,
so a retried bundle writes them again: harmless, a pane written twice is the same pane). Log and store
both, to let `parity check --served` compare them: `features | LogOutputs(...)` and `features | WriteToStore(...)`.
"""

# mypy: disable-error-code="no-untyped-call"
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io import fileio
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics.metric import Metrics
from apache_beam.pvalue import Row
from apache_beam.transforms import trigger, window
from apache_beam.utils.windowed_value import PaneInfoTiming

from parity.errors import JobError
from parity.online.files import check_writer, partition_of
from parity.online_store import DEFAULT_RETRY, ConflictRule, OnlineStore, Pane, Retry, open_store

PANE_COLUMNS = ("window_start", "window_end", "pane_timing", "pane_index", "emitted_at")
_STAMP = pa.timestamp("us", tz="UTC")


class LogOutputs(beam.PTransform):  # type: ignore[type-arg]
    """Record every pane of a windowed feature output into the online log (see the module docstring).

    `online_log` is the log's root (any filesystem Beam knows: a local path, `gs://`, `hdfs://`, `s3://`).
    `writer` names this pipeline in file names (letters, digits, `_`, `-`). `keep(window_start_us)`, when
    given, keeps only the panes of the windows it accepts (the replay's segments own disjoint windows).
    Returns the `fileio.FileResult`s of the written files.
    """

    def __init__(
        self,
        feature: str,
        *,
        keys: Sequence[str],
        values: Sequence[str],
        online_log: str,
        writer: str = "prod",
        sample_rate: float = 1.0,
        window_size_us: int | None = None,
        keep: Callable[[int], bool] | None = None,
    ) -> None:
        super().__init__()
        if not 0.0 < sample_rate <= 1.0:
            raise ValueError(f"sample_rate {sample_rate} must be in (0, 1]")
        self._feature = feature
        self._keys = tuple(keys)
        self._values = tuple(values)
        self._root = FileSystems.join(online_log, feature)
        self._writer = check_writer(writer)
        self._rate = sample_rate
        self._size = window_size_us
        self._keep = keep

    def expand(self, outputs: Any) -> Any:
        return (
            outputs
            | "PaneRows" >> beam.ParDo(PaneRows(self._feature, self._keys, self._values, self._size, self._keep, self._rate))
            | "WritePanes" >> WritePanes(self._root, self._writer, self._keys, self._values)
        )


class WriteToStore(beam.PTransform):  # type: ignore[type-arg]
    """Write every pane of a windowed feature output into the online store `store` (a URL, e.g.
    `redis://host:6379/0`) under `rule`, each key expiring `ttl_s` seconds after its last write (None: never);
    see the module docstring. `clock()` gives the write time recorded with each batch (µs; default: the wall
    clock). `keep(window_start_us)`, when given, keeps only the panes of the windows it accepts.
    Returns an empty PCollection. The Beam counters `parity.store/written` and `parity.store/kept_newer` count
    the panes written and those the newest-window rule kept out (on a production runner: the streaming
    DirectRunner reports only part of a pipeline's counts)."""

    def __init__(
        self,
        feature: str,
        *,
        keys: Sequence[str],
        values: Sequence[str],
        store: str,
        rule: ConflictRule = ConflictRule.NEWEST_WINDOW,
        ttl_s: int | None = None,
        window_size_us: int | None = None,
        keep: Callable[[int], bool] | None = None,
        clock: Callable[[], int] | None = None,
        retry: Retry = DEFAULT_RETRY,
    ) -> None:
        super().__init__()
        if ttl_s is not None and ttl_s <= 0:
            raise ValueError(f"ttl_s {ttl_s} must be a positive number of seconds")
        self._feature, self._keys, self._values = feature, tuple(keys), tuple(values)
        self._size, self._keep = window_size_us, keep
        self._store = StorePanes(feature, self._keys, self._values, store, rule=rule, ttl_s=ttl_s, clock=clock, retry=retry)

    def expand(self, outputs: Any) -> Any:
        return (
            outputs
            | "PaneRows" >> beam.ParDo(PaneRows(self._feature, self._keys, self._values, self._size, self._keep, 1.0))
            | "StorePanes" >> beam.ParDo(self._store)
        )


STORE_METRICS = "parity.store"


class StorePanes(beam.DoFn):
    """Pane rows (dicts, as `PaneRows` and the fast replay make them) -> writes into the store, in arrival order,
    a pipelined batch of at most `batch` panes at a time, flushed by the end of each bundle. The store is opened
    once per DoFn instance (`setup`) and closed in `teardown`."""

    def __init__(self, feature: str, keys: tuple[str, ...], values: tuple[str, ...], store: str, *,
                 rule: ConflictRule = ConflictRule.NEWEST_WINDOW, ttl_s: int | None = None,
                 clock: Callable[[], int] | None = None, retry: Retry = DEFAULT_RETRY, batch: int = 500) -> None:
        self._feature, self._keys, self._values, self._url = feature, keys, values, store
        self._rule, self._ttl, self._clock, self._retry, self._batch = rule, ttl_s, clock, retry, batch
        self._store: OnlineStore | None = None
        self._panes: list[Pane] = []
        self._written = Metrics.counter(STORE_METRICS, "written")
        self._kept = Metrics.counter(STORE_METRICS, "kept_newer")

    def setup(self) -> None:
        self._store = open_store(self._url, retry=self._retry)

    def start_bundle(self) -> None:
        self._panes = []

    def process(self, row: dict[str, Any]) -> None:
        self._panes.append(Pane(key={name: row[name] for name in self._keys},
                                values={name: row[name] for name in self._values},
                                window_start_us=row["window_start"], window_end_us=row["window_end"],
                                pane_index=row["pane_index"]))
        if len(self._panes) >= self._batch:
            self._flush()

    def finish_bundle(self) -> None:
        self._flush()

    def teardown(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _flush(self) -> None:
        if not self._panes:
            return
        if self._store is None:  # a runner that skipped setup
            self.setup()
        assert self._store is not None
        now = self._clock() if self._clock is not None else None
        done = self._store.write(self._feature, self._panes, rule=self._rule, ttl_s=self._ttl, now_us=now)
        self._panes = []
        self._written.inc(done.written)
        self._kept.inc(done.kept_newer)


class WritePanes(beam.PTransform):  # type: ignore[type-arg]
    """Pane rows (dicts of keys, values and `PANE_COLUMNS`, as `PaneRows` makes them) -> Parquet files under
    `root` (the feature's folder), one folder per hour of `window_start`. Also the fast replay's writer, with
    `batch=True`: a batch pipeline writes once at its end, without the per-firing trigger (which costs the
    batch runner a trigger-state round per row)."""

    def __init__(self, root: str, writer: str, keys: tuple[str, ...], values: tuple[str, ...], *, batch: bool = False) -> None:
        super().__init__()
        self._root, self._writer, self._keys, self._values, self._batch = root, writer, keys, values, batch

    def expand(self, rows: Any) -> Any:
        root, writer, keys, values = self._root, self._writer, self._keys, self._values
        once = beam.WindowInto(window.GlobalWindows()) if self._batch else beam.WindowInto(
            window.GlobalWindows(),
            trigger=trigger.Repeatedly(trigger.AfterCount(1)),
            accumulation_mode=trigger.AccumulationMode.DISCARDING,
        )
        return (
            rows
            | "OncePerPane" >> once
            | "Write" >> fileio.WriteToFiles(
                path=root,
                destination=lambda row: partition_of(row["window_start"]),
                sink=lambda destination: ParquetRows(keys, values),
                file_naming=_naming(root, writer),
                shards=1,
            )
        )


class PaneRows(beam.DoFn):
    """One job output in its window and pane -> a dict of keys, values and pane columns (µs), or nothing when
    the cell is outside the sample or its window is not kept."""

    def __init__(
        self,
        feature: str,
        keys: tuple[str, ...],
        values: tuple[str, ...],
        window_size_us: int | None,
        keep: Callable[[int], bool] | None,
        sample_rate: float,
    ) -> None:
        self._feature, self._keys, self._values = feature, keys, values
        self._size, self._keep, self._rate = window_size_us, keep, sample_rate

    def process(self, element: Any, win: Any = beam.DoFn.WindowParam, pane: Any = beam.DoFn.PaneInfoParam) -> Any:
        if not isinstance(win, window.IntervalWindow) or (
                self._size is not None and win.end.micros - win.start.micros != self._size):
            raise JobError(self._feature, f"output is not in the spec's windows (window {win}); do not re-window or globalize in the job")
        start = win.start.micros
        if self._keep is not None and not self._keep(start):
            return
        row = dict(zip((*self._keys, *self._values), columns(element, self._keys, self._values, self._feature), strict=True))
        if self._rate < 1.0 and not _sampled(self._feature, self._keys, row, start, self._rate):
            return
        row.update(window_start=start, window_end=win.end.micros, pane_timing=PaneInfoTiming.to_string(pane.timing),
                   pane_index=pane.index, emitted_at=time.time_ns() // 1_000)
        yield row


class ParquetRows(fileio.FileSink):
    """A fileio sink writing the rows of one file as one Parquet table (pane columns typed, the rest inferred)."""

    def __init__(self, keys: tuple[str, ...], values: tuple[str, ...]) -> None:
        self._names = (*keys, *values, *PANE_COLUMNS)
        self._rows: list[dict[str, Any]] = []
        self._file: Any = None

    def open(self, fh: Any) -> None:
        self._file, self._rows = fh, []

    def write(self, record: dict[str, Any]) -> None:
        self._rows.append(record)

    def flush(self) -> None:
        pq.write_table(pane_table(self._rows, self._names), self._file)
        self._rows = []


def pane_table(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> pa.Table:
    """Pane rows as a table of `names`: pane columns as timestamp[us, UTC], string and int64."""
    arrays = []
    for name in names:
        column = [row[name] for row in rows]
        if name in ("window_start", "window_end", "emitted_at"):
            arrays.append(pa.array(column, type=pa.int64()).cast(_STAMP))
        elif name == "pane_timing":
            arrays.append(pa.array(column, type=pa.string()))
        elif name == "pane_index":
            arrays.append(pa.array(column, type=pa.int64()))
        else:
            arrays.append(pa.array(column))
    return pa.Table.from_arrays(arrays, names=list(names))


def _naming(root: str, writer: str) -> Callable[..., str]:
    """fileio's file naming: `<hour partition>/<writer>-<random>.parquet`, its folder made first (fileio makes
    only the root, and a rename into a missing folder fails quietly)."""

    def name(window: Any, pane: Any, shard_index: int, total_shards: int, compression: str, destination: str) -> str:
        try:
            FileSystems.mkdirs(FileSystems.join(root, destination))
        except OSError:
            pass  # it exists
        return f"{destination}/{writer}-{uuid.uuid4().hex}.parquet"

    return name


def _sampled(feature: str, keys: tuple[str, ...], row: dict[str, Any], start: int, rate: float) -> bool:
    import pandas as pd

    from parity.sample import in_sample

    frame = pd.DataFrame({**{k: [row[k]] for k in keys}, "window_start": [start]})
    return bool(in_sample(feature, frame, keys, rate)[0])


def columns(element: Any, keys: tuple[str, ...], values: tuple[str, ...], feature: str) -> tuple[Any, ...]:
    """Key and value columns of one job output: a row/NamedTuple/dict, or a `(key, value)` pair."""
    if _named(element):
        return tuple(_field(element, name, feature) for name in (*keys, *values))
    if isinstance(element, tuple) and len(element) == 2:
        key, value = element
        if _named(key):
            key_part = tuple(_field(key, name, feature) for name in keys)
        elif len(keys) == 1:
            key_part = (key,)
        elif isinstance(key, tuple) and len(key) == len(keys):
            key_part = key
        else:
            raise JobError(feature, f"output key {key!r} does not match keys {list(keys)}")
        if _named(value):
            value_part = tuple(_field(value, name, feature) for name in values)
        elif len(values) == 1:
            value_part = (value,)
        elif isinstance(value, tuple) and len(value) == len(values):
            value_part = value
        else:
            raise JobError(feature, f"output value {value!r} does not match values {list(values)}")
        return (*key_part, *value_part)
    raise JobError(feature, f"output {element!r} is neither a row with {[*keys, *values]} nor a (key, value) pair")


def _named(element: Any) -> bool:
    return isinstance(element, (Row, dict)) or hasattr(element, "_fields")


def _field(element: Any, name: str, feature: str) -> Any:
    if isinstance(element, dict):
        if name not in element:
            raise JobError(feature, f"output has no column {name!r}; it has {sorted(element)}")
        return element[name]
    if not hasattr(element, name):
        raise JobError(feature, f"output has no column {name!r}; it has {sorted(vars(element) if isinstance(element, Row) else element._fields)}")
    return getattr(element, name)
