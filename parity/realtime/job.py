"""What both replay modes share: the feature's job, the rows it reads, the windows parity applies, the options.

A job is Beam YAML (`transform:` in the spec, run with `YamlTransform`) or a `beam.PTransform` class
(`transform_ref: path/to/module.py:ClassName`). It reads a schema'd PCollection of `Event` rows (a
`typing.NamedTuple` built from the Arrow schema of the events, encoded with Beam's `RowCoder`): timestamp
columns arrive as int microseconds since the epoch (UTC), and the Beam element timestamp is `event_time`.
"""

# mypy: disable-error-code="no-untyped-call"
# (Apache Beam ships no type hints for most of its API.)
from __future__ import annotations

import importlib.util
import re
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.coders import RowCoder
from apache_beam.coders.typecoders import registry as coder_registry
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.transforms import trigger, window
from apache_beam.utils.timestamp import Duration

from parity.beam import PANE_COLUMNS, pane_table
from parity.errors import ConfigError, JobError
from parity.publish import HIDDEN_PREFIXES
from parity.settings import Settings
from parity.spec import FeatureSpec, project_path

REQUIRED_COLUMNS = ("event_id", "event_time", "ingest_time")
# The order a stream meets the events in: by arrival, ties by event time and id.
ARRIVAL_ORDER = [("ingest_time", "ascending"), ("event_time", "ascending"), ("event_id", "ascending")]
# Runners that would fetch the Prism binary from the network before running (none is reachable here).
_DOWNLOADING_RUNNERS = {"DirectRunner", "SwitchingDirectRunner", "PrismRunner"}


def pipeline_options(settings: Settings, *, streaming: bool = True) -> PipelineOptions:
    """The project's Beam options, with the runner pinned and streaming on (off for the fast mode's batch run)."""
    runner = settings.beam_runner
    passthrough = list(settings.beam_options)
    if runner in _DOWNLOADING_RUNNERS and not any(o.startswith("--prism_location") for o in passthrough):
        raise ConfigError(
            str(settings.project / "pyproject.toml"),
            "beam_runner",
            f"{runner} first downloads the Prism runner; use BundleBasedDirectRunner "
            "(or give --prism_location in beam_options)",
        )
    options = PipelineOptions([*passthrough, f"--runner={runner}"])
    options.view_as(StandardOptions).streaming = streaming
    return options


def window_fn(spec: FeatureSpec) -> window.WindowFn:
    """The spec's windows: fixed, or sliding by the spec's slide."""
    size = Duration(micros=spec.window.size_us)
    if spec.window.sliding:
        return window.SlidingWindows(size, Duration(micros=spec.window.slide_us))
    return window.FixedWindows(size)


def window_into(spec: FeatureSpec) -> beam.WindowInto:
    """The spec's windows with production's trigger: on time, then a pane per late element, accumulating."""
    return beam.WindowInto(
        window_fn(spec),
        trigger=trigger.AfterWatermark(late=trigger.AfterCount(1)),
        accumulation_mode=trigger.AccumulationMode.ACCUMULATING,
        allowed_lateness=Duration(micros=spec.allowed_lateness_us),
    )


def event_row_type(schema: pa.Schema) -> type[tuple[Any, ...]]:
    """A `typing.NamedTuple` named `Event` mirroring the Arrow schema, registered with Beam's RowCoder.

    Timestamps become int microseconds (UTC). Required columns are non-null; every other column is Optional.
    Raises ValueError for a column type it cannot map (lists, structs, decimals). One schema, one type.
    """
    return _event_type(tuple((field.name, _python_type(field).__name__) for field in schema))


# Event types by their fields ((name, Python type name), ...): a type made once per schema, found again when a
# pickled Event (a job's step without type hints encodes its elements with pickle) is loaded, in any process.
_EVENT_TYPES: dict[tuple[tuple[str, str], ...], type[tuple[Any, ...]]] = {}
_TYPES: dict[str, type] = {kind.__name__: kind for kind in (int, float, bool, str, bytes)}


def _event_type(fields: tuple[tuple[str, str], ...]) -> type[tuple[Any, ...]]:
    if fields not in _EVENT_TYPES:
        typed = [(name, _TYPES[kind] if name in REQUIRED_COLUMNS else _TYPES[kind] | None) for name, kind in fields]
        row_type = typing.NamedTuple("Event", typed)  # type: ignore[misc]
        row_type.__reduce__ = lambda row: (_event, (fields, tuple(row)))  # type: ignore[assignment,method-assign,arg-type]
        coder_registry.register_coder(row_type, RowCoder)
        _EVENT_TYPES[fields] = row_type
    return _EVENT_TYPES[fields]


def _event(fields: tuple[tuple[str, str], ...], values: tuple[Any, ...]) -> tuple[Any, ...]:
    return _event_type(fields)._make(values)  # type: ignore[attr-defined,no-any-return]


def event_rows(table: pa.Table | pa.RecordBatch, event_type: type[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    """The events of an Arrow table or record batch as `Event` rows, made one at a time."""
    columns = []
    for field in table.schema:
        column = table.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = pc.cast(column, pa.int64())
        elif pa.types.is_dictionary(field.type):
            column = pc.cast(column, pa.string())
        columns.append(column.to_pylist())
    make = event_type._make  # type: ignore[attr-defined]
    return (make(values) for values in zip(*columns, strict=True))


def check_columns(spec: FeatureSpec, events: pa.Table) -> None:
    """Raise `JobError` for events without the required columns, or with untyped or null timestamps."""
    for name in REQUIRED_COLUMNS:
        if name not in events.column_names:
            raise JobError(spec.name, f"events lack required column {name!r}")
    for name in ("event_time", "ingest_time"):
        if not pa.types.is_timestamp(events.schema.field(name).type):
            raise JobError(spec.name, f"events column {name!r} is {events.schema.field(name).type}, not timestamp[us, UTC]")
        if events.column(name).null_count:
            raise JobError(spec.name, f"{events.column(name).null_count} event(s) have no {name}; write them with "
                                      "`write_events`, which quarantines such rows")


def load_job(spec: FeatureSpec, project: Path) -> beam.PTransform[Any, Any]:
    """The feature's Beam transform: its Beam YAML chain, or the PTransform class its `transform_ref` names.

    A spec is trusted code, confined to its project: a `transform_ref` resolving (symlinks followed) outside the
    project is refused before anything is imported. Whatever importing or constructing the job raises, SystemExit
    included, becomes a JobError (exit 2); only KeyboardInterrupt goes through.
    """
    if spec.transform_yaml is not None:
        from apache_beam.yaml.yaml_transform import YamlTransform

        try:
            return YamlTransform(spec.transform_yaml)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            raise JobError(spec.name, f"Beam YAML transform in {spec.path.name}: {one_line(exc)}") from exc
    assert spec.transform_ref is not None
    file_part, class_name = spec.transform_ref.split(":")
    where = f"transform_ref {spec.transform_ref}"
    try:
        source = project_path(project, file_part)
    except ValueError as exc:
        raise JobError(spec.name, f"{where}: {exc}") from None
    if not source.is_file():
        raise JobError(spec.name, f"{where}: no file {source}; fix the path in {spec.path.name}")
    module_name = f"parity_job_{spec.name}"
    loader_spec = importlib.util.spec_from_file_location(module_name, source)
    if loader_spec is None or loader_spec.loader is None:
        raise JobError(spec.name, f"{where}: {source} is not a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except KeyboardInterrupt:
        sys.modules.pop(module_name, None)
        raise
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        raise JobError(spec.name, f"{where}: importing {source.name} failed: {one_line(exc)}") from exc
    _pickle_by_value(module)
    job_class = getattr(module, class_name, None)
    if not (isinstance(job_class, type) and issubclass(job_class, beam.PTransform)):
        raise JobError(spec.name, f"{where}: {source.name} has no beam.PTransform class {class_name}")
    try:
        return job_class()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:
        raise JobError(spec.name, f"{where}: {class_name}() failed: {one_line(exc)}") from exc


def read_logged(folder: Path, spec: FeatureSpec) -> pa.Table:
    """Every pane `parity.beam` wrote under `folder` (its hour folders), as one table sorted by cell and pane."""
    names = [*spec.keys, *spec.values, *PANE_COLUMNS]
    parts = sorted(p for p in folder.rglob("*.parquet") if not any(n.startswith(HIDDEN_PREFIXES) for n in p.relative_to(folder).parts))
    tables = [pq.read_table(part) for part in parts]
    if tables:
        try:
            table = pa.concat_tables(tables, promote_options="permissive").select(names)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise JobError(spec.name, f"output columns mix types across panes: {one_line(exc)}") from exc
        return table.sort_by([(name, "ascending") for name in (*spec.keys, "window_start", "pane_index")])
    empty = {name: pa.array([], type=pa.string() if name in spec.keys else pa.float64()) for name in (*spec.keys, *spec.values)}
    return pa.table({**empty, **{name: pane_table([], PANE_COLUMNS).column(name) for name in PANE_COLUMNS}})


def owned_windows(owns: Callable[[int], bool] | None, windows: tuple[int, int] | None) -> Callable[[int], bool] | None:
    """The windows a replay step keeps by their start (µs): those `owns` accepts and, given `windows`, starting in
    [start, end); None when it keeps every window."""
    if windows is None:
        return owns
    low, high = windows

    def keep(window_start_us: int) -> bool:
        return low <= window_start_us < high and (owns is None or owns(window_start_us))

    return keep


def one_line(exc: BaseException) -> str:
    """The gist of a Beam failure on one line: the user's error and the step it happened in."""
    text = str(exc).strip() or type(exc).__name__
    if "exceptions must derive from BaseException" in text:
        return "the Beam runner stalled (TypeError: exceptions must derive from BaseException); treat the run as failed"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # The DirectRunner re-raises a worker's error as its traceback text; its last line is the error itself.
    gist = lines[-1] if lines else text
    if not re.match(r"^[\w.]+(Error|Exception|Exit)\b", gist):
        gist = f"{type(exc).__name__}: {gist}"
    # A JobError raised inside the pipeline (by parity's own steps) comes back wrapped: keep its message only.
    gist = re.sub(r"^(RuntimeError: )?(parity\.errors\.)?JobError: realtime job of \w+: ", "", gist)
    return gist[:500]


def _python_type(field: pa.Field) -> type:
    kind = field.type
    if pa.types.is_timestamp(kind) or pa.types.is_integer(kind):
        return int
    if pa.types.is_floating(kind):
        return float
    if pa.types.is_boolean(kind):
        return bool
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_dictionary(kind):
        return str
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return bytes
    raise ValueError(f"events column {field.name!r} has type {kind}, which parity cannot pass to Beam")


def _pickle_by_value(module: Any) -> None:
    """A job module loaded from a file is not importable on workers: Beam's pickler ships its classes by value."""
    from apache_beam.internal.cloudpickle import cloudpickle

    cloudpickle.register_pickle_by_value(module)
