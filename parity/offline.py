"""The offline side, and the one module that imports pyspark: a feature's Spark SQL run over the event log,
narrowed to the windows being checked.

The check sees the offline side as an `OfflineEngine` (recompute a feature over a span, optionally only some
cells; recompute cells from the events that arrived in time); `SparkEngine` is the real one, built at the edge
(the CLI, the service, `parity.testing`) from the settings. Everything Spark (the session, reading events,
collecting results) lives here: no other module of parity imports pyspark.

Events live in `<event_log>/<source>/date=YYYY-MM-DD/hour=HH/*.parquet`, partitioned by the UTC hour of
`event_time`. A check over windows with `window_start` in [start, end) reads only the hour partitions
covering `event_range(...)` (the grid-aligned, widened range that complete windows need), runs the
query rewritten by `parity.query` on them, and collects just the result rows into pandas.

One Spark session serves the whole process (`spark_session`): local by default, or on the cluster
`spark_master` names, whose executors get parity's own code from the driver (`shipped_code`, a zip built in
a private folder of this process and checked by hash before each reuse) and need only its third-party
packages. Spark's and log4j's own log lines go to `<project>/data/spark.log` unless the command is verbose.
Spark errors become `QueryError` with Spark's message on one line; a missing event log or a range without
partitions is a `DataError`.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import logging
import os
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark import SparkContext
from pyspark.errors import PySparkException
from pyspark.sql import DataFrame, SparkSession, functions
from pyspark.sql.pandas.types import from_arrow_schema
from pyspark.sql.types import StructType
from sqlglot import exp

from parity import query
from parity.errors import DataError, QueryError
from parity.events import event_files as listed_event_files
from parity.feature import Feature, as_feature, event_range
from parity.frames import NULLABLE
from parity.geo import geohash_array
from parity.in_time import InTime
from parity.sample import utc_timestamps
from parity.settings import Settings
from parity.spec import FeatureSpec
from parity.units import iso
from parity.watermark import arrival_cutoff_us

__all__ = ["OfflineEngine", "SparkEngine", "SparkSession", "event_range", "read_events", "recompute", "recompute_restricted",
           "shipped_code", "spark_session"]

_MESSAGE_LIMIT = 300


# --- the engine the check sees ---------------------------------------------------------------------------


class OfflineEngine(Protocol):
    """The offline side as the check calls it (`parity.check.check_feature`); tests may hand in a small one."""

    def recompute(self, feature: Feature, start_us: int, end_us: int, *, cells: pd.DataFrame | None = None,
                  in_time: InTime | None = None) -> pd.DataFrame:
        """The feature's offline values for windows with `window_start` in [start, end), optionally only `cells`:
        keys, window_start, window_end (datetime64[us, UTC]), values (and `in_time`'s columns), sorted."""
        ...

    def recompute_in_time(self, feature: Feature, cells: pd.DataFrame) -> pd.DataFrame:
        """Each cell recomputed from only the events that arrived before its window's cutoff."""
        ...


@dataclass(frozen=True, slots=True)
class SparkEngine:
    """Spark SQL over the project's event log: the process's one session (`spark_session`), its events
    (`read_events`), and a feature recomputed over a span. `verbose` leaves Spark's own log on the terminal."""

    settings: Settings
    verbose: bool = False

    def session(self) -> SparkSession:
        return spark_session(self.settings, verbose=self.verbose)

    def read_events(self, source: str, start_us: int, end_us: int) -> DataFrame:
        return read_events(self.session(), self.settings, source, start_us, end_us)

    def recompute(self, feature: Feature, start_us: int, end_us: int, *, cells: pd.DataFrame | None = None,
                  in_time: InTime | None = None) -> pd.DataFrame:
        wanted: list[query.Cell] = []
        if cells is not None:
            wanted = _cell_tuples(feature.spec, cells)
            if not wanted:
                return _empty(feature.spec)
            starts = [int(c[-1]) for c in wanted]
            start_us, end_us = max(start_us, min(starts)), min(end_us, max(starts) + 1)
        lo, hi = event_range(feature.window, start_us, end_us)
        if lo >= hi:
            return _empty(feature.spec)
        spark = self.session()
        view = f"parity_events_{feature.source}"
        self.read_events(feature.source, lo, hi).createOrReplaceTempView(view)
        return _collect(spark, feature.spec, offline_sql(feature, view, start_us, end_us, wanted, in_time))

    def recompute_in_time(self, feature: Feature, cells: pd.DataFrame) -> pd.DataFrame:
        """The fallback for queries whose in-time values the one-pass rewrite cannot prove (`parity.in_time`).

        The cutoff is `arrival_cutoff_us(window_end, allowed_lateness)`, the rule the realtime replay follows, so
        the result is what the stream could have seen. A cell none of whose events arrived in time is absent.
        Windows whose starts are equal modulo `size` do not overlap, so within such a phase each event belongs
        to one window and gets that window's cutoff (`query.arrival_cutoffs`, a CASE over the windows). A
        tumbling window has one phase; a 5m window sliding by 1m has five, joined by UNION ALL over the event
        range read once and cached. Valid for any query.
        """
        spec = feature.spec
        wanted = _cell_tuples(spec, cells)
        if not wanted:
            return _empty(spec)
        size, slide = spec.window.size_us, spec.window.slide_us
        phases: dict[int, dict[int, list[query.Cell]]] = {}
        for cell in wanted:
            start = int(cell[-1])
            phases.setdefault(start // slide % (size // slide), {}).setdefault(start, []).append(cell)
        view = f"parity_arrived_{spec.source}"
        sql = query.to_sql(query.union_all([_phase_query(feature, view, windows) for windows in phases.values()]))
        lo = min(min(windows) for windows in phases.values())
        hi = max(max(windows) for windows in phases.values()) + size
        events = self.read_events(spec.source, lo, hi)
        event_time = functions.col("event_time")
        events = events.where(
            (event_time >= functions.timestamp_micros(functions.lit(lo)))
            & (event_time < functions.timestamp_micros(functions.lit(hi)))
        )
        with _cached(events, len(phases) > 1) as events:
            events.createOrReplaceTempView(view)
            return _collect(self.session(), spec, sql)


def _phase_query(feature: Feature, view: str, windows: dict[int, list[query.Cell]]) -> exp.Query:
    """One window phase of `recompute_in_time`: its cells over the events that arrived before their cutoff."""
    size, lateness = feature.window.size_us, feature.allowed_lateness_us
    first, last = min(windows), max(windows)
    tiles = [(s, s + size, arrival_cutoff_us(s + size, lateness)) for s in sorted(windows)]
    arrived = query.restrict_events(feature.query, feature.source, view, first, last + size,
                                    query.arrival_cutoffs(tiles))
    in_phase = [cell for window_cells in windows.values() for cell in window_cells]
    kept = query.keep_windows(arrived, first, last + 1, _result_columns(feature.spec))
    return query.keep_cells(kept, feature.keys, in_phase)


def recompute(spec: FeatureSpec | Feature, settings: Settings, start_us: int, end_us: int,
              cells: pd.DataFrame | None = None, in_time: InTime | None = None) -> pd.DataFrame:
    """`SparkEngine(settings).recompute(...)` for a caller holding a spec (the feature is loaded here)."""
    return SparkEngine(settings).recompute(as_feature(spec, settings), start_us, end_us, cells=cells, in_time=in_time)


def recompute_restricted(spec: FeatureSpec | Feature, settings: Settings, cells: pd.DataFrame) -> pd.DataFrame:
    """`SparkEngine(settings).recompute_in_time(...)` for a caller holding a spec."""
    return SparkEngine(settings).recompute_in_time(as_feature(spec, settings), cells)


# --- the session ----------------------------------------------------------------------------------------

SPARK_LOG = "data/spark.log"  # under the project: where Spark's and log4j's own lines go unless verbose


def spark_session(settings: Settings, *, verbose: bool = False) -> SparkSession:
    """The process's Spark session: created on first use with `settings.spark_master`, reused after.

    UTC session time zone (window bounds and timestamp literals agree with integer microseconds),
    Arrow for pandas conversion, no UI, logs at ERROR, `geohash()` registered, and parity's own code
    shipped to the executors (`shipped_code`), whose Python is `settings.spark_python`. A local master
    also gets few shuffle partitions and is bound to the loopback address so that it needs no network;
    `settings.spark_conf` comes last and overrides any of it. Unless `verbose`, the JVM's log4j writes to
    `<project>/data/spark.log` instead of the terminal (its WARN lines at start-up included).
    """
    spark = SparkSession.getActiveSession()
    if spark is None:
        local = _LOCAL_MASTER.fullmatch(settings.spark_master)
        if local:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # The executors' Python workers (the geohash UDF) need pandas, pyarrow and pygeohash; by default they
        # run this interpreter, which only a local master or a cluster on this machine can use.
        python = settings.spark_python or os.environ.get("PYSPARK_PYTHON") or sys.executable
        os.environ["PYSPARK_PYTHON"] = python
        conf = {**_session_conf(local), **dict(settings.spark_conf)}
        if not verbose:
            conf["spark.driver.extraJavaOptions"] = " ".join(
                filter(None, [_quiet_log4j(settings.project / SPARK_LOG), conf.get("spark.driver.extraJavaOptions")]))
        builder = SparkSession.builder.master(settings.spark_master).appName("parity")
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        spark.sparkContext.setLogLevel("WARN" if verbose else "ERROR")
        # PySpark logs every SQL error it raises at ERROR; parity re-raises it as a QueryError instead.
        for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    else:
        spark.conf.set("spark.sql.session.timeZone", "UTC")  # a session made elsewhere may not be on UTC
    # Before any UDF is registered: a Python UDF carries the Python path of the moment it was made.
    _ship(spark.sparkContext, shipped_code())
    if not spark.catalog.functionExists("geohash"):
        register_spark(spark)
    return spark


def _quiet_log4j(log_file: Path) -> str:
    """The driver JVM option that sends log4j's every line to `log_file` (the config written beside the code
    zip, in this process's private folder)."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    config = _private_folder() / "log4j2.properties"
    config.write_text("\n".join([
        "rootLogger.level = warn",
        "rootLogger.appenderRef.file.ref = file",
        "appender.file.type = File",
        "appender.file.name = file",
        f"appender.file.fileName = {log_file}",
        "appender.file.append = true",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss} %p %c{1}: %m%n",
        "logger.jetty.name = org.sparkproject.jetty",
        "logger.jetty.level = warn",
        "",
    ]))
    return f"-Dlog4j2.configurationFile={config.as_uri()}"


def register_spark(spark: SparkSession) -> None:
    """Make `geohash(lat, lon, precision)` and `geohash_parent(cell, precision)` Spark SQL functions; `geohash`
    an Arrow UDF (`parity.geo.geohash_array`), called once per Arrow batch."""
    from pyspark.sql.functions import arrow_udf  # type: ignore[attr-defined]

    @arrow_udf("string")  # type: ignore[untyped-decorator]
    def geohash_udf(lat: pa.Array, lon: pa.Array, precision: pa.Array) -> pa.Array:
        return geohash_array(lat, lon, precision)

    spark.udf.register("geohash", geohash_udf)
    spark.sql("CREATE OR REPLACE TEMPORARY FUNCTION geohash_parent(cell STRING, p INT) RETURNS STRING "
              "RETURN substr(cell, 1, p)")


@functools.cache
def _private_folder() -> Path:
    """This process's own folder (mode 0700, `tempfile.mkdtemp`), removed at exit: nothing another user planted
    at a predictable path is ever read from it."""
    folder = Path(tempfile.mkdtemp(prefix="parity-spark-"))
    atexit.register(shutil.rmtree, folder, True)
    return folder


def _package() -> tuple[list[tuple[str, bytes]], str]:
    """parity's own files (path in the zip, bytes) and the hash of them all."""
    package = Path(__file__).resolve().parent
    files = sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    contents = []
    for path in files:
        name = path.relative_to(package.parent).as_posix()
        data = path.read_bytes()
        contents.append((name, data))
        digest.update(name.encode() + b"\0" + len(data).to_bytes(8, "big") + data)
    return contents, digest.hexdigest()


@functools.cache
def _built() -> tuple[Path, str]:
    """The code zip, built once per process in its private folder, and the sha256 of the zip's bytes."""
    contents, digest = _package()
    target = _private_folder() / f"parity-{digest[:16]}.zip"
    partial = target.with_name(f"{target.name}.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in contents:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    os.replace(partial, target)
    return target, hashlib.sha256(target.read_bytes()).hexdigest()


def shipped_code() -> Path:
    """parity's own package as a zip for the executors' Python path, so that a worker needs only parity's
    third-party packages, never parity itself: `parity-<hash of its files>.zip`, built once per process in
    the process's private folder (never from a shared temporary path another user could have planted), and
    checked against the hash of the bytes written before every reuse (a changed zip is built again). Read
    once per process: a long-running `parity run` does not ship code installed over it while it runs."""
    target, sha = _built()
    if not target.is_file() or hashlib.sha256(target.read_bytes()).hexdigest() != sha:
        _built.cache_clear()
        target, sha = _built()
    return target


def _ship(context: SparkContext, code: Path) -> None:
    """Put `code` on the executors' Python path, unless this context has it already."""
    if not any(PurePosixPath(urlsplit(added).path).name == code.name for added in context.listFiles):
        context.addPyFile(str(code))


_LOCAL_MASTER = re.compile(r"local(?:\[(\d+|\*)(?:,\d+)?\])?")


def _session_conf(local: re.Match[str] | None) -> dict[str, str]:
    conf = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    if local:
        threads = local.group(1)
        cores = 1 if threads is None else (os.cpu_count() or 2) if threads == "*" else int(threads)
        conf["spark.driver.host"] = conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.sql.shuffle.partitions"] = str(max(1, min(cores, 16)))
        # Adaptive execution re-plans between stages to coalesce or split partitions across executors; one
        # local JVM has nothing to balance, and the re-planning costs ~0.1-0.5 s of every check's queries.
        conf["spark.sql.adaptive.enabled"] = "false"
        conf["spark.driver.memory"] = "2g"
    return conf


# --- which events -----------------------------------------------------------------------------------------


def event_files(settings: Settings, source: str, start_us: int, end_us: int) -> list[Path]:
    """The Parquet files of the hour partitions that cover event times [start, end), listed directly."""
    root = settings.event_log / source
    if not root.is_dir():
        raise DataError(str(root), f"no event log for source {source!r}; expected date=YYYY-MM-DD/hour=HH/*.parquet")
    files = listed_event_files(settings.event_log, source, start_us, end_us)  # the Python reader's listing
    if not files:
        raise DataError(str(root), f"no event partitions cover {iso(start_us)} .. {iso(end_us)}")
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


# --- recomputing ------------------------------------------------------------------------------------------


def offline_sql(
    feature: Feature,
    events: str,
    start_us: int,
    end_us: int,
    cells: Sequence[query.Cell] = (),
    in_time: InTime | None = None,
) -> str:
    """The feature's query rewritten to windows starting in [start, end) over the table or view `events`; with
    `in_time` (`parity.in_time.in_time_query` of that query), its in-time columns too."""
    tree = feature.query if in_time is None else in_time.tree
    columns = _result_columns(feature.spec) + ([] if in_time is None else in_time.columns(feature.values))
    lo, hi = event_range(feature.window, start_us, end_us)
    narrowed = query.keep_windows(query.restrict_events(tree, feature.source, events, lo, hi), start_us, end_us,
                                  columns)
    return query.to_sql(query.keep_cells(narrowed, feature.keys, cells) if cells else narrowed)


# --- inside -----------------------------------------------------------------------------------------------


def _result_columns(spec: FeatureSpec) -> list[str]:
    return [*spec.keys, *query.WINDOW_COLUMNS, *spec.values]


def _collect(spark: SparkSession, spec: FeatureSpec, sql: str) -> pd.DataFrame:
    try:
        # Through Arrow with nullable dtypes: toPandas() would turn a NULL double (try_divide's ratio) into NaN.
        frame: pd.DataFrame = spark.sql(sql).toArrow().to_pandas(types_mapper=NULLABLE.get)
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


def _empty(spec: FeatureSpec) -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in _result_columns(spec)})
    for column in query.WINDOW_COLUMNS:
        frame[column] = frame[column].astype("datetime64[us, UTC]")
    return frame


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by: ")]
    if "Traceback" in text and lines:
        message = lines[-1]  # a Python worker's traceback: its last line is the exception
    elif lines and lines[0].startswith("An error occurred while calling") and causes:
        # A Java error through Py4J: its first line names only the call; the first cause says what went wrong,
        # after the task that failed ("... (localhost executor driver): java.io.IOException: Cannot run ...").
        message = causes[0].partition("stage failure: ")[2].partition("): ")[2] or causes[0]
    else:
        message = lines[0] if lines else type(exc).__name__
    message = re.sub(r"\s+", " ", message)
    return message if len(message) <= _MESSAGE_LIMIT else message[: _MESSAGE_LIMIT - 3] + "..."

