"""Porting an offline Spark SQL query into a checked streaming job: `parity port` and `parity new`.

    translate.py  sqlglot expression -> Python text with Spark's semantics (or a refusal naming the construct)
    plan.py       the query's shape -> filter, keys, window, aggregates, values (or every refusal, one line each)
    emit.py       the plan -> realtime_jobs/<feature>.yaml: the spec and its Beam YAML transform
    spark.py      Spark's semantics as small functions the generated jobs call (null in, null out; div; round)
    combine.py    Spark's aggregates as Beam CombineFns (nulls skipped; NULL of no value)
    scaffold.py   `parity new`: a commented query template, its port and a pytest parity test

`port_query` is the one call: it reads the SQL, plans, emits, and checks that the written spec loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from parity.errors import SpecError
from parity.publish import publish_text


@dataclass(frozen=True, slots=True)
class Ported:
    """What `port_query` wrote: the spec file, its feature name, and its value columns."""

    spec_path: Path
    feature: str
    values: tuple[str, ...]


def port_query(sql_path: Path, project: Path, *, source: str | None = None, lateness: str = "2m",
               force: bool = False, schema_of: Callable[[str], pa.Schema | None] | None = None) -> Ported:
    """`offline_queries/<f>.sql` -> `realtime_jobs/<f>.yaml`. `PortRefused` when the SQL cannot be ported,
    `SpecError` when the spec exists (without `force`) or the SQL cannot be read. `source`: the event source
    (default: the table the query reads). `schema_of(source)`: its columns (`parity.schema.event_schema`),
    which type the port's columns; None: every column is of unknown type."""
    from parity.port.emit import description_of, emit_spec
    from parity.port.plan import plan_query
    from parity.spec import load_spec
    from parity.units import parse_duration

    shown = _shown(sql_path, project)
    feature = sql_path.stem
    target = project / "realtime_jobs" / f"{feature}.yaml"
    if target.exists() and not force:
        raise SpecError(_shown(target, project), "", "exists; pass --force to overwrite it")
    try:
        parse_duration(lateness)
    except ValueError as exc:
        raise SpecError(shown, "--lateness", str(exc)) from None
    try:
        sql = sql_path.read_text()
    except OSError as exc:
        raise SpecError(shown, "", f"cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(shown, "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    plan = plan_query(sql, shown, source, schema_of)
    text = emit_spec(plan, feature, shown, description_of(sql), lateness)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        load_spec(publish_text(target, text), project)
    except SpecError:
        target.unlink(missing_ok=True)
        raise
    return Ported(target, feature, tuple(v.name for v in plan.outputs))


def _shown(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)
