"""The online log on a filesystem: `<online_log>/<feature>/date=YYYY-MM-DD/hour=HH/`, by the UTC hour of
`window_start`, one file per writer and claim, each published atomically.

Two kinds of files live in an hour folder:

- a *claiming* file `<writer>.<claim start>.<claim end>.g<generation>.parquet`, written by `write_hours` (what
  `parity stream` and `parity replay` publish): it holds every pane of the windows starting in its claim (cut
  to its hour), and it replaces, window by window, what older generations of the same writer held for those
  windows. A reader keeps a row of a claiming file only where no newer file of the same writer claims its
  window, so re-streaming `08:05-08:15` after `08:00-08:10` replaces `08:05-08:10` and keeps `08:00-08:05`,
  and a stream killed before its rename leaves the previous generation readable. The writer then deletes the
  files its new claim wholly supersedes; readers never need that to happen.
- a *spill* file `<writer>.<claim start>.<claim end>.g<generation>.spill.parquet`, written by `write_spill`: the
  panes a stream's job emitted for windows outside the stream's claim (a job that re-stamps its events an hour
  late puts every pane an hour past the events it read). The claim in its name is the stream's, not its hour's:
  a spill row stays visible whatever newer generations claim its window (the stream of the next hour never
  computes that pane: its events land another hour later), except where the writer's claiming file of that hour
  holds the same cell (the owner's pane wins; cells are the keys named in the file's metadata and
  `window_start`), or a newer spill of the writer's whose claim overlaps it exists (a re-stream of that range;
  `write_spill` then deletes the older one everywhere). Of two spill files of one writer holding one cell
  (streams of other ranges, both of whose jobs emitted it), the earlier claim's pane counts.
- any other `*.parquet` (the pane files `parity.beam.LogOutputs` writes from a production pipeline, named
  `<writer>-...`): read whole; it claims nothing and replaces nothing.

Two writers of one hour (a production logger and a replay into the same log, say) both count: a cell in
both has two final panes, which the check calls `duplicate_output` and names the files.

Column types: a feature declares its online types (`online_types` in its spec); every writer casts to them
(`conform`) and the check reads every file with them (`conform_parts`). Files written before, or by a writer
that inferred its types, may disagree (a job's integer total inferred as int64 in one file, double in
another): they are read with one schema, the declared one or, undeclared, int64 where every value of the
other files is a whole number, else the wider type. A value that cannot be cast without loss is a `DataError`
naming its file.

The flat layout of earlier versions (`<online_log>/<feature>/*.parquet`, `windows-<start>--<end>.parquet`
naming its claim) is still read, and `migrate_flat` moves such files into hours once (`parity stream` calls
it), so re-streaming their range replaces them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import re
import time
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from parity.errors import DataError
from parity.publish import clean_leftovers, publish, published
from parity.units import HOUR_US

STREAM_WRITER = "stream"  # the writer `parity stream` publishes as
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_LABEL = "%Y%m%dT%H%M%S%fZ"
_WRITER = re.compile(r"^[A-Za-z0-9_-]+$")
_CLAIMING = re.compile(r"^(?P<writer>[A-Za-z0-9_-]+)\.(?P<start>\d{8}T\d{12}Z)\.(?P<end>\d{8}T\d{12}Z)\.g(?P<generation>\d{20})\.parquet$")
_SPILL = re.compile(r"^(?P<writer>[A-Za-z0-9_-]+)\.(?P<start>\d{8}T\d{12}Z)\.(?P<end>\d{8}T\d{12}Z)\.g(?P<generation>\d{20})\.spill\.parquet$")
_KEYS_METADATA = b"parity.keys"  # a spill file's cell keys (JSON list), for the owner's pane to win
_FLAT_CLAIM = re.compile(r"^windows-(\d{8}T\d{12}Z)--(\d{8}T\d{12}Z)\.parquet$")
_DATE_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, slots=True)
class OnlinePart:
    """Rows of one online file that a reader should see: `table` (superseded windows removed), the file's
    `name` (relative to the feature's folder, for diagnoses) and the window starts `[start, end)` it claims
    (None: it claims no range)."""

    table: pa.Table
    name: str
    claim: tuple[int, int] | None


def label(us: int) -> str:
    return (_EPOCH + dt.timedelta(microseconds=us)).strftime(_LABEL)


def _from_label(text: str) -> int:
    return (dt.datetime.strptime(text, _LABEL).replace(tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)


def hour_folder(root: Path, hour_us: int) -> Path:
    """`root/date=YYYY-MM-DD/hour=HH` of the hour starting at `hour_us`."""
    moment = _EPOCH + dt.timedelta(microseconds=hour_us)
    return root / f"date={moment:%Y-%m-%d}" / f"hour={moment:%H}"


def partition_of(window_start_us: int) -> str:
    """The hour partition (`date=.../hour=...`, relative) of a window start."""
    moment = _EPOCH + dt.timedelta(microseconds=window_start_us - window_start_us % HOUR_US)
    return f"date={moment:%Y-%m-%d}/hour={moment:%H}"


def hours(start_us: int, end_us: int) -> range:
    """The starts of the hours holding window starts in [start_us, end_us)."""
    first = start_us - start_us % HOUR_US
    return range(first, end_us, HOUR_US) if end_us > start_us else range(0)


def writer_of(name: str) -> str:
    """The writer of an online file, from its name (a path relative to the feature's folder, or a bare name):
    the `<writer>` of a claiming file `<writer>.<start>.<end>.g<generation>.parquet`; `STREAM_WRITER` for the
    flat `windows-<start>--<end>.parquet`; for any other `<writer>-<part>.parquet` (a pipeline's pane files)
    what comes before the last `-`; else the name without `.parquet`. Two files of one writer hold panes of
    one output (the last pane counts); two writers of one cell are a duplicate (`parity.compare`)."""
    base = name.rsplit("/", 1)[-1]
    claiming = _CLAIMING.match(base) or _SPILL.match(base)
    if claiming:
        return claiming["writer"]
    if _FLAT_CLAIM.match(base):
        return STREAM_WRITER
    stem = base.removesuffix(".parquet")
    return stem.rpartition("-")[0] or stem


def check_writer(writer: str) -> str:
    if not _WRITER.match(writer):
        raise ValueError(f"writer id {writer!r} must be letters, digits, '_' or '-'")
    return writer


def write_hours(
    root: Path, writer: str, table: pa.Table, claim: tuple[int, int], *, only_hours: Collection[int] | None = None
) -> list[Path]:
    """Publish `table` (pane rows with `window_start`) as `writer`'s newest generation for the windows starting
    in `claim`, one file per hour the claim touches (empty hours too: they replace what was there), or per
    hour of `only_hours` among those. Rows outside the claim are not written. Returns the files, in hour order."""
    check_writer(writer)
    start, end = claim
    generation = _generation()
    starts = pc.cast(table.column("window_start"), pa.int64())
    written: list[Path] = []
    for hour in hours(start, end):
        if only_hours is not None and hour not in only_hours:
            continue
        low, high = max(start, hour), min(end, hour + HOUR_US)
        rows = table.filter(pc.and_(pc.greater_equal(starts, low), pc.less(starts, high)))
        folder = hour_folder(root, hour)
        folder.mkdir(parents=True, exist_ok=True)
        clean_leftovers(folder)
        path = publish(folder / f"{writer}.{label(low)}.{label(high)}.g{generation}.parquet",
                       functools.partial(_write_table, rows))
        for older in published(folder, ".parquet"):
            found = _CLAIMING.match(older.name)
            if (found and found["writer"] == writer and found["generation"] < generation
                    and low <= _from_label(found["start"]) and _from_label(found["end"]) <= high):
                older.unlink(missing_ok=True)  # wholly superseded; readers already ignore it
        written.append(path)
    return written


def write_spill(
    root: Path, writer: str, table: pa.Table, claim: tuple[int, int], keys: Sequence[str],
    *, others: tuple[int, int] | None = None,
) -> list[Path]:
    """Publish the rows of `table` whose windows start outside `claim` and outside `others` (the windows the
    stream's events fall in: those belong to the streams that claim them, which hold their events) as `writer`'s
    spill of `claim`, one file per hour of their windows; then delete the writer's older spill files whose
    claims overlap `claim` (this stream replaces what a stream of that range spilled before, in every hour).
    Returns the files written."""
    check_writer(writer)
    start, end = claim
    generation = _generation()
    starts = pc.cast(table.column("window_start"), pa.int64())
    outside = pc.invert(pc.and_(pc.greater_equal(starts, start), pc.less(starts, end)))
    if others is not None:
        outside = pc.and_(outside, pc.invert(pc.and_(pc.greater_equal(starts, others[0]), pc.less(starts, others[1]))))
    spill = table.filter(outside)
    spill = spill.replace_schema_metadata({**(spill.schema.metadata or {}), _KEYS_METADATA: json.dumps(list(keys)).encode()})
    spilled = pc.cast(spill.column("window_start"), pa.int64())
    written: list[Path] = []
    for hour in sorted({s - s % HOUR_US for s in spilled.to_pylist()}):
        rows = spill.filter(pc.and_(pc.greater_equal(spilled, hour), pc.less(spilled, hour + HOUR_US)))
        folder = hour_folder(root, hour)
        folder.mkdir(parents=True, exist_ok=True)
        clean_leftovers(folder)
        written.append(publish(folder / f"{writer}.{label(start)}.{label(end)}.g{generation}.spill.parquet",
                               functools.partial(_write_table, rows)))
    for older in root.glob("date=*/hour=*/*.spill.parquet") if root.is_dir() else []:
        found = _SPILL.match(older.name)
        if (found and found["writer"] == writer and found["generation"] < generation
                and _from_label(found["start"]) < end and start < _from_label(found["end"])):
            older.unlink(missing_ok=True)
    return written


def _generation() -> str:
    """A new generation: microseconds now and a random tail, 20 digits, ordered as text."""
    return f"{time.time_ns() // 1000:017d}{uuid.uuid4().int % 1000:03d}"


def read_hours(root: Path, start_us: int, end_us: int) -> list[OnlinePart]:
    """Every part a reader sees for windows starting in [start_us, end_us): the hour folders of the range (only
    those are opened) and the flat files of the old layout. Superseded windows are left out."""
    parts: list[OnlinePart] = []
    for folder in _hour_folders(root, start_us, end_us):
        parts.extend(_read_hour(root, folder))
    if root.is_dir():
        for file in published(root, ".parquet"):
            flat = _FLAT_CLAIM.match(file.name)
            parts.append(OnlinePart(_read(file), file.name, (_from_label(flat[1]), _from_label(flat[2])) if flat else None))
    return parts


def listed_files(root: Path, start_us: int, end_us: int) -> list[Path]:
    """The files `read_hours` would open for windows starting in [start_us, end_us), without opening them."""
    files = [file for folder in _hour_folders(root, start_us, end_us) for file in published(folder, ".parquet")]
    return files + (published(root, ".parquet") if root.is_dir() else [])


def _hour_folders(root: Path, start_us: int, end_us: int) -> list[Path]:
    """The existing hour folders holding window starts in [start_us, end_us), in time order: the hours of a short
    range are looked up directly; a longer one (a check of everything) lists the date folders instead."""
    span = hours(start_us, end_us)
    if len(span) <= 48:
        return [folder for hour in span if (folder := hour_folder(root, hour)).is_dir()]
    found = []
    for day in sorted(root.iterdir()) if root.is_dir() else []:
        date = _DATE_FOLDER.match(day.name)
        if not date or not day.is_dir():
            continue
        for folder in sorted(day.glob("hour=*")):
            try:
                hour_us = (dt.datetime.fromisoformat(f"{date[1]}T{folder.name.removeprefix('hour=')}:00+00:00")
                           - _EPOCH) // dt.timedelta(microseconds=1)
            except ValueError:
                continue  # not a folder of this layout
            if folder.is_dir() and span.start <= hour_us < span.stop:
                found.append(folder)
    return found


def has_output(root: Path) -> bool:
    """Whether any online file exists for the feature, in any hour or in the flat layout."""
    if not root.is_dir():
        return False
    if published(root, ".parquet"):
        return True
    return any(_DATE_FOLDER.match(p.name) and any(p.glob("hour=*/*.parquet")) for p in root.iterdir())


def _read_hour(root: Path, folder: Path) -> list[OnlinePart]:
    """The parts of one hour; listed again once if a file a newer generation superseded vanished meanwhile."""
    for attempt in (1, 2):
        try:
            return _read_listed(root, published(folder, ".parquet"))
        except FileNotFoundError:
            if attempt == 2:
                raise
    return []


def _read_listed(root: Path, files: Sequence[Path]) -> list[OnlinePart]:
    claims: dict[Path, tuple[str, int, int, str]] = {}
    spills: dict[Path, tuple[str, int, int, str]] = {}
    for file in files:
        for pattern, found_in in ((_CLAIMING, claims), (_SPILL, spills)):
            found = pattern.match(file.name)
            if found:
                found_in[file] = (found["writer"], _from_label(found["start"]), _from_label(found["end"]), found["generation"])
    parts = []
    owned: dict[str, list[pa.Table]] = {}  # each writer's visible claiming rows of this hour
    for file in files:
        if file in spills:
            continue
        table = _read(file)
        claim = claims.get(file)
        if claim is not None:
            writer, _, _, generation = claim
            newer = [(s, e) for w, s, e, g in claims.values() if w == writer and g > generation]
            table = _without(table, newer)
            owned.setdefault(writer, []).append(table)
        parts.append(OnlinePart(table, file.relative_to(root).as_posix(), None if claim is None else claim[1:3]))
    taken: dict[str, set[tuple[object, ...]]] = {}  # cells each writer's owners or earlier spills hold
    for file, (writer, start, end, generation) in sorted(spills.items(), key=lambda item: item[1][1:3]):
        if any(w == writer and g > generation and s < end and start < e for w, s, e, g in spills.values()):
            continue  # a newer stream of an overlapping range replaced it (and deletes it)
        table = _read(file)
        metadata = table.schema.metadata or {}
        keys = [*json.loads(metadata.get(_KEYS_METADATA, b"[]")), "window_start"]
        if writer not in taken:
            taken[writer] = {cell for owner in owned.get(writer, []) for cell in _cells(owner, keys)}
        cells = _cells(table, keys)
        keep = [cell not in taken[writer] for cell in cells]
        taken[writer].update(cells)
        parts.append(OnlinePart(table.filter(pa.array(keep, type=pa.bool_())), file.relative_to(root).as_posix(), None))
    return parts


def _cells(table: pa.Table, columns: Sequence[str]) -> list[tuple[object, ...]]:
    """The (columns...) tuple of each row; a tuple of its own per row for a table lacking one of them."""
    if not all(name in table.column_names for name in columns):
        return [(id(table), row) for row in range(table.num_rows)]
    return list(zip(*(pc.cast(table.column(c), pa.int64()).to_pylist() if c == "window_start" else table.column(c).to_pylist()
                      for c in columns), strict=True))


def _without(table: pa.Table, claims: Iterable[tuple[int, int]]) -> pa.Table:
    """`table` without the rows whose window starts in any of `claims`."""
    starts = pc.cast(table.column("window_start"), pa.int64())
    keep = pa.array([True] * table.num_rows, type=pa.bool_())
    for start, end in claims:
        inside = pc.and_(pc.greater_equal(starts, start), pc.less(starts, end))
        keep = pc.and_(keep, pc.invert(pc.fill_null(inside, False)))
    return table.filter(keep)


def conform(table: pa.Table, schema: Mapping[str, pa.DataType], where: str) -> pa.Table:
    """`table` with each column of `schema` cast to its type; a value that does not survive the cast unchanged is
    a `DataError` naming `where` (a file, or what produced the rows), the column and the value."""
    for name, kind in schema.items():
        if name not in table.column_names or table.schema.field(name).type == kind:
            continue
        column = table.column(name)
        try:
            cast = pc.cast(column, kind, safe=True)
            if pa.types.is_floating(column.type) and (pa.types.is_integer(kind) or pa.types.is_decimal(kind)):
                back = pc.cast(cast, column.type)
                lost = pc.and_kleene(pc.is_valid(column), pc.invert(pc.equal(back, column)))
                if pc.any(lost).as_py():
                    raise pa.ArrowInvalid(f"value {pc.filter(column, lost)[0].as_py()!r} is not a whole {kind}")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise DataError(where, f"column {name!r} ({column.type}) cannot be read as {kind} without loss: "
                                   f"{str(exc).splitlines()[0]}") from exc
        table = table.set_column(table.column_names.index(name), pa.field(name, kind), cast)
    return table


def conform_parts(parts: Sequence[OnlinePart], schema: Mapping[str, pa.DataType], root: str) -> list[OnlinePart]:
    """`parts` read with one schema: `schema`'s types where declared; where files disagree on an undeclared
    column, int64 if every value of the other files is a whole number, else the widest type. A lossy value
    is a `DataError` naming its file (`root/<part name>`: the feature's folder or URL)."""
    types: dict[str, set[pa.DataType]] = {}
    for part in parts:
        for field in part.table.schema:
            types.setdefault(field.name, set()).add(field.type)
    target = dict(schema)
    for name, kinds in types.items():
        if name in target or len(kinds) < 2:
            continue
        if all(pa.types.is_integer(k) or pa.types.is_floating(k) or pa.types.is_null(k) for k in kinds):
            whole = all(_whole(part.table.column(name)) for part in parts if name in part.table.column_names)
            target[name] = pa.int64() if whole else pa.float64()
    if not target:
        return list(parts)
    return [OnlinePart(conform(part.table, target, f"{root}/{part.name}"), part.name, part.claim) for part in parts]


def _whole(column: pa.ChunkedArray) -> bool:
    """Whether every value of a numeric column is a whole number that int64 holds."""
    if not pa.types.is_floating(column.type):
        return True
    valid = pc.drop_null(column)
    if not len(valid):
        return True
    finite = pc.and_(pc.is_finite(valid), pc.less(pc.abs(valid), 2.0**63))
    return bool(pc.all(finite).as_py()) and bool(pc.all(pc.equal(pc.floor(valid), valid)).as_py())


def _write_table(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path)


def _read(file: Path) -> pa.Table:
    try:
        return pq.read_table(file)
    except FileNotFoundError:
        raise
    except (OSError, pa.ArrowException) as exc:
        problem = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise DataError(str(file), f"unreadable Parquet file ({problem}); stream its range again, or move it out of "
                                   "the online log") from exc


def migrate_flat(root: Path, writer: str = STREAM_WRITER) -> list[Path]:
    """Move the old flat layout's files of `root` into hours, once: a `windows-<start>--<end>.parquet` file
    becomes `writer`'s claim of that range (so streaming the range again replaces it); a file claiming nothing
    becomes an unclaimed file in each hour its rows fall in. Returns the files removed."""
    moved = []
    for file in published(root, ".parquet") if root.is_dir() else []:
        table = _read(file)
        flat = _FLAT_CLAIM.match(file.name)
        if flat:
            write_hours(root, writer, table, (_from_label(flat[1]), _from_label(flat[2])))
        else:
            starts = pc.cast(table.column("window_start"), pa.int64())
            if starts.null_count:
                continue  # rows without a window stay in the flat layout, for the check to report
            for hour in sorted({s - s % HOUR_US for s in starts.to_pylist()}):
                in_hour = pc.and_(pc.greater_equal(starts, hour), pc.less(starts, hour + HOUR_US))
                folder = hour_folder(root, hour)
                folder.mkdir(parents=True, exist_ok=True)
                publish(folder / f"migrated-{file.name}", functools.partial(_write_table, table.filter(in_hour)))
        with contextlib.suppress(FileNotFoundError):
            file.unlink()
        moved.append(file)
    return moved
