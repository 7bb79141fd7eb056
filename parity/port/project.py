"""`parity init --event-log PATH`: a feature project set up around an event log that already exists.

It reads the log's sources (`<event_log>/<source>/date=.../hour=.../*.parquet`, the layout `parity.events`
writes) and the newest file's Parquet schema of each, then writes `[tool.parity]` into the project's
pyproject.toml: `event_log`, and `[tool.parity.event_schema.<source>]`, the columns in Spark SQL type names
(what `parity port` and `parity lint` type columns from). It creates offline_queries/, realtime_jobs/, alerts/
and reports/. It never overwrites: a pyproject.toml that already has `[tool.parity]` is refused, and one without
it gets the table appended, the rest of the file untouched. Every refusal is one line naming the file or column.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from parity.errors import ConfigError, DataError
from parity.events import REQUIRED_COLUMNS
from parity.events import sources as sources_in
from parity.schema import event_schema, newest_file

FOLDERS = ("offline_queries", "realtime_jobs", "alerts", "reports")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True, slots=True)
class Initialised:
    """What `init_project` wrote: the config file, the sources and their column counts, the folders made."""

    config: Path
    sources: tuple[tuple[str, int], ...]
    folders: tuple[Path, ...]


def spark_type(field: pa.Field) -> str:
    """An Arrow column type -> its Spark SQL type name (the words `parity.schema.arrow_type` reads back)."""
    kind = field.type
    simple = {pa.int64(): "bigint", pa.int32(): "int", pa.int16(): "smallint", pa.int8(): "tinyint",
              pa.float64(): "double", pa.float32(): "float", pa.bool_(): "boolean", pa.string(): "string",
              pa.large_string(): "string", pa.date32(): "date"}
    if kind in simple:
        return simple[kind]
    if pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type):
        return "string"
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision},{kind.scale})"
    raise ValueError(f"column {field.name!r} has type {kind}, which parity cannot type (numbers, strings, booleans, "
                     "dates, timestamps and decimals)")


def init_project(project: Path, event_log: Path, sources: tuple[str, ...] = ()) -> Initialised:
    """Set up `project` around `event_log` (absolute, or relative to the project). `sources`: the sources to declare
    (default: every source folder holding Parquet files). Nothing is written when anything is refused."""
    project = project.resolve()
    if not project.is_dir():
        raise ConfigError(str(project), "", "project directory does not exist; create it or pass --project DIR")
    log = event_log if event_log.is_absolute() else project / event_log
    if not log.is_dir():
        raise DataError(str(event_log), "no such event log folder; pass the folder holding <source>/date=.../*.parquet")
    found = [source for source in sources_in(log) if newest_file(log / source) is not None]
    chosen = sources or tuple(found)
    if not chosen:
        raise DataError(str(log), "holds no source folder with Parquet files (<source>/date=YYYY-MM-DD/hour=HH/*.parquet)")
    for source in chosen:
        if source not in found:
            raise DataError(str(log / source), f"no Parquet files for source {source!r}; sources found: "
                                               f"{', '.join(found) or 'none'}")
    pyproject = project / "pyproject.toml"
    existing = _existing(pyproject)
    columns = {source: _columns(log, source) for source in chosen}
    text = _table(_shown(log, project), columns)
    tomllib.loads(text)  # what it writes is TOML, whatever the column names
    for folder in FOLDERS:
        (project / folder).mkdir(exist_ok=True)
    separator = "" if not existing or existing.endswith("\n\n") else ("\n" if existing.endswith("\n") else "\n\n")
    pyproject.write_text(existing + separator + text)
    return Initialised(pyproject, tuple((s, len(c)) for s, c in columns.items()),
                       tuple(project / folder for folder in FOLDERS))


def _existing(pyproject: Path) -> str:
    """The pyproject.toml's text ("" when there is none); refused when it already has [tool.parity]."""
    if not pyproject.is_file():
        return ""
    try:
        text = pyproject.read_text()
        document = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(str(pyproject), "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(pyproject), "", f"invalid TOML: {exc}; fix it before parity init") from exc
    tool = document.get("tool")
    if isinstance(tool, dict) and "parity" in tool:
        raise ConfigError(str(pyproject), "", "already has [tool.parity]; parity init never overwrites it, edit it "
                                              "instead")
    return text


def _columns(log: Path, source: str) -> dict[str, str]:
    schema = event_schema(log, source)
    where = str(newest_file(log / source))
    missing = [name for name in REQUIRED_COLUMNS if name not in schema.names]
    if missing:
        raise DataError(where, f"lacks the required column(s) {', '.join(missing)} (every event has event_id, "
                               "event_time and ingest_time)")
    columns: dict[str, str] = {}
    for field in schema:
        try:
            columns[field.name] = spark_type(field)
        except ValueError as exc:
            raise DataError(where, str(exc)) from None
    for name in ("event_time", "ingest_time"):
        if columns[name] != "timestamp":
            raise DataError(where, f"column {name!r} is {schema.field(name).type}, not a timestamp")
    return columns


def _table(event_log: str, columns: dict[str, dict[str, str]]) -> str:
    lines = ["[tool.parity]", f"event_log = {json.dumps(event_log)}", ""]
    for source, fields in columns.items():
        lines += [f"# The columns of {source}, read from its newest event file by `parity init`; port and lint type",
                  "# columns from this declaration (it wins over the files): add a column here when the log gains one.",
                  f"[tool.parity.event_schema.{_key(source)}]"]
        lines += [f"{_key(name)} = {json.dumps(kind)}" for name, kind in fields.items()]
        lines.append("")
    return "\n".join(lines)


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def _shown(path: Path, project: Path) -> str:
    """The event log as the config holds it: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(project))
    except ValueError:
        return str(path.resolve())
