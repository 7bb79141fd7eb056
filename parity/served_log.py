"""The served log: what a tap (`parity tap`) read from the online store, partitioned by the UTC hour of the read.

    <served_log>/<feature>/date=YYYY-MM-DD/hour=HH/<tap-id>-<seq>.parquet

One row per read: the feature's key columns, `parity.served.READ_COLUMNS` (`read_at`, `present`,
`window_start`, `window_end`, `written_at`; times as timestamp[us, UTC], null where the store held nothing),
the value columns in the feature's online types (the online log's schema; null for an absent key), and
`clock`, the clock `read_at` was measured on (`wall` or `simulated`).

Every file is published whole (`parity.publish.publish`): a tap killed mid-write leaves a hidden temporary
that readers skip and the next tap removes, never a torn file. Each tap writes under its own id and counts
its files up from 0, so a second tap of the same hour (the next cron run, a restarted sidecar) adds files
beside the first one's and never replaces them.

`read_served` gives the reads of a span in exactly the shape `parity.served.served_check` takes.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from parity.errors import DataError
from parity.frames import NULLABLE
from parity.online.files import hour_folder, hours
from parity.publish import clean_leftovers, publish, published
from parity.served import READ_COLUMNS
from parity.spec import FeatureSpec
from parity.units import HOUR_US

CLOCK_COLUMN = "clock"
_STAMP = pa.timestamp("us", tz="UTC")
_TIMES = ("read_at", "window_start", "window_end", "written_at")
_TAP_ID = re.compile(r"^[A-Za-z0-9_]+$")


class Clock(enum.StrEnum):
    """Which clock a read's `read_at` was measured on."""

    WALL = "wall"
    SIMULATED = "simulated"


def served_root(location: str | Path) -> Path:
    """The folder a served-log location names: a path or a `file://` URL."""
    text = str(location)
    if "://" in text:
        parts = urlsplit(text)
        if parts.scheme != "file":
            raise DataError(text, f"the served log is a folder or a file:// URL, not {parts.scheme}://")
        return Path(parts.path)
    return Path(text)


def new_tap_id(now: dt.datetime | None = None) -> str:
    """A tap's id, unique per run: `tap_<UTC start>_<random>` (letters, digits and `_`)."""
    moment = now or dt.datetime.now(tz=dt.UTC)
    return f"tap_{moment:%Y%m%dT%H%M%S}_{uuid.uuid4().hex[:8]}"


def log_schema(spec: FeatureSpec, online: pa.Schema | None) -> pa.Schema:
    """The served log's schema of `spec`: its keys and values in the online log's types (`online`, when known;
    else inferred from what the tap read), the read columns and the clock."""
    def kind(name: str) -> pa.DataType:
        return online.field(name).type if online is not None and name in online.names else pa.null()

    return pa.schema([
        *(pa.field(k, kind(k)) for k in spec.keys),
        pa.field("read_at", _STAMP, nullable=False), pa.field("present", pa.bool_(), nullable=False),
        pa.field("window_start", _STAMP), pa.field("window_end", _STAMP), pa.field("written_at", _STAMP),
        *(pa.field(v, kind(v)) for v in spec.values),
        pa.field(CLOCK_COLUMN, pa.string(), nullable=False),
    ])


@dataclass(slots=True)
class ServedLogWriter:
    """Buffers a tap's reads by hour and publishes them as whole files (`flush`). Not thread-safe."""

    root: Path
    spec: FeatureSpec
    schema: pa.Schema
    clock: Clock
    tap_id: str = field(default_factory=new_tap_id)
    seq: int = 0
    rows_written: int = 0
    files: list[Path] = field(default_factory=list)
    _buffer: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _TAP_ID.match(self.tap_id):
            raise ValueError(f"tap id {self.tap_id!r} must be letters, digits or '_'")

    @property
    def pending(self) -> int:
        return sum(len(rows) for rows in self._buffer.values())

    def append(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Reads as dicts of the schema's columns but `clock` (times as int µs, None when absent)."""
        for row in rows:
            hour = int(row["read_at"]) // HOUR_US * HOUR_US
            self._buffer.setdefault(hour, []).append(dict(row))

    def flush(self) -> list[Path]:
        """Publish every buffered hour as one file each; returns the files written."""
        written = []
        for hour in sorted(self._buffer):
            rows = self._buffer.pop(hour)
            if not rows:
                continue
            folder = hour_folder(self.root / self.spec.name, hour)
            folder.mkdir(parents=True, exist_ok=True)
            if self.seq == 0:
                clean_leftovers(folder)
            target = folder / f"{self.tap_id}-{self.seq:06d}.parquet"
            self.seq += 1
            table = _table(rows, self.schema, self.clock)
            publish(target, lambda path, table=table: pq.write_table(table, path))  # type: ignore[misc]
            self.rows_written += len(rows)
            written.append(target)
        self.files += written
        return written


def _table(rows: Sequence[Mapping[str, Any]], schema: pa.Schema, clock: Clock) -> pa.Table:
    arrays = []
    fields = []
    for column in schema:
        if column.name == CLOCK_COLUMN:
            arrays.append(pa.array([clock.value] * len(rows), pa.string()))
            fields.append(column)
            continue
        values = [row.get(column.name) for row in rows]
        if column.name in _TIMES:
            array = pa.array(values, pa.int64()).cast(_STAMP)
        elif pa.types.is_null(column.type):
            array = pa.array(values)  # no online schema: what the store held decides
        else:
            array = pa.array(values, column.type)
        arrays.append(array)
        fields.append(pa.field(column.name, array.type, column.nullable))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def read_served(location: str | Path, spec: FeatureSpec, start_us: int, end_us: int) -> pd.DataFrame:
    """The reads of `spec` with `read_at` in [start_us, end_us), in the shape `served_check` takes: keys, values,
    `read_at`/`window_start`/`window_end`/`written_at` as Int64 µs (NA where absent), `present` bool, `clock`.
    A file that cannot be read, or lacks a column, is a `DataError` naming it."""
    folder = served_root(location) / spec.name
    tables = []
    for hour in hours(start_us, end_us):
        directory = hour_folder(folder, hour)
        if not directory.is_dir():
            continue
        for file in published(directory, ".parquet"):
            try:
                table = pq.read_table(file)
            except (OSError, pa.ArrowInvalid) as exc:
                raise DataError(str(file), f"unreadable served-log file: {exc}") from exc
            missing = [c for c in (*spec.keys, *READ_COLUMNS, *spec.values, CLOCK_COLUMN) if c not in table.column_names]
            if missing:
                raise DataError(str(file), f"served-log file lacks column(s) {', '.join(missing)}")
            tables.append(table.select([*spec.keys, *READ_COLUMNS, *spec.values, CLOCK_COLUMN]))
    if not tables:
        return _empty(spec)
    table = pa.concat_tables(tables, promote_options="permissive")
    frame = table.to_pandas(types_mapper=NULLABLE.get)
    for column in _TIMES:
        frame[column] = pd.array(table.column(column).cast(pa.int64()).to_pylist(), dtype="Int64")
    frame["present"] = frame["present"].astype(bool)
    frame = frame[(frame["read_at"] >= start_us) & (frame["read_at"] < end_us)]
    return frame.sort_values("read_at", kind="stable").reset_index(drop=True)


def _empty(spec: FeatureSpec) -> pd.DataFrame:
    columns: dict[str, pd.Series] = {c: pd.Series([], dtype=object) for c in (*spec.keys, *spec.values)}
    columns |= {c: pd.Series([], dtype="Int64") for c in _TIMES}
    columns |= {"present": pd.Series([], dtype=bool), CLOCK_COLUMN: pd.Series([], dtype=object)}
    return pd.DataFrame(columns)[[*spec.keys, *READ_COLUMNS, *spec.values, CLOCK_COLUMN]]


def clock_of(reads: pd.DataFrame, where: str) -> Clock:
    """The one clock the reads were measured on; a `DataError` when taps on two clocks wrote the span."""
    found = sorted(set(reads[CLOCK_COLUMN].dropna().astype(str))) if len(reads) else [Clock.WALL.value]
    if len(found) != 1:
        raise DataError(where, f"reads on more than one clock ({', '.join(found)}); check one tap's span at a time")
    try:
        return Clock(found[0])
    except ValueError:
        raise DataError(where, f"unknown clock {found[0]!r}; expected wall or simulated") from None
