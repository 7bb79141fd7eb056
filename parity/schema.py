"""One event schema per project and source: what port, lint, the traps and the check type columns from.

Read from the project's own event log (the Parquet schema of the newest file under `<event_log>/<source>/`), or
declared in the project's config for a log kept elsewhere (`[tool.parity.event_schema.<source>]`, column = type,
types in Spark SQL words: `string`, `bigint`, `int`, `double`, `float`, `boolean`, `timestamp`, `date`,
`decimal(p,s)`). A declaration wins over the files. A source with neither is a `SchemaError` saying how to
declare it. Nothing here knows the demo's ride events: the generator's schema is only what its files hold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from parity.errors import DataError
from parity.publish import HIDDEN_PREFIXES

_SIMPLE = {
    "string": pa.string(), "bigint": pa.int64(), "long": pa.int64(), "int": pa.int32(), "integer": pa.int32(),
    "smallint": pa.int16(), "tinyint": pa.int8(), "double": pa.float64(), "float": pa.float32(),
    "boolean": pa.bool_(), "timestamp": pa.timestamp("us", tz="UTC"), "date": pa.date32(),
}
_DECIMAL = re.compile(r"^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$")


class SchemaError(DataError):
    """A source whose columns parity cannot tell: no event files and no declaration."""


def arrow_type(text: str) -> pa.DataType:
    """A Spark SQL type name -> its Arrow type; ValueError naming the known ones."""
    word = text.strip().lower()
    if word in _SIMPLE:
        return _SIMPLE[word]
    match = _DECIMAL.match(word)
    if match and 0 < int(match.group(1)) <= 38 and int(match.group(2)) <= int(match.group(1)):
        return pa.decimal128(int(match.group(1)), int(match.group(2)))
    raise ValueError(f"unknown column type {text!r}; write one of {', '.join(_SIMPLE)} or decimal(p,s)")


def event_schema(event_log: Path, source: str, declared: Mapping[str, Mapping[str, str]] | None = None) -> pa.Schema:
    """The columns of `source`: the declaration in the config if any, else the newest event file's schema."""
    if declared and source in declared:
        return pa.schema([pa.field(name, arrow_type(kind)) for name, kind in declared[source].items()])
    newest = newest_file(event_log / source)
    if newest is None:
        raise SchemaError(str(event_log / source), (
            f"no event files for source {source!r} yet, so its columns are unknown; write events there "
            f"(`parity generate` for the demo) or declare them in pyproject.toml under "
            f"[tool.parity.event_schema.{source}], e.g. event_id = \"string\", event_time = \"timestamp\""))
    try:
        return pq.read_schema(newest)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataError(str(newest), f"cannot read its Parquet schema: {str(exc).splitlines()[0]}") from exc


def known_schema(event_log: Path, source: str, declared: Mapping[str, Mapping[str, str]] | None = None) -> pa.Schema | None:
    """`event_schema`, or None for a source without files or a declaration yet (a project being scaffolded)."""
    try:
        return event_schema(event_log, source, declared)
    except SchemaError:
        return None


def newest_file(folder: Path) -> Path | None:
    """The newest visible Parquet file under `folder` (hidden names are a writer's temporaries)."""
    if not folder.is_dir():
        return None
    files = [p for p in folder.rglob("*.parquet")
             if p.is_file() and not any(part.startswith(HIDDEN_PREFIXES) for part in p.relative_to(folder).parts)]
    return max(files, key=lambda p: (p.stat().st_mtime_ns, str(p))) if files else None
