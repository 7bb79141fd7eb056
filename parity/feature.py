"""A feature, loaded once per command: its spec and its offline query, parsed once and validated.

`load(spec, settings)` reads the query file, parses it with sqlglot, and refuses it (a `QueryError` naming the
file, line and column) when it could not run as this feature's ground truth: the outermost SELECT lacks a key,
a value or the window columns; it does not read the spec's source; its `window(event_time, ...)` is not the
spec's window (a slide of microseconds instead of minutes runs Spark out of memory); or a column or function it
reads does not exist in the events' schema (`parity.schema.event_schema`, `parity.sqllint`). All of it runs
before Spark starts, on every path (`lint`, `check`, `run`, `backfill`, `replay`, `parity.testing`), and every
stage after takes the one frozen `Feature`: nothing re-reads the spec or re-parses the SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlglot import exp

from parity.errors import QueryError, SpecError
from parity.in_time import InTime, in_time_query
from parity.spec import FeatureSpec, Window

if TYPE_CHECKING:
    from pathlib import Path

    import pyarrow as pa

    from parity.settings import Settings

ONLINE_COLUMNS = ("window_start", "window_end", "pane_timing", "pane_index")  # what parity adds to a job's rows


@dataclass(frozen=True, slots=True, eq=False)
class Feature:
    """One feature as every stage of a command sees it.

    `query` is the parsed offline query (stages rewrite copies of it, never it); `sql_path` the query file as
    errors name it; `in_time` the query's one-pass in-time rewrite at the spec's lateness (`parity.in_time`),
    or None when it cannot be proved and late cells are recomputed per window phase."""

    spec: FeatureSpec
    query: exp.Query
    sql_path: str
    in_time: InTime | None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def source(self) -> str:
        return self.spec.source

    @property
    def keys(self) -> tuple[str, ...]:
        return self.spec.keys

    @property
    def values(self) -> tuple[str, ...]:
        return self.spec.values

    @property
    def window(self) -> Window:
        return self.spec.window

    @property
    def allowed_lateness_us(self) -> int:
        return self.spec.allowed_lateness_us


def as_feature(feature: FeatureSpec | Feature, settings: Settings) -> Feature:
    """`feature` itself, or the spec loaded (`load`): for the library's entry points a caller may hand a spec."""
    return feature if isinstance(feature, Feature) else load(feature, settings)


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


def load(spec: FeatureSpec, settings: Settings) -> Feature:
    """The feature of `spec` with its query parsed and validated; the first problem is a one-line `QueryError`."""
    feature, problems = inspect(spec, settings)
    if feature is None or problems:
        raise QueryError(spec.name, problems[0] if problems else "cannot be loaded")
    return feature


def inspect(spec: FeatureSpec, settings: Settings) -> tuple[Feature | None, list[str]]:
    """The feature and every problem of its query, one line each (`file:line:col: ...` where a place is known):
    what `parity lint` prints. The feature is None when the query cannot be read or parsed."""
    from parity.query import parse_query

    shown = _shown(spec.offline_query, settings.project)
    try:
        sql = spec.offline_query.read_text()
    except FileNotFoundError:
        return None, [f"{shown}: file is missing; write the offline query of {spec.name} there"]
    except OSError as exc:
        return None, [str(SpecError(shown, "", f"cannot read the offline query: {exc.strerror}"))]
    except UnicodeDecodeError as exc:
        return None, [str(SpecError(shown, "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8"))]
    try:
        tree = parse_query(sql, shown)
    except SpecError as exc:
        return None, [str(exc)]
    problems = _shape_problems(tree, spec, shown)
    problems += _column_problems(sql, tree, spec, settings, shown)
    in_time = in_time_query(tree, spec.source, (spec.allowed_lateness_us,)) if not problems else None
    return Feature(spec, tree, shown, in_time), problems


def _shape_problems(tree: exp.Query, spec: FeatureSpec, shown: str) -> list[str]:
    """The output columns, the source and the window against the spec."""
    from sqlglot.errors import SqlglotError

    from parity.query import WINDOW_COLUMNS, output_columns, source_tables, window_problem

    problems: list[str] = []
    columns = output_columns(tree)
    if "*" in columns:
        problems.append(f"{shown}: output columns cannot be told from `SELECT *` over a table; name them")
    else:
        present = {c.lower() for c in columns}
        wanted = [(k, "key") for k in spec.keys] + [(w, "window") for w in WINDOW_COLUMNS]
        wanted += [(v, "value") for v in spec.values]
        problems += [f"{shown}: output column {column!r} ({role} of {spec.name}) is missing; add it to the "
                     "outermost SELECT" for column, role in wanted if column.lower() not in present]
    if (window := window_problem(tree, spec)) is not None:
        problems.append(f"{shown}: {window}")
    try:
        read = source_tables(tree)
    except SqlglotError as exc:
        return [*problems, f"{shown}: cannot resolve the tables it reads: {str(exc).splitlines()[0]}"]
    if spec.source.lower() not in read:
        listed = ", ".join(sorted(read)) or "no table"
        problems.append(f"{shown}: does not read the source {spec.source!r} (reads {listed}); read it in FROM")
    return problems


def _column_problems(sql: str, tree: exp.Query, spec: FeatureSpec, settings: Settings, shown: str) -> list[str]:
    """Columns and functions resolved against the source's schema (`parity.sqllint`); nothing to resolve
    against while the source has neither event files nor a declared schema (a project being scaffolded)."""
    from parity.sqllint import lint_tree

    schema = _source_schema(spec, settings)
    if schema is None:
        return []
    return lint_tree(sql, tree, shown, {spec.source: schema})


def _source_schema(spec: FeatureSpec, settings: Settings) -> pa.Schema | None:
    from parity.errors import DataError
    from parity.schema import known_schema

    try:
        return known_schema(settings.event_log, spec.source, settings.declared_schemas)
    except DataError:  # an unreadable newest file: the event reader names it when it reads the events
        return None


def _shown(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)


def problems(spec: FeatureSpec, settings: Settings) -> list[str]:
    """Every problem of the feature's query (`inspect`), for `parity lint`; empty when it is usable."""
    return inspect(spec, settings)[1]
