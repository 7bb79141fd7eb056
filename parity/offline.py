"""The offline side: a feature's Spark SQL run over the event log, narrowed to the windows being checked.

Events live in `<event_log>/<source>/date=YYYY-MM-DD/hour=HH/*.parquet`, partitioned by the UTC hour of
`event_time`. A check over windows with `window_start` in [start, end) reads only the hour partitions
covering `event_range(...)` (the grid-aligned, widened range that complete windows need), runs the
query rewritten by `parity.query` on them, and collects just the result rows into pandas.

One local Spark session serves the whole process (`spark_session`). Spark errors become `QueryError`
with Spark's message on one line; a missing event log or a range without partitions is a `DataError`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession, functions
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType
from sqlglot import exp

from parity import copies, lineage, query
from parity.errors import DataError, QueryError
from parity.geo import covering_boxes, grid_cell, grid_steps, is_cell, register_spark
from parity.sample import cell_index, utc_timestamps
from parity.settings import Settings
from parity.spec import FeatureSpec, Window
from parity.watermark import arrival_cutoff_us

HOUR_US = 3600 * 1_000_000
_NULLABLE = {
    pa.float64(): pd.Float64Dtype(), pa.float32(): pd.Float64Dtype(), pa.int64(): pd.Int64Dtype(),
    pa.int32(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype(),
}
_MESSAGE_LIMIT = 300
KEY_BOXES = 64  # at most this many bounding boxes in the attribution's prefilter, coarser cells beyond


# --- the session ----------------------------------------------------------------------------------------


def spark_session(settings: Settings) -> SparkSession:
    """The process's Spark session: created on first use with `settings.spark_master`, reused after.

    UTC session time zone (window bounds and timestamp literals agree with integer microseconds),
    Arrow for pandas conversion, few shuffle partitions on a local master, no UI, logs at ERROR,
    bound to the loopback address so that it needs no network, and `geohash()` registered.
    """
    spark = SparkSession.getActiveSession()
    if spark is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # Python workers (the geohash UDF) run this interpreter, whose packages parity needs.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder.master(settings.spark_master).appName("parity")
        for key, value in _session_conf(settings.spark_master).items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("ERROR")
        # PySpark logs every SQL error it raises at ERROR; parity re-raises it as a QueryError instead.
        for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    else:
        spark.conf.set("spark.sql.session.timeZone", "UTC")  # a session made elsewhere may not be on UTC
    if not spark.catalog.functionExists("geohash"):
        register_spark(spark)
    return spark


def _session_conf(master: str) -> dict[str, str]:
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    local = re.fullmatch(r"local(?:\[(\d+|\*)(?:,\d+)?\])?", master)
    if local:
        threads = local.group(1)
        cores = 1 if threads is None else (os.cpu_count() or 2) if threads == "*" else int(threads)
        conf["spark.sql.shuffle.partitions"] = str(max(1, min(cores, 16)))
        # Adaptive execution re-plans between stages to coalesce or split partitions across executors; one
        # local JVM has nothing to balance, and the re-planning costs ~0.1-0.5 s of every check's queries.
        conf["spark.sql.adaptive.enabled"] = "false"
        conf["spark.driver.memory"] = "2g"
    return conf


# --- which events -----------------------------------------------------------------------------------------


def event_range(window: Window, start_us: int, end_us: int) -> tuple[int, int]:
    """The events that complete windows with `window_start` in [start, end) need: [lo, hi).

    Window starts lie on the slide grid (epoch aligned). The first such start >= start is `lo`; the
    last one < end is `ceil(end) - slide`, and its window ends `size` later. An empty range (lo == hi)
    means no window starts in [start, end).
    """
    slide, size = window.slide_us, window.size_us
    first = -(-start_us // slide) * slide
    last = -(-end_us // slide) * slide - slide
    if last < first:
        return first, first
    return first, last + size


def event_files(settings: Settings, source: str, start_us: int, end_us: int) -> list[Path]:
    """The Parquet files of the hour partitions that cover event times [start, end), listed directly."""
    root = settings.event_log / source
    if not root.is_dir():
        raise DataError(str(root), f"no event log for source {source!r}; expected date=YYYY-MM-DD/hour=HH/*.parquet")
    files: list[Path] = []
    hours_by_date: dict[str, dict[int, Path]] = {}
    for hour in range(start_us // HOUR_US, -(-end_us // HOUR_US)):
        moment = dt.datetime.fromtimestamp(hour * 3600, tz=dt.UTC)
        date = moment.strftime("%Y-%m-%d")
        if date not in hours_by_date:
            hours_by_date[date] = _hour_dirs(root / f"date={date}")
        directory = hours_by_date[date].get(moment.hour)
        if directory is not None:
            files.extend(sorted(directory.glob("*.parquet")))
    if not files:
        raise DataError(str(root), f"no event partitions cover {_iso(start_us)} .. {_iso(end_us)}")
    return files


def read_events(spark: SparkSession, settings: Settings, source: str, start_us: int, end_us: int) -> DataFrame:
    """The events of the hour partitions covering [start, end), whole hours: the query rewrite narrows them."""
    paths = [str(p) for p in event_files(settings, source, start_us, end_us)]
    schema = _footer_schema(paths[0])
    try:
        return (spark.read if schema is None else spark.read.schema(schema)).parquet(*paths)
    except (PySparkException, Py4JError) as exc:
        raise DataError(str(settings.event_log / source), f"cannot read events: {_one_line(exc)}") from exc


def _footer_schema(path: str) -> StructType | None:
    """The Spark schema of one file's Parquet footer, read here: left to Spark, inferring it is one more job on
    every read. None when the footer cannot be read or mapped; Spark then infers it (and reports what is wrong)."""
    try:
        return from_arrow_schema(pq.read_schema(path))
    except (OSError, pa.ArrowException, TypeError, ValueError, PySparkException):
        return None


def _hour_dirs(date_dir: Path) -> dict[int, Path]:
    if not date_dir.is_dir():
        return {}
    hours: dict[int, Path] = {}
    for child in date_dir.iterdir():
        name, _, value = child.name.partition("=")
        if name == "hour" and value.isdigit() and child.is_dir():
            hours[int(value)] = child
    return hours


# --- recomputing ------------------------------------------------------------------------------------------


def offline_sql(
    spec: FeatureSpec,
    project: Path,
    events: str,
    start_us: int,
    end_us: int,
    cells: Sequence[query.Cell] = (),
) -> str:
    """The feature's query rewritten to windows starting in [start, end) over the table or view `events`."""
    tree = _feature_query(spec, project)
    lo, hi = event_range(spec.window, start_us, end_us)
    narrowed = query.keep_windows(
        query.restrict_events(tree, spec.source, events, lo, hi), start_us, end_us, _result_columns(spec)
    )
    return query.to_sql(query.keep_cells(narrowed, spec.keys, cells) if cells else narrowed)


def recompute(
    spec: FeatureSpec,
    settings: Settings,
    start_us: int,
    end_us: int,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The feature's offline values for windows with `window_start` in [start, end), optionally only `cells`.

    Columns: keys, window_start, window_end (datetime64[us, UTC]), values; sorted by keys and window.
    """
    wanted: list[query.Cell] = []
    if cells is not None:
        wanted = _cell_tuples(spec, cells)
        if not wanted:
            return _empty(spec)
        starts = [int(c[-1]) for c in wanted]
        start_us, end_us = max(start_us, min(starts)), min(end_us, max(starts) + 1)
    lo, hi = event_range(spec.window, start_us, end_us)
    if lo >= hi:
        return _empty(spec)
    spark = spark_session(settings)
    view = f"parity_events_{spec.source}"
    read_events(spark, settings, spec.source, lo, hi).createOrReplaceTempView(view)
    return _collect(spark, spec, offline_sql(spec, settings.project, view, start_us, end_us, wanted))


def recompute_restricted(
    spec: FeatureSpec, settings: Settings, cells: pd.DataFrame, *, method: str = "auto"
) -> pd.DataFrame:
    """Each cell recomputed from only the events that arrived before its window's cutoff.

    The cutoff is `arrival_cutoff_us(window_end, allowed_lateness)`, the rule the realtime replay
    follows, so the result is what the stream could have seen. A cell none of whose events arrived
    in time is absent from the result.

    The cutoff differs per window, yet this is one Spark query whatever the number of windows, by one of
    two methods (`method="auto"` takes the first that applies):

    - `copies`: every window gets its own copy of its in-time events, moved far apart in event time, all in
      one scan (`copies.shifted_copies`); the query runs once over them and each moved window is moved back.
      Valid when the query uses `event_time` only to assign windows (`copies.windows_only_read_event_time`)
      and its window() sizes are interval literals, so that it can be made tumbling (`copies.tumbling_windows`).
    - `phases`: windows whose starts are equal modulo `size` do not overlap, so within such a phase each
      event belongs to one window and gets that window's cutoff (`query.arrival_cutoffs`, a CASE over the
      windows). A tumbling window has one phase; a 5m window sliding by 1m has five, joined by UNION ALL
      over the event range read once and cached. Valid for any query, and slower: a branch per phase.
    """
    wanted = _cell_tuples(spec, cells)
    if not wanted:
        return _empty(spec)
    tree = _feature_query(spec, settings.project)
    tumbling = copies.tumbling_windows(tree, spec.window.size_us)
    if method == "auto":
        movable = tumbling is not None and copies.windows_only_read_event_time(tree, spec.source)
        method = "copies" if movable else "phases"
    if method == "copies":
        if tumbling is None:
            raise ValueError(f"copies need window(event_time, '<size>') literals in {spec.offline_query.name}")
        return _restricted_by_copies(spec, settings, tumbling, wanted)
    if method == "phases":
        return _restricted_by_phases(spec, settings, tree, wanted)
    raise ValueError(f"unknown restricted recompute method {method!r}; use auto, copies or phases")


def _restricted_by_copies(
    spec: FeatureSpec, settings: Settings, tumbling: exp.Query, wanted: list[query.Cell]
) -> pd.DataFrame:
    # `tumbling` is the query with its windows made tumbling (`copies.tumbling_windows`): each copy holds one
    # window's events, which it puts in that one window instead of in size/slide windows, all but one unused.
    size = spec.window.size_us
    starts = sorted({int(cell[-1]) for cell in wanted})
    lo, hi = starts[0], starts[-1] + size
    # Moved starts are multiples of `size` (epoch-aligned tumbling windows), two sizes apart: no window of the
    # tumbling query holds events of two copies.
    gap = 2 * size
    first = -(-(hi + gap) // size) * size
    moved = {start: first + k * gap for k, start in enumerate(starts)}
    per_window: list[copies.EventCopy] = [
        (s, s + size, arrival_cutoff_us(s + size, spec.allowed_lateness_us), moved[s] - s) for s in starts
    ]
    grid, rows = _copies_by_cell(spec, tumbling, wanted, per_window)
    if not rows:
        return _empty(spec)  # every wanted key is a string no geohash can be: no event is in such a cell
    spark = spark_session(settings)
    events = read_events(spark, settings, spec.source, lo, hi)
    view, copies_view = f"parity_arrived_{spec.source}", f"parity_copies_{spec.source}"
    events.createOrReplaceTempView(view)
    names = [*copies.COPY_COLUMNS, *(copies.GRID_COLUMNS if grid else ())]
    table = pd.DataFrame(np.array(rows, dtype=np.int64).reshape(len(rows), len(names)), columns=names)
    spark.createDataFrame(table).createOrReplaceTempView(copies_view)
    copied = copies.shifted_copies(tumbling, spec.source, view, events.columns, copies_view, (lo, hi), grid)
    # The copies' windows by one range. Without a grid, also the wanted keys: Spark pushes a key filter below the
    # aggregation and the copying join, so only the events of those keys are copied (but every event of the span
    # is geohashed to find them). With a grid the copies hold those cells' events already, and a key filter would
    # only make Spark geohash every event of the span before the join. A per-cell filter (key and window) Spark
    # would push into the copying join, evaluated for every event and copy; the wanted cells are picked from the
    # rows that come back.
    moved_windows = sorted(moved.values())
    in_range = query.keep_windows(copied, moved_windows[0], moved_windows[-1] + 1, _result_columns(spec))
    if grid is None:
        in_range = query.keep_keys(in_range, spec.keys, [tuple(cell[:-1]) for cell in wanted])
    sql = query.to_sql(in_range)
    frame = _collect(spark, spec, sql)
    frame = frame[frame["window_start"].astype("int64").isin(moved_windows).to_numpy()].reset_index(drop=True)
    shift = pd.to_timedelta(frame["window_start"].astype("int64").map({m: m - s for s, m in moved.items()}), unit="us")
    for column in query.WINDOW_COLUMNS:  # back to where the windows were; the columns stay datetime64[us, UTC]
        frame[column] = (frame[column] - shift).astype("datetime64[us, UTC]")
    return _only_cells(frame, spec, wanted)


def _restricted_by_phases(
    spec: FeatureSpec, settings: Settings, tree: exp.Query, wanted: list[query.Cell]
) -> pd.DataFrame:
    size, slide = spec.window.size_us, spec.window.slide_us
    phases: dict[int, dict[int, list[query.Cell]]] = {}
    for cell in wanted:
        start = int(cell[-1])
        phases.setdefault(start // slide % (size // slide), {}).setdefault(start, []).append(cell)
    view = f"parity_arrived_{spec.source}"
    columns = _result_columns(spec)
    branches = []
    for windows in phases.values():
        first, last = min(windows), max(windows)
        tiles = [(s, s + size, arrival_cutoff_us(s + size, spec.allowed_lateness_us)) for s in sorted(windows)]
        arrived = query.restrict_events(tree, spec.source, view, first, last + size, query.arrival_cutoffs(tiles))
        in_phase = [cell for window_cells in windows.values() for cell in window_cells]
        branches.append(query.keep_cells(query.keep_windows(arrived, first, last + 1, columns), spec.keys, in_phase))
    sql = query.to_sql(query.union_all(branches))
    lo = min(min(windows) for windows in phases.values())
    hi = max(max(windows) for windows in phases.values()) + size
    spark = spark_session(settings)
    events = read_events(spark, settings, spec.source, lo, hi)
    event_time = functions.col("event_time")
    events = _in_key_boxes(events, spec, tree, wanted).where(
        (event_time >= functions.timestamp_micros(functions.lit(lo)))
        & (event_time < functions.timestamp_micros(functions.lit(hi)))
    )
    with _cached(events, len(branches) > 1) as events:
        events.createOrReplaceTempView(view)
        return _collect(spark, spec, sql)


def _copies_by_cell(
    spec: FeatureSpec, tree: exp.Query, wanted: list[query.Cell], per_window: list[copies.EventCopy]
) -> tuple[copies.Grid | None, list[copies.EventCopy]]:
    """Copies per window narrowed to the wanted cells' grid cells, when the query makes a key `geohash(lat, lon,
    p)` of each event (`lineage.geohash_key`): a window's copy then holds the events of its own wanted cells, found
    by an equi-join on the grid cell (`copies.Grid`; an event on a cell edge is copied into all of its window's).

    The geohash runs in Python (a UDF), once per copied event: without this, recomputing a few cells of a window
    geohashes every event of that window, five times over for a 5-minute window sliding by a minute.
    Unchanged (no grid) for other queries and for a null key.
    """
    for position, key in enumerate(spec.keys):
        origin = lineage.geohash_key(tree, spec.source, key)
        if origin is None or not all(isinstance(cell[position], str) for cell in wanted):
            continue
        lat, lon, precision = origin
        by_start = {copy[0]: copy for copy in per_window}
        narrowed: dict[copies.EventCopy, None] = {}
        for cell in wanted:
            if not is_cell(cell[position], precision):
                continue  # no geohash of this precision is this string: no event belongs to it
            narrowed[(*by_start[int(cell[-1])], *grid_cell(cell[position]))] = None
        return copies.Grid(lat, lon, *grid_steps(precision)), list(narrowed)
    return None, per_window


def _in_key_boxes(events: DataFrame, spec: FeatureSpec, tree: exp.Query, wanted: list[query.Cell]) -> DataFrame:
    """Only the events inside the bounding boxes of the wanted cells' geohash keys, when the query makes that
    key `geohash(lat, lon, p)` of each event (`lineage.geohash_key`); otherwise all of them.

    The geohash runs in Python (a UDF), once per event the query reads: without this, recomputing a handful
    of cells geohashes every event of their windows. A cell's events all lie inside its box, so the wanted
    cells' rows are the same; events of other cells inside the boxes are filtered out by the query's key filter.
    """
    for position, key in enumerate(spec.keys):
        origin = lineage.geohash_key(tree, spec.source, key)
        values = [cell[position] for cell in wanted]
        if origin is None or not all(isinstance(value, str) for value in values):
            continue  # a null key is no cell of a valid point: it has no box
        lat_name, lon_name, precision = origin
        boxes = covering_boxes(values, precision, KEY_BOXES)
        return events.where(query.to_sql(copies.inside_boxes(lat_name, lon_name, boxes)))
    return events


# --- inside -----------------------------------------------------------------------------------------------


def _feature_query(spec: FeatureSpec, project: Path) -> exp.Query:
    tree = query.read_query(spec, project)
    if spec.source.lower() not in query.source_tables(tree):
        raise QueryError(spec.name, f"{spec.offline_query.name} does not read the source {spec.source!r}")
    if (window := query.window_problem(tree, spec)) is not None:
        raise QueryError(spec.name, f"{spec.offline_query.name}: {window}")
    return tree


def _result_columns(spec: FeatureSpec) -> list[str]:
    return [*spec.keys, *query.WINDOW_COLUMNS, *spec.values]


def _collect(spark: SparkSession, spec: FeatureSpec, sql: str) -> pd.DataFrame:
    try:
        # Through Arrow with nullable dtypes: toPandas() would turn a NULL double (try_divide's ratio) into NaN.
        frame: pd.DataFrame = spark.sql(sql).toArrow().to_pandas(types_mapper=_NULLABLE.get)
    except (PySparkException, Py4JError) as exc:
        raise QueryError(spec.name, _one_line(exc)) from exc
    for column in query.WINDOW_COLUMNS:
        frame[column] = utc_timestamps(frame[column])
    order = [*spec.keys, "window_start"]
    return frame.sort_values(order, na_position="first", kind="stable", ignore_index=True)


@contextmanager
def _cached(frame: DataFrame, cache: bool) -> Iterator[DataFrame]:
    if not cache:
        yield frame
        return
    frame = frame.cache()
    try:
        yield frame
    finally:
        frame.unpersist()


def _cell_tuples(spec: FeatureSpec, cells: pd.DataFrame) -> list[query.Cell]:
    missing = [c for c in spec.cell_columns if c not in cells.columns]
    if missing:
        raise ValueError(f"cells of {spec.name} lack columns {missing}; give {list(spec.cell_columns)}")
    starts = cells["window_start"]
    if pd.api.types.is_datetime64_any_dtype(starts):
        micros = utc_timestamps(starts).astype("int64").tolist()
    else:
        micros = [int(s) for s in starts.tolist()]
    keys = [cells[k].astype(object).where(cells[k].notna(), None).tolist() for k in spec.keys]
    return list({(*values, start): None for *values, start in zip(*keys, micros, strict=True)})


def _only_cells(frame: pd.DataFrame, spec: FeatureSpec, wanted: list[query.Cell]) -> pd.DataFrame:
    """The rows of a collected frame that are among the `wanted` cells (the sampler's key normalisation)."""
    cells = pd.DataFrame(wanted, columns=[*spec.keys, "window_start"])
    keep = np.asarray(cell_index(frame, spec.keys).isin(cell_index(cells, spec.keys)))
    return frame[keep].reset_index(drop=True)


def _empty(spec: FeatureSpec) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in _result_columns(spec)})
    for column in query.WINDOW_COLUMNS:
        frame[column] = frame[column].astype("datetime64[us, UTC]")
    return frame


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if "Traceback" in text and lines:
        message = lines[-1]  # a Python worker's traceback: its last line is the exception
    else:
        message = lines[0] if lines else type(exc).__name__
    message = re.sub(r"\s+", " ", message)
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."


def _iso(us: int) -> str:
    return dt.datetime.fromtimestamp(us / 1_000_000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
