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
- any other `*.parquet` (the pane files `parity.beam.LogOutputs` writes from a production pipeline, named
  `<writer>-...`): read whole; it claims nothing and replaces nothing.

Two writers of one hour (a production logger and a replay into the same log, say) both count: a cell in
both has two final panes, which the check calls `duplicate_output` and names the files.

The flat layout of earlier versions (`<online_log>/<feature>/*.parquet`, `windows-<start>--<end>.parquet`
naming its claim) is still read, and `migrate_flat` moves such files into hours once (`parity stream` calls
it), so re-streaming their range replaces them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
import time
import uuid
from collections.abc import Collection, Iterable, Sequence
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
    claiming = _CLAIMING.match(base)
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
    generation = f"{time.time_ns() // 1000:017d}{uuid.uuid4().int % 1000:03d}"
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
    for file in files:
        found = _CLAIMING.match(file.name)
        if found:
            claims[file] = (found["writer"], _from_label(found["start"]), _from_label(found["end"]), found["generation"])
    parts = []
    for file in files:
        table = _read(file)
        claim = claims.get(file)
        if claim is not None:
            writer, _, _, generation = claim
            newer = [(s, e) for w, s, e, g in claims.values() if w == writer and g > generation]
            table = _without(table, newer)
        parts.append(OnlinePart(table, file.relative_to(root).as_posix(), None if claim is None else claim[1:3]))
    return parts


def _without(table: pa.Table, claims: Iterable[tuple[int, int]]) -> pa.Table:
    """`table` without the rows whose window starts in any of `claims`."""
    starts = pc.cast(table.column("window_start"), pa.int64())
    keep = pa.array([True] * table.num_rows, type=pa.bool_())
    for start, end in claims:
        inside = pc.and_(pc.greater_equal(starts, start), pc.less(starts, end))
        keep = pc.and_(keep, pc.invert(pc.fill_null(inside, False)))
    return table.filter(keep)


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
