"""The event log: a Parquet dataset per source, partitioned by the UTC hour of `event_time`.

Layout (a contract other tools read too, Spark included):
`<event_log>/<source>/date=YYYY-MM-DD/hour=HH/<name>.parquet`. Every file has `event_id` (string),
`event_time` and `ingest_time` (`timestamp[us, tz=UTC]`); other columns pass through untouched.

Rows that cannot be placed in the log (no id, no timestamps, impossible coordinates) are never
dropped and never crash a write: they go to `<quarantine>/<source>/<timestamp>.parquet` with a
`reason` column, and are counted. Reading normalises files from other writers (ns or ms units,
naive timestamps) to microseconds UTC, and opens only the hour partitions a time range touches.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from parity.errors import DataError
from parity.publish import HIDDEN_PREFIXES, clean_leftovers, publish, publish_text, published
from parity.units import HOUR_US, format_duration

REQUIRED_COLUMNS = ("event_id", "event_time", "ingest_time")
TIMESTAMP = pa.timestamp("us", tz="UTC")
REASON_COLUMN = "reason"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Instants a partition directory can name (datetime's year 1..9999); anything outside is quarantined.
_MIN_EVENT_US = (datetime(1, 1, 1, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_MAX_EVENT_US = (datetime(9999, 12, 31, 23, tzinfo=UTC) - _EPOCH) // timedelta(microseconds=1)
_SOURCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_HOUR_DIR = re.compile(r"^hour=(\d{1,2})$")
_FIX = "run `parity generate` first"
# Per source, what `newest_arrival_us` learnt from each file's footer, so a check opens only new files' footers.
ARRIVALS_INDEX = "_arrivals.json"
DEFAULT_SKEW_BOUND_US = 5 * 60 * 1_000_000  # `clock_skew_bound` in [tool.parity] (`parity.settings`)
_FAR_FUTURE_US = _MAX_EVENT_US * 2  # "now" for the half of the clock check that does not depend on it
log = logging.getLogger("parity.events")


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one `write_events` call did. `partitions` are the hour directories it wrote into."""

    rows_written: int
    rows_quarantined: int
    quarantine_file: Path | None
    partitions: tuple[Path, ...]
    files: tuple[Path, ...]


# --- writing ----------------------------------------------------------------------------------------


def write_events(events: pa.Table, event_log: Path, source: str, quarantine: Path, *,
                 skew_bound_us: int = DEFAULT_SKEW_BOUND_US, now_us: int | None = None) -> WriteResult:
    """Append `events` to `<event_log>/<source>`, one new file per UTC hour of `event_time`.

    Rows failing `quarantine_reasons` go to a quarantine file instead (a clock beyond now + `skew_bound_us`
    among them: an event from 2099 never makes a `date=2099-01-01` partition). A table without a required
    column is refused with a `DataError`; nothing is written then. Files are named after the content
    of `events`, and each is published atomically (`parity.publish`): writing the same table again,
    as the rerun of a write that was killed half-way does, replaces its files with identical ones
    instead of adding duplicates. Temporary files a killed write left behind are removed first.
    """
    source_dir = _source_dir(event_log, source)
    table = normalise(events, str(source_dir))
    batch = f"part-{_digest(table)}"
    for column in ("lat", "lon"):
        kind = table.schema.field(column).type if column in table.column_names else pa.float64()
        if not any(test(kind) for test in (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal,
                                           pa.types.is_null)):
            raise DataError(str(source_dir), f"column {column!r} has type {kind}; expected float64 degrees")
    reasons = quarantine_reasons(table, skew_bound_us, _now_us() if now_us is None else now_us)
    bad = pc.is_valid(reasons)
    rows_bad = pc.sum(bad).as_py() or 0

    quarantine_file = None
    if rows_bad:
        quarantine_file = _write_quarantine(table.filter(bad), reasons.filter(bad), quarantine / source, batch)
        table = table.filter(pc.invert(bad))

    source_dir.mkdir(parents=True, exist_ok=True)
    for _, partition in _partitions(source_dir):
        clean_leftovers(partition)
    partitions: list[Path] = []
    files: list[Path] = []
    if table.num_rows:
        table = table.take(pc.sort_indices(table["event_time"]))
        hours = np.floor_divide(_micros(table["event_time"]), HOUR_US)
        starts = np.flatnonzero(np.r_[True, hours[1:] != hours[:-1]])
        ends = np.r_[starts[1:], len(hours)]
        for begin, end in zip(starts.tolist(), ends.tolist(), strict=True):
            partition = source_dir / partition_name(int(hours[begin]) * HOUR_US)
            partition.mkdir(parents=True, exist_ok=True)
            target = partition / f"{batch}.parquet"
            _publish_table(table.slice(begin, end - begin), target)
            partitions.append(partition)
            files.append(target)
    return WriteResult(
        rows_written=table.num_rows,
        rows_quarantined=rows_bad,
        quarantine_file=quarantine_file,
        partitions=tuple(partitions),
        files=tuple(files),
    )


def quarantine_reasons(table: pa.Table, skew_bound_us: int = DEFAULT_SKEW_BOUND_US,
                       now_us: int | None = None) -> pa.ChunkedArray:
    """Per row, why it cannot enter the log (`'event_time is null; lat out of range'`), or null when it can.

    An `event_time` or `ingest_time` beyond `now_us` + `skew_bound_us` is a clock error, not an event (with
    `now_us` None, the current time). An event_time ahead of its ingest_time by less than that is kept: the
    stream received it, and the events suite judges the share of such rows.

    Coordinates follow `parity.geo.valid_coordinates`: null, NaN or outside [-90, 90] x [-180, 180] is invalid.
    Expects a `normalise`d table (timestamps in microseconds), as `write_events` passes it.
    """
    event_id = table["event_id"]
    checks: list[tuple[pa.ChunkedArray, str]] = [
        (pc.is_null(event_id), "event_id is null"),
        (pc.equal(pc.utf8_length(pc.utf8_trim_whitespace(event_id)), 0), "event_id is empty"),
        (pc.is_null(table["event_time"]), "event_time is null"),
        (_outside(pc.cast(table["event_time"], pa.int64()), _MIN_EVENT_US, _MAX_EVENT_US),
         "event_time outside years 1-9999"),
        (pc.is_null(table["ingest_time"]), "ingest_time is null"),
    ]
    now = _now_us() if now_us is None else now_us
    shown = format_duration(skew_bound_us)
    for column in ("event_time", "ingest_time"):
        checks.append((pc.greater(pc.cast(table[column], pa.int64()), now + skew_bound_us),
                       f"{column} beyond now + clock_skew_bound {shown}"))
    for column, bound in (("lat", 90.0), ("lon", 180.0)):
        if column in table.column_names:
            values = pc.cast(table[column], pa.float64())
            checks.append((pc.is_null(values), f"{column} is null"))
            checks.append((pc.is_nan(values), f"{column} is NaN"))
            checks.append((_outside(values, -bound, bound), f"{column} out of range [{-bound:g}, {bound:g}]"))

    reasons = pa.chunked_array([pa.nulls(table.num_rows, pa.string())])
    for failed, reason in checks:
        failed = pc.fill_null(failed, False)
        joined = pc.binary_join_element_wise(reasons, reason, "; ")
        reasons = pc.if_else(failed, pc.coalesce(joined, reason), reasons)
    return reasons


def _outside(values: pa.ChunkedArray, low: float, high: float) -> pa.ChunkedArray:
    return pc.or_(pc.less(values, low), pc.greater(values, high))


def _write_quarantine(rows: pa.Table, reasons: pa.ChunkedArray, directory: Path, batch: str) -> Path:
    """The rows of one write that cannot enter the log, named after the write (a rerun replaces them)."""
    name = REASON_COLUMN if REASON_COLUMN not in rows.column_names else f"quarantine_{REASON_COLUMN}"
    directory.mkdir(parents=True, exist_ok=True)
    clean_leftovers(directory)
    return _publish_table(rows.append_column(name, reasons), directory / f"{batch}.parquet")


def _publish_table(table: pa.Table, target: Path) -> Path:
    return publish(target, lambda temporary: pq.write_table(table, temporary))


def _digest(table: pa.Table) -> str:
    """A name for the content of `table` (its schema and every value, however it is chunked)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks())
    return hashlib.blake2b(sink.getvalue(), digest_size=12).hexdigest()


def partition_name(hour_start_us: int) -> str:
    """`date=YYYY-MM-DD/hour=HH` of the UTC hour starting at `hour_start_us`."""
    moment = _EPOCH + timedelta(microseconds=hour_start_us)
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRead:
    """What `read_event_range` read. `events`: the rows with `start_us <= event_time < end_us`. `misplaced`: the
    rows of the opened partitions that break the log's layout, a null `event_time` or one outside the hour of its
    `date=/hour=` partition, whether or not in range (`event_id`, `event_time`, `partition`), so that the data
    expectations see what the range filter would otherwise drop silently."""

    events: pa.Table
    misplaced: pa.Table
    skewed: int = 0  # rows of `events` whose clock is off by more than the bound (`clock_skewed`)


def read_events(event_log: Path, source: str, start_us: int | None = None, end_us: int | None = None) -> pa.Table:
    """Events of `source` with `start_us <= event_time < end_us` (either bound may be open).

    Only the hour partitions overlapping the range are opened. Timestamps come back as
    `timestamp[us, tz=UTC]` whatever unit or zone the files were written with.
    """
    return read_event_range(event_log, source, start_us, end_us).events


def read_event_range(
    event_log: Path, source: str, start_us: int | None = None, end_us: int | None = None, *,
    skew_bound_us: int = DEFAULT_SKEW_BOUND_US, now_us: int | None = None,
) -> EventRead:
    """`read_events`, with the rows of the opened partitions that are not where the layout says, and the count of
    rows in range whose clock is off by more than `skew_bound_us` (see EventRead)."""
    files = _hour_files(event_log, source, start_us, end_us)
    misplaced_schema = pa.schema([("event_id", pa.string()), ("event_time", TIMESTAMP), ("partition", pa.string())])
    if not files:
        return EventRead(_empty(_existing_source(event_log, source)), misplaced_schema.empty_table())
    tables = []
    misplaced = [misplaced_schema.empty_table()]
    for hour_start, file in files:
        table = normalise(_read(file), str(file))
        times = table["event_time"]
        keep = pc.is_valid(times)
        if start_us is not None:
            keep = pc.and_(keep, pc.greater_equal(times, _at(start_us)))
        if end_us is not None:
            keep = pc.and_(keep, pc.less(times, _at(end_us)))
        tables.append(table.filter(keep))
        outside = pc.or_(pc.less(times, _at(hour_start)), pc.greater_equal(times, _at(hour_start + HOUR_US)))
        wrong = table.filter(pc.fill_null(outside, True))
        if wrong.num_rows:
            label = f"{file.parent.parent.name}/{file.parent.name}"
            partition = pa.array([label] * wrong.num_rows, pa.string())
            misplaced.append(pa.table([wrong["event_id"], wrong["event_time"], partition], schema=misplaced_schema))
    events = pa.concat_tables(tables, promote_options="permissive")
    skewed = clock_skewed(events, skew_bound_us, _now_us() if now_us is None else now_us)
    return EventRead(events, pa.concat_tables(misplaced), int(pc.sum(skewed).as_py() or 0))


def event_files(event_log: Path, source: str, start_us: int | None = None, end_us: int | None = None) -> list[Path]:
    """The Parquet files of the hour partitions overlapping event times [start_us, end_us), oldest hour first.

    The one listing of the event log, for every reader (Spark's included): names starting with `_` or `.`
    (other writers' bookkeeping, temporary files) are never events. Only the date folders the range
    touches are opened. A source never written is a `DataError`.
    """
    return [file for _, file in _hour_files(event_log, source, start_us, end_us)]


def _hour_files(event_log: Path, source: str, start_us: int | None, end_us: int | None) -> list[tuple[int, Path]]:
    """`event_files`, each with the start (µs) of the hour partition it is in."""
    source_dir = _existing_source(event_log, source)
    return [
        (hour_start, file)
        for hour_start, partition in _partitions(source_dir, start_us, end_us)
        for file in published(partition, ".parquet")
    ]


def newest_arrival_us(event_log: Path, source: str, skew_bound_us: int = DEFAULT_SKEW_BOUND_US,
                      now_us: int | None = None) -> int:
    """The largest `ingest_time` of the source's events that pass the clock check (`arrivals`)."""
    return arrivals(event_log, source, skew_bound_us, now_us).newest_us


@dataclass(frozen=True, slots=True)
class Arrivals:
    """What the log says about how far arrivals got: `newest_us`, the largest sane `ingest_time`, and `skewed`,
    the rows left out of it because a clock is off (`clock_skewed`)."""

    newest_us: int
    skewed: int


def clock_skewed(table: pa.Table, skew_bound_us: int, now_us: int) -> pa.ChunkedArray:
    """Per row, whether a clock is off by more than the bound: `ingest_time` beyond now + bound (an arrival from
    the future), or `event_time` beyond `ingest_time` + bound (an event stamped after it arrived). Such rows are
    never used to decide what is settled, and are counted wherever they are read. Expects `normalise`d times."""
    ingest = pc.cast(table["ingest_time"], pa.int64())
    event = pc.cast(table["event_time"], pa.int64())
    future = pc.greater(ingest, now_us + skew_bound_us)
    ahead = pc.greater(pc.subtract(event, ingest), skew_bound_us)
    return pc.fill_null(pc.or_(pc.fill_null(future, False), pc.fill_null(ahead, False)), False)


def arrivals(event_log: Path, source: str, skew_bound_us: int = DEFAULT_SKEW_BOUND_US,
             now_us: int | None = None) -> Arrivals:
    """The newest arrival of the source: the largest `ingest_time` of its rows that are not `clock_skewed`.

    What each file held is kept in `<source>/_arrivals.json` (by path, size and modification time: its largest
    `ingest_time` of rows whose `event_time` is within the bound of it, and how many are not), so a check reads
    only the time columns of files that are new or changed since the last one. A file whose newest arrival lies
    beyond now + bound is read again (a row from the future becomes an arrival once the clock reaches it). A file
    that cannot be read is left out with a warning: the newest arrival can then only be earlier, which settles
    fewer windows, never more (and a check of that file's hour fails reading it).
    """
    source_dir = _existing_source(event_log, source)
    now = _now_us() if now_us is None else now_us
    known = _load_arrivals(source_dir, skew_bound_us)
    seen: dict[str, list[int | None]] = {}
    newest: list[int] = []
    skewed = 0
    skipped: DataError | None = None
    for file in event_files(event_log, source):
        name = file.relative_to(source_dir).as_posix()
        try:
            stat = file.stat()
            entry = known.get(name)
            if entry is None or entry[:2] != [stat.st_size, stat.st_mtime_ns]:
                entry = [stat.st_size, stat.st_mtime_ns, *_file_arrivals(file, skew_bound_us, None)]
            arrived, ahead = entry[2], int(entry[3] or 0)
            if arrived is not None and arrived > now + skew_bound_us:
                arrived, ahead = _file_arrivals(file, skew_bound_us, now)
        except (OSError, DataError) as exc:
            log.warning("event_file_skipped path=%s reason=%s", file, str(exc).replace(f"{file}: ", ""))
            skipped = skipped or (exc if isinstance(exc, DataError) else DataError(str(file), str(exc)))
            continue
        seen[name] = entry
        skewed += ahead
        if arrived is not None:
            newest.append(arrived)
    if seen != known:
        _save_arrivals(source_dir, seen, skew_bound_us)
    if skewed:
        log.info("clock_skewed_events_ignored source=%s rows=%d bound_us=%d", source, skewed, skew_bound_us)
    if not newest:
        if skipped is not None:  # every file was left out: why the first one was is the problem to fix
            raise skipped
        raise DataError(str(source_dir), f"no events with an ingest_time within the clock-skew bound; {_FIX}")
    return Arrivals(max(newest), skewed)


def _file_arrivals(file: Path, skew_bound_us: int, now_us: int | None) -> tuple[int | None, int]:
    """(largest `ingest_time` of the file's rows that are not clock-skewed, how many are); with `now_us` None
    only the event-ahead-of-ingest half of `clock_skewed` applies (what the arrival index can keep)."""
    try:
        parquet = pq.ParquetFile(file)
        names = parquet.schema_arrow.names
        if "ingest_time" not in names or "event_time" not in names:
            missing = "ingest_time" if "ingest_time" not in names else "event_time"
            raise DataError(str(file), f"missing required column {missing!r}")
        times = parquet.read(columns=["event_time", "ingest_time"])
    except (OSError, pa.ArrowException) as exc:
        raise DataError(str(file), f"unreadable Parquet file: {exc}") from exc
    times = pa.table({column: _as_timestamp(times[column], column, str(file)) for column in times.column_names})
    times = times.filter(pc.is_valid(times["ingest_time"]))
    bad = clock_skewed(times, skew_bound_us, _FAR_FUTURE_US if now_us is None else now_us)
    sane = times.filter(pc.invert(bad))["ingest_time"]
    biggest = pc.max(sane).value if sane.length() else None
    return (None if biggest is None else int(biggest)), int(pc.sum(bad).as_py() or 0)


def _now_us() -> int:
    return (datetime.now(UTC) - _EPOCH) // timedelta(microseconds=1)


def _load_arrivals(source_dir: Path, skew_bound_us: int) -> dict[str, list[int | None]]:
    """The arrival index, or nothing when it is missing, not one parity wrote or made under another clock-skew
    bound (it is rebuilt then). Per file: size, mtime (ns), newest sane arrival, rows with event_time ahead."""
    try:
        index = json.loads((source_dir / ARRIVALS_INDEX).read_text())
    except (OSError, ValueError):
        return {}
    valid = isinstance(index, dict) and index.get("version") == 2 and index.get("skew_bound_us") == skew_bound_us
    files = index.get("files") if valid else None
    if not isinstance(files, dict):
        return {}
    return {
        name: entry for name, entry in files.items()
        if isinstance(entry, list) and len(entry) == 4 and all(v is None or type(v) is int for v in entry)
    }


def _save_arrivals(source_dir: Path, files: dict[str, list[int | None]], skew_bound_us: int) -> None:
    """Best effort: a log this process may not write to is still checked, only without the shortcut."""
    clean_leftovers(source_dir)
    index = {"version": 2, "skew_bound_us": skew_bound_us, "files": files}
    try:
        publish_text(source_dir / ARRIVALS_INDEX, json.dumps(index, separators=(",", ":")))
    except OSError as exc:
        log.info("arrivals_index_not_saved path=%s reason=%s", source_dir / ARRIVALS_INDEX, exc)


def sources(event_log: Path) -> list[str]:
    """The sources in the log, sorted; none when the log directory does not exist yet."""
    if not event_log.is_dir():
        return []
    return sorted(p.name for p in event_log.iterdir() if p.is_dir() and _SOURCE.match(p.name))


def normalise(table: pa.Table, where: str) -> pa.Table:
    """Required columns as `event_id: string`, `event_time`/`ingest_time: timestamp[us, tz=UTC]`.

    Naive timestamps are taken as UTC; nanoseconds are floored to microseconds. A missing required
    column, or one of a type that cannot mean an id or an instant, is a `DataError` naming it.
    """
    for column in REQUIRED_COLUMNS:
        if column not in table.column_names:
            raise DataError(where, f"missing required column {column!r} (required: {', '.join(REQUIRED_COLUMNS)})")
    for column in REQUIRED_COLUMNS:
        index = table.schema.get_field_index(column)
        values = table.column(index)
        if column == "event_id":
            converted = _as_string(values, where)
        else:
            converted = _as_timestamp(values, column, where)
        if converted.type != values.type:
            table = table.set_column(index, pa.field(column, converted.type), converted)
    return table


def _as_string(values: pa.ChunkedArray, where: str) -> pa.ChunkedArray:
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = pc.cast(values, kind.value_type)
        kind = kind.value_type
    if pa.types.is_string(kind):
        return values
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind) or pa.types.is_null(kind):
        return pc.cast(values, pa.string())
    raise DataError(where, f"column 'event_id' has type {kind}; expected string")


def _as_timestamp(values: pa.ChunkedArray, column: str, where: str) -> pa.ChunkedArray:
    kind = values.type
    if pa.types.is_null(kind):
        return pc.cast(values, TIMESTAMP)
    if not pa.types.is_timestamp(kind):
        raise DataError(where, f"column {column!r} has type {kind}; expected timestamp[us, tz=UTC]")
    if kind == TIMESTAMP:
        return values
    if kind.tz is None:
        values = pc.cast(values, pa.timestamp(kind.unit, tz="UTC"))
    if kind.unit == "ns":
        values = pc.floor_temporal(values, unit="microsecond")
    return pc.cast(values, TIMESTAMP)


def _source_dir(event_log: Path, source: str) -> Path:
    if not _SOURCE.match(source):
        raise DataError(str(event_log), f"bad source name {source!r}; use letters, digits, '_', '-', '.'")
    return Path(event_log) / source


def _existing_source(event_log: Path, source: str) -> Path:
    source_dir = _source_dir(event_log, source)
    if not source_dir.is_dir():
        raise DataError(str(source_dir), f"no events for source {source!r}; {_FIX}")
    return source_dir


def _partitions(source_dir: Path, start_us: int | None = None, end_us: int | None = None) -> list[tuple[int, Path]]:
    """(hour start in us, directory) of the `date=/hour=` partitions overlapping [start_us, end_us), oldest first."""
    found: list[tuple[int, Path]] = []
    for day_dir in _listed(source_dir):
        day = _DATE_DIR.match(day_dir.name)
        if not day_dir.is_dir():
            continue
        try:
            if not day:
                raise ValueError
            day_start = datetime.combine(date.fromisoformat(day.group(1)), datetime.min.time(), UTC)
        except ValueError:
            raise DataError(str(day_dir), "not a date=YYYY-MM-DD partition; move it out of the event log") from None
        day_us = (day_start - _EPOCH) // timedelta(microseconds=1)
        if (start_us is not None and day_us + 24 * HOUR_US <= start_us) or (end_us is not None and day_us >= end_us):
            continue
        for hour_dir in _listed(day_dir):
            hour = _HOUR_DIR.match(hour_dir.name)
            if not hour_dir.is_dir():
                continue
            if not hour or int(hour.group(1)) > 23:
                raise DataError(str(hour_dir), "not an hour=HH partition (00-23); move it out of the event log")
            hour_us = day_us + int(hour.group(1)) * HOUR_US
            if (start_us is None or hour_us + HOUR_US > start_us) and (end_us is None or hour_us < end_us):
                found.append((hour_us, hour_dir))
    return sorted(found)


def _listed(directory: Path) -> list[Path]:
    """Entries other writers' bookkeeping aside (`_SUCCESS`, `.crc`, temporaries start with `_` or `.`)."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith(HIDDEN_PREFIXES))


def _read(file: Path) -> pa.Table:
    try:
        return pq.ParquetFile(file).read()
    except (OSError, pa.ArrowException) as exc:
        raise DataError(str(file), f"unreadable Parquet file: {exc}") from exc


def _empty(source_dir: Path) -> pa.Table:
    """A source with no file in range still has a schema: the newest readable file's, else just the required columns."""
    every = [file for _, partition in _partitions(source_dir) for file in published(partition, ".parquet")]
    for file in reversed(every):
        try:
            schema = pq.read_schema(file)
        except (OSError, pa.ArrowException) as exc:
            log.warning("event_file_skipped path=%s reason=unreadable Parquet file: %s", file, exc)
            continue
        return normalise(schema.empty_table(), str(file))
    fields = [pa.field("event_id", pa.string()), pa.field("event_time", TIMESTAMP), pa.field("ingest_time", TIMESTAMP)]
    return pa.schema(fields).empty_table()


def _micros(values: pa.ChunkedArray) -> np.ndarray:
    micros: np.ndarray = pc.cast(values, pa.int64()).to_numpy()
    return micros


def _at(us: int) -> pa.Scalar:
    return pa.scalar(us, TIMESTAMP)
