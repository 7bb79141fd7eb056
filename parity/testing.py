"""Test a feature in pytest: its job (real Beam) and its SQL (real Spark) on a small event frame the test gives.

    from parity.testing import assert_parity, events, ride_event

    def test_ride_requests_count_duplicates_once(parity_spark):
        frame = events(
            ride_event("r1", "2026-11-26T10:00:05Z", cell="9q8yyk"),
            ride_event("r1", "2026-11-26T10:00:05Z", cell="9q8yyk", delay="40s"),  # delivered twice
            ride_event("r2", "2026-11-26T10:01:10Z", cell="9q8yyk", eta_seconds=None),
        )
        assert_parity("ride_requests", frame)

`assert_parity` is `parity stream` then `parity check` over every window the frame touches, in a temporary event
log, online log, report folder and results store (never the project's own data): the frame is written with
`parity.events.write_events`, the windows are replayed to the job with `parity.realtime.run_stream` exactly as
`parity stream` replays them, and checked with `parity.schedule.check_and_report` (the call `parity check`
makes: the spec's tolerances, every cell, late-arrival attribution and diagnoses). It fails with an
`AssertionError` holding the divergence table (key, window, value, offline, online, cause) and the path of the
check's HTML report, which is kept when the assertion fails.

A window is checked once it is settled: the log's newest arrival has passed the window's end plus the spec's
allowed lateness (`parity.check.settle`). A small frame ends before its last windows settle, so the log gets one
more event (a copy of the frame's last event, id `parity-testing-settles-the-range`) arriving when the last
window is final; its own windows start after the checked range, it is not streamed and no checked cell holds it.

`events(...)` builds a `ride_events` frame (the generator's columns, `parity.generate.SCHEMA`) from rows made by
`ride_event(...)`, with a default for every column; events arrive on time (1 s after they happen) unless a row
says `delay=` or `ingest_time=`. `parity_spark` is a session-scoped fixture (this module is a pytest plugin,
registered as `parity` under `pytest11`) that starts the project's Spark session once for the test run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from parity.result import Cause, CellDiff, CellStatus, CheckResult
from parity.units import parse_duration

if TYPE_CHECKING:
    from parity.offline import SparkSession
    from parity.report import ReportFiles
    from parity.schedule import Outcome
    from parity.settings import Settings
    from parity.spec import FeatureSpec

SETTLING_EVENT = "parity-testing-settles-the-range"
DEFAULT_TIME = "2026-11-26T10:00:00Z"
DEFAULT_CELL = "9q8yyk"  # San Francisco, Union Square: the centre of this geohash6 cell is where events happen
DEFAULT_DELAY = dt.timedelta(seconds=1)
_UNSET: Any = object()  # "not given" for the fields whose default depends on the event type (None is a value)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_RIDE_TYPES = ("ride_requested", "ride_accepted", "ride_cancelled", "ride_completed")
_DRIVER_TYPES = ("ride_accepted", "ride_completed", "driver_ping")

Moment: TypeAlias = str | dt.datetime
Frame: TypeAlias = pd.DataFrame | pa.Table | Sequence[Mapping[str, Any]]


# --- building small event frames ----------------------------------------------------------------------------------


def ride_event(
    event_id: str | None = None,
    event_time: Moment = DEFAULT_TIME,
    event_type: str = "ride_requested",
    *,
    cell: str | None = None,
    lat: float | None = _UNSET,
    lon: float | None = _UNSET,
    ingest_time: Moment | None = None,
    delay: str | dt.timedelta | None = None,
    city: str | None = "sfo",
    rider_id: str | None = _UNSET,
    driver_id: str | None = _UNSET,
    available: bool | None = _UNSET,
    eta_seconds: float | None = _UNSET,
    device_id: str | None = _UNSET,
) -> dict[str, Any]:
    """One `ride_events` row, every column of the generator filled in.

    Times are ISO-8601 strings (`"2026-11-26T10:00:05Z"`; naive means UTC) or datetimes. The place is `cell` (a
    geohash, the centre of its box) or `lat`/`lon` (pass `lat=None` for a row with a null coordinate), by default
    the centre of `DEFAULT_CELL`. The event arrives `delay` after it happened (a duration such as `"90s"`, default
    1 s, on time for any lateness), or at `ingest_time`. Defaults by type: a ride event has `rider_id` "u1" and
    `eta_seconds` 300.0 when requested; a ping, an accept or a completion has `driver_id` "d1"; a ping is
    `available`; `device_id` is `dev-<event_id>`. `event_id` None lets `events` number the row; pass any field as
    None for a null.
    """
    happened = _moment(event_time, "event_time")
    if ingest_time is not None and delay is not None:
        raise ValueError(f"event {event_id}: give ingest_time or delay, not both")
    if ingest_time is not None:
        arrived = _moment(ingest_time, "ingest_time")
    else:
        arrived = happened + (_duration(delay) if delay is not None else DEFAULT_DELAY)
    if cell is not None:
        if lat is not _UNSET or lon is not _UNSET:
            raise ValueError(f"event {event_id}: give cell or lat/lon, not both")
        lat, lon = cell_centre(cell)
    elif lat is _UNSET or lon is _UNSET:
        given = lat if lat is not _UNSET else lon
        if given is not _UNSET:
            raise ValueError(f"event {event_id}: give both lat and lon")
        lat, lon = cell_centre(DEFAULT_CELL)

    def default(value: Any, otherwise: Any) -> Any:
        return otherwise if value is _UNSET else value

    row = {
        "event_id": event_id,
        "event_time": happened,
        "ingest_time": arrived,
        "event_type": event_type,
        "city": city,
        "lat": lat,
        "lon": lon,
        "rider_id": default(rider_id, "u1" if event_type in _RIDE_TYPES else None),
        "driver_id": default(driver_id, "d1" if event_type in _DRIVER_TYPES else None),
        "available": default(available, True if event_type == "driver_ping" else None),
        "eta_seconds": default(eta_seconds, 300.0 if event_type == "ride_requested" else None),
    }
    if device_id is not _UNSET or event_id is not None:  # otherwise `events` names the device after the id it gives
        row["device_id"] = default(device_id, f"dev-{event_id}")
    return row


def events(*rows: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> pa.Table:
    """A `ride_events` table (`parity.generate.SCHEMA`) of `ride_event` rows, given one by one or as lists.

    A row without `event_id` gets `e<n>` (its position, from 1); without `device_id`, `dev-<event_id>`."""
    from parity.generate import SCHEMA

    flat: list[Mapping[str, Any]] = []
    for item in rows:
        flat.extend([item] if isinstance(item, Mapping) else item)
    built = []
    for n, row in enumerate(flat, start=1):
        full = {**ride_event(), **row}
        unknown = sorted(set(row) - set(SCHEMA.names))
        if unknown:
            raise ValueError(f"event {n}: unknown column(s) {', '.join(unknown)}; ride_events has {', '.join(SCHEMA.names)}")
        if full["event_id"] is None:
            full["event_id"] = f"e{n}"
        full.setdefault("device_id", f"dev-{full['event_id']}")
        for column in ("event_time", "ingest_time"):
            full[column] = _moment(full[column], column)
        built.append(full)
    return pa.Table.from_pylist(built, schema=SCHEMA)


def cell_centre(cell: str) -> tuple[float, float]:
    """The centre (lat, lon) of a geohash cell: a point every engine puts in that cell."""
    import pygeohash

    lat, lon = pygeohash.decode(cell)
    return float(lat), float(lon)


# --- running both sides -------------------------------------------------------------------------------------------


def assert_parity(
    feature: str,
    frame: Frame,
    project: Path | str = Path("."),
    *,
    start: Moment | None = None,
    end: Moment | None = None,
    allow: Iterable[Cause] = (Cause.LATE_ARRIVAL,),
    workdir: Path | None = None,
) -> CheckResult:
    """Stream `frame` through the feature's job and check it against its SQL; fail on any divergent cell.

    Checks the windows starting in [start, end), by default every window holding an event of the frame. Cells
    whose cause is in `allow` (by default late arrival: the stream dropped what came after the allowed lateness,
    as it must) do not fail the test. The check runs in `workdir` (default: a new temporary folder, removed when
    the assertion holds and kept, with its report, when it fails). Returns the check's result.
    """
    from parity.events import normalise
    from parity.result import CheckFailure, Verdict
    from parity.settings import load_settings
    from parity.spec import load_feature
    from parity.units import iso

    project_settings = load_settings(project)
    spec = load_feature(feature, project_settings.project)
    table = normalise(_as_table(frame), f"{feature} test frame")
    if table.num_rows == 0:
        raise ValueError(f"{feature}: the test frame has no events; give at least one")
    first, last = (int(v) for v in pc.min_max(pc.cast(table["event_time"], pa.int64())).values())
    start_us, end_us = _window_span(spec, first, last, start, end)

    folder = Path(tempfile.mkdtemp(prefix=f"parity-{feature}-")) if workdir is None else Path(workdir)
    try:
        outcome, files = _stream_and_check(spec, _scratch_settings(project_settings, folder), table, start_us, end_us)
    except BaseException:  # nothing to read in the folder of a run that stopped (only a failed assertion keeps it)
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
        raise

    where = f"{feature} over windows {iso(start_us)} .. {iso(end_us)}"
    if isinstance(outcome, CheckFailure):
        raise AssertionError(f"{where}: the check could not run: {outcome.error}\n(kept in {folder})")  # noqa: TRY004
    report = f"report: {files.html}" if files is not None else f"kept in {folder}"
    if outcome.verdict is Verdict.INCONCLUSIVE:
        why = "; ".join(f"{f['suite']} expectation failed: {f['description']} ({f['observed']})"
                        for f in outcome.failed_expectations) or (
            "no cell on either side: neither the job nor the SQL produced a row")
        raise AssertionError(f"{where}: inconclusive: {why}\n{report}")
    allowed = frozenset(allow)
    failing = {cause: n for cause, n in outcome.causes.items() if n and cause not in allowed}
    if failing:
        shown = [cell for cell in outcome.worst_cells if cell.cause not in allowed]
        counts = ", ".join(f"{n} {cause.value}" for cause, n in failing.items())
        more = sum(failing.values()) - len(shown)
        raise AssertionError(
            f"{where}: {sum(failing.values())} of {outcome.compared} cells diverge ({counts})\n"
            + divergence_table(shown, spec)
            + (f"\n... and {more} more" if more > 0 else "")
            + f"\n{report}"
        )
    if workdir is None:
        shutil.rmtree(folder, ignore_errors=True)
    return outcome


def divergence_table(cells: Sequence[CellDiff], spec: FeatureSpec) -> str:
    """One line per value of each divergent cell: key, window, value, offline, online, cause."""
    rows = [("key", "window", "value", "offline", "online", "cause")]
    for cell in cells:
        key = ", ".join(f"{name}={cell.keys.get(name)}" for name in spec.keys)
        for value in spec.values:
            rows.append((
                key,
                cell.window_start,
                value,
                "(no row)" if cell.status is CellStatus.MISSING_OFFLINE else _shown(cell.offline.get(value)),
                "(no row)" if cell.status is CellStatus.MISSING_ONLINE else _shown(cell.online.get(value)),
                cell.cause.value + (f" ({cell.status.value})" if cell.status is not CellStatus.VALUE_MISMATCH else ""),
            ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


# --- pytest plugin --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def parity_spark(pytestconfig: pytest.Config) -> Iterator[SparkSession]:
    """The test run's one Spark session (`parity.offline.spark_session` with the project's `spark_master`): every
    `assert_parity` of the run reuses it, so a test file pays Spark's start once."""
    from parity.offline import spark_session
    from parity.settings import load_settings

    session = spark_session(load_settings(pytestconfig.rootpath))
    yield session
    session.stop()


# --- helpers of assert_parity ---------------------------------------------------------------------------------------


def _as_table(frame: Frame) -> pa.Table:
    if isinstance(frame, pa.Table):
        return frame
    if isinstance(frame, pd.DataFrame):
        frame = frame.copy()
        for column in ("event_time", "ingest_time"):
            if column in frame.columns and not pd.api.types.is_datetime64_any_dtype(frame[column]):
                frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        return _typed_nulls(pa.Table.from_pandas(frame, preserve_index=False))
    return events(frame)


def _typed_nulls(table: pa.Table) -> pa.Table:
    """A pandas column of only nulls comes out of Arrow untyped, which Beam cannot encode: give it its type in the
    generator's schema (`parity.generate.SCHEMA`) when it is one of its columns."""
    from parity.generate import SCHEMA

    for index, field in enumerate(table.schema):
        if pa.types.is_null(field.type) and field.name in SCHEMA.names:
            kind = SCHEMA.field(field.name).type
            table = table.set_column(index, pa.field(field.name, kind), table.column(index).cast(kind))
    return table


def _window_span(spec: FeatureSpec, first_us: int, last_us: int, start: Moment | None,
                 end: Moment | None) -> tuple[int, int]:
    """[start, end) on the slide grid: from the first window holding the earliest event to the last window holding
    the latest one, unless the test names either bound."""
    slide, size = spec.window.slide_us, spec.window.size_us
    lo = _micros(_moment(start, "start")) if start is not None else first_us // slide * slide - size + slide
    hi = _micros(_moment(end, "end")) if end is not None else last_us // slide * slide + slide
    if hi <= lo:
        raise ValueError(f"{spec.name}: end {end} must be after start {start}")
    return lo, hi


def _stream_and_check(spec: FeatureSpec, settings: Settings, table: pa.Table, start_us: int,
                      end_us: int) -> tuple[Outcome, ReportFiles | None]:
    """`parity stream` then `parity check` of the windows starting in [start_us, end_us), over `table` written to
    the scratch event log (with the settling event when the frame needs one)."""
    from parity.events import read_events, write_events
    from parity.feature import event_range, load
    from parity.realtime import run_stream
    from parity.schedule import check_and_report

    written = write_events(table, settings.event_log, spec.source, settings.quarantine)
    if written.rows_quarantined:
        reasons = pc.unique(_read_quarantine(written.quarantine_file)["reason"]).to_pylist()
        raise ValueError(f"{spec.name}: {written.rows_quarantined} event(s) of the test frame cannot enter the event "
                         f"log ({'; '.join(map(str, reasons))}), so neither side would see them; fix or drop them")
    _settle(spec, settings, table, end_us)
    feature = load(spec, settings)  # the query checked against the frame's columns before Beam or Spark runs
    lo, hi = event_range(spec.window, start_us, end_us)
    run_stream(spec, settings, read_events(settings.event_log, spec.source, lo, hi), windows=(start_us, end_us))
    return check_and_report(feature, settings, start_us, end_us, sample_rate=1.0)


def _scratch_settings(project: Settings, folder: Path) -> Settings:
    """The project's settings with every folder and the results store inside `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    return dataclasses.replace(project, event_log=folder / "events", online_log=str(folder / "online"),
                               quarantine=folder / "quarantine", reports=folder / "reports",
                               database=f"sqlite:///{folder / 'parity.db'}")


def _settle(spec: FeatureSpec, settings: Settings, table: pa.Table, end_us: int) -> None:
    """Write the settling event when the frame's own newest arrival leaves the last window unsettled (module doc)."""
    from parity.events import write_events
    from parity.watermark import arrival_cutoff_us

    # `parity.check.settle`: the window starting at s is final once the newest arrival reaches s + cutoff(size).
    last_start = -(-end_us // spec.window.slide_us) * spec.window.slide_us - spec.window.slide_us
    needed = last_start + arrival_cutoff_us(spec.window.size_us, spec.allowed_lateness_us)
    newest = pc.max(pc.cast(table["ingest_time"], pa.int64())).as_py()
    if newest is not None and newest >= needed:
        return
    latest = pc.index(pc.cast(table["event_time"], pa.int64()), pc.max(pc.cast(table["event_time"], pa.int64()))).as_py()
    row = table.slice(latest, 1)
    moment = pa.array([needed], pa.int64()).cast(row.schema.field("event_time").type)
    for column, value in (("event_id", pa.array([SETTLING_EVENT], row.schema.field("event_id").type)),
                          ("event_time", moment), ("ingest_time", moment)):
        index = row.schema.get_field_index(column)
        row = row.set_column(index, row.schema.field(index), value)
    write_events(row, settings.event_log, spec.source, settings.quarantine)


def _read_quarantine(path: Path | None) -> pa.Table:
    import pyarrow.parquet as pq

    if path is None:
        return pa.table({"reason": pa.array([], pa.string())})
    return pq.read_table(path, columns=["reason"])


def _moment(value: Any, field: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{field}: {value!r} is not an ISO-8601 time such as {DEFAULT_TIME}") from None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=dt.UTC)
    raise ValueError(f"{field}: {value!r} is neither an ISO-8601 string nor a datetime")


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1)


def _duration(value: str | dt.timedelta) -> dt.timedelta:
    if isinstance(value, dt.timedelta):
        return value
    return dt.timedelta(microseconds=parse_duration(value))


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


__all__ = ["DEFAULT_CELL", "SETTLING_EVENT", "assert_parity", "cell_centre", "divergence_table", "events",
           "parity_spark", "ride_event"]
