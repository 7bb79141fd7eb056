"""Reading and rewriting a feature's offline SQL with sqlglot (Spark dialect), as AST edits only.

The ground-truth query of a feature (`offline_queries/<name>.sql`) reads the whole event source and
groups it into windows. A check needs it narrowed without changing its meaning:

- `restrict_events`: every reference to the source table (CTEs included) becomes a subquery over
  the events of one event-time range, optionally only those that arrived before a cutoff;
- `keep_windows`: only output rows whose `window_start` lies in [start, end), projected to the
  columns parity compares;
- `keep_cells`: only given cells (key tuple x window_start).

Every literal is an AST node (strings through `exp.Literal.string`), so a key holding quotes,
backslashes or `--` stays data. Timestamps are `TIMESTAMP_MICROS(<int>)`: integer microseconds
UTC end to end, independent of the session time zone.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.spark import Spark
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.parsers.spark import SparkParser
from sqlglot.tokenizer_core import TokenType

from parity.errors import SpecError
from parity.spec import FeatureSpec


class _SparkSQL(Spark):
    """Spark SQL as sqlglot reads it, except that `GROUP BY window(event_time, ...)` parses.

    sqlglot stops a GROUP BY at the WINDOW keyword (the named-window clause, `WINDOW w AS (...)`) even when it
    is Spark's `window(...)` function, so a query grouping by the window first failed with "Expecting )".
    Only a GROUP BY that starts with `window(` is read differently; everything else is sqlglot's Spark.
    """

    class Parser(SparkParser):
        def _parse_group(self, skip_group_by_token: bool = False) -> exp.Group | None:
            at = self._index if skip_group_by_token else self._index + 1
            ahead = [token.token_type for token in self._tokens[at : at + 2]]
            at_group_by = skip_group_by_token or (self._curr is not None and self._curr.token_type == TokenType.GROUP_BY)
            if not (at_group_by and ahead == [TokenType.WINDOW, TokenType.L_PAREN]):
                return super()._parse_group(skip_group_by_token)
            # For this one GROUP BY, WINDOW does not end it (an instance attribute over the class's set).
            setattr(self, "QUERY_MODIFIER_TOKENS", SparkParser.QUERY_MODIFIER_TOKENS - {TokenType.WINDOW})  # noqa: B010
            try:
                return super()._parse_group(skip_group_by_token)
            finally:
                delattr(self, "QUERY_MODIFIER_TOKENS")


DIALECT = _SparkSQL
WINDOW_COLUMNS = ("window_start", "window_end")
EVENT_TIME = "event_time"

# A cell: its key values in `spec.keys` order, then its window start in microseconds.
Cell = tuple[Any, ...]


# --- reading ------------------------------------------------------------------------------------------


def parse_query(sql: str, path: str) -> exp.Query:
    """Parse one Spark SQL query. Anything else (a parse error, two statements, DDL) is a `SpecError`."""
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f"line {first['line']}, col {first['col']}: " if "line" in first else ""
        description = str(first.get("description", exc)).split(". Line")[0].splitlines()[0]
        raise SpecError(path, "sql", f"{where}cannot parse: {description}") from exc
    except SqlglotError as exc:
        raise SpecError(path, "sql", f"cannot parse: {str(exc).splitlines()[0]}") from exc
    if len(statements) != 1:
        raise SpecError(path, "sql", f"holds {len(statements)} statements; write exactly one SELECT")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        raise SpecError(path, "sql", f"is a {tree.key.upper()} statement; write one SELECT query")
    return tree


def read_query(spec: FeatureSpec, project: Path) -> exp.Query:
    """The parsed offline query of a feature; a missing file is a `SpecError` naming it."""
    shown = _shown(spec.offline_query, project)
    try:
        sql = spec.offline_query.read_text()
    except OSError as exc:
        raise SpecError(shown, "", f"cannot read the offline query: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise SpecError(shown, "", f"not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    return parse_query(sql, shown)


def output_columns(tree: exp.Query) -> list[str]:
    """Names of the columns the outermost SELECT returns, `SELECT *` followed through CTEs and subqueries.

    A star over a real table cannot be resolved without its schema; it stays `*` in the list.
    """
    return _columns_of(tree, ctes_in(tree))


def source_tables(tree: exp.Query) -> set[str]:
    """Names of the real tables the query reads (CTE references excluded), lower case."""
    return {table.name.lower() for table in real_tables(tree)}


_INTERVAL = re.compile(r"^\s*(?:interval\s+)?(\d+)\s*(microsecond|millisecond|second|minute|hour|day|week)s?\s*$", re.IGNORECASE)
_INTERVAL_US = {"microsecond": 1, "millisecond": 1_000, "second": 1_000_000, "minute": 60_000_000,
                "hour": 3_600_000_000, "day": 86_400_000_000, "week": 604_800_000_000}


def window_problem(tree: exp.Query, spec: FeatureSpec) -> str | None:
    """Why a `window(event_time, size[, slide])` of the query disagrees with the spec's window, or None.

    A slide of microseconds instead of minutes makes Spark build millions of windows per event and run out
    of memory, so the durations are read here, as interval strings ('5 minutes'), before Spark sees them.
    """
    for call in tree.find_all(exp.Anonymous):
        if call.name.lower() != "window" or len(call.expressions) < 2:
            continue
        try:
            size, slide = window_durations(call)
        except ValueError as exc:
            return str(exc)
        if (size, slide) != (spec.window.size_us, spec.window.slide_us):
            where = f"line {call.meta['line']}: " if "line" in call.meta else ""
            return f"{where}{call.sql(dialect=DIALECT)} is not the spec's window ({spec.window.describe()})"
    return None


def window_call(select: exp.Select) -> exp.Anonymous | None:
    """The one `window(...)` call a SELECT groups by, or None (no GROUP BY, no window, or several)."""
    group = select.args.get("group")
    if group is None:
        return None
    calls = [e for e in group.expressions if isinstance(e, exp.Anonymous) and e.name.lower() == "window"]
    return calls[0] if len(calls) == 1 else None


def window_durations(call: exp.Anonymous) -> tuple[int, int]:
    """(size, slide) in microseconds of a `window(event_time, size[, slide])` call; slide is size when absent.

    ValueError naming the argument when a duration is not an interval string such as '5 minutes'.
    """
    durations = []
    for argument in call.expressions[1:3]:
        match = _INTERVAL.match(argument.this) if isinstance(argument, exp.Literal) and argument.is_string else None
        if match is None:
            raise ValueError(f"window duration {argument.sql()} is not an interval string such as '5 minutes'")
        durations.append(int(match.group(1)) * _INTERVAL_US[match.group(2).lower()])
    if not durations:
        raise ValueError(f"{call.sql(dialect=DIALECT)} has no duration; write window(event_time, '1 minute')")
    return durations[0], durations[-1]


def to_sql(tree: exp.Expr) -> str:
    """Spark SQL text of a tree, comments dropped."""
    return tree.sql(dialect=DIALECT, comments=False)


# --- rewrites -------------------------------------------------------------------------------------------


def timestamp(us: int) -> exp.Expr:
    """`TIMESTAMP_MICROS(us)`: an instant as an AST literal, independent of the session time zone."""
    return exp.UnixToTime(this=exp.Literal.number(int(us)), scale=exp.UnixToTime.MICROS)


def restrict_events(
    tree: exp.Query,
    source: str,
    events: str,
    start_us: int,
    end_us: int,
    ingest_before: int | exp.Expr | None = None,
) -> exp.Query:
    """Replace every reference to the table `source` with a subquery over the table (or view) `events`
    keeping `start <= event_time < end` and, when given, `ingest_time < ingest_before` (microseconds,
    or an expression such as `arrival_cutoffs(...)`).

    The subquery keeps the reference's name (or alias), so `source.col` and `alias.col` still resolve.
    """
    rewritten = tree.copy()
    conditions: list[exp.Expr] = [
        exp.GTE(this=exp.column("event_time"), expression=timestamp(start_us)),
        exp.LT(this=exp.column("event_time"), expression=timestamp(end_us)),
    ]
    if ingest_before is not None:
        cutoff = timestamp(ingest_before) if isinstance(ingest_before, int) else ingest_before
        conditions.append(exp.LT(this=exp.column("ingest_time"), expression=cutoff))
    found = [t for t in real_tables(rewritten) if t.name.lower() == source.lower()]
    if not found:
        raise ValueError(f"the query does not read the source {source!r}")
    for table in found:
        narrowed = exp.select("*").from_(exp.to_table(events)).where(exp.and_(*conditions))
        table.replace(narrowed.subquery(exp.TableAlias(this=exp.to_identifier(table.alias_or_name))))
    return rewritten


def arrival_cutoffs(tiles: Sequence[tuple[int, int, int]]) -> exp.Expr:
    """`CASE WHEN start <= event_time < end THEN TIMESTAMP_MICROS(cutoff) ... END` over disjoint tiles.

    Each tile is (start_us, end_us, cutoff_us). An event outside every tile gets NULL, so a
    comparison with it keeps no such event.
    """
    case = exp.Case()
    for start, end, cutoff in tiles:
        inside = exp.and_(
            exp.GTE(this=exp.column("event_time"), expression=timestamp(start)),
            exp.LT(this=exp.column("event_time"), expression=timestamp(end)),
        )
        case = case.when(inside, timestamp(cutoff), copy=False)
    return case


def keep_windows(
    tree: exp.Query,
    start_us: int,
    end_us: int,
    columns: Sequence[str] | None = None,
) -> exp.Select:
    """`SELECT <columns or *> FROM (<tree>) WHERE window_start >= start AND window_start < end`."""
    start = exp.GTE(this=column_ref("window_start"), expression=timestamp(start_us))
    end = exp.LT(this=column_ref("window_start"), expression=timestamp(end_us))
    return _wrap(tree, columns).where(exp.and_(start, end), copy=False)


def keep_cells(tree: exp.Query, keys: Sequence[str], cells: Iterable[Cell]) -> exp.Select:
    """`SELECT * FROM (<tree>) WHERE <the row is one of the cells>`.

    Cells are grouped by window start: `(window_start = t AND key IN (...)) OR ...` for one key, equality
    conjunctions for several; a null key value matches with `IS NULL`. No cells keeps no row.
    """
    by_window: dict[int, list[tuple[object, ...]]] = {}
    for cell in cells:
        if len(cell) != len(keys) + 1:
            raise ValueError(f"a cell is {len(keys)} key values and a window start, got {cell!r}")
        by_window.setdefault(int(cell[-1]), []).append(tuple(cell[:-1]))
    alternatives = [
        exp.and_(exp.EQ(this=column_ref("window_start"), expression=timestamp(start)), _any_key(keys, values))
        for start, values in sorted(by_window.items())
    ]
    condition: exp.Expr = exp.or_(*alternatives) if alternatives else exp.false()
    return _wrap(tree, None).where(condition, copy=False)


def union_all(trees: Sequence[exp.Query]) -> exp.Query:
    """`t1 UNION ALL t2 UNION ALL ...`, each branch a subquery so that its own CTEs stay its own."""
    if not trees:
        raise ValueError("union_all needs at least one query")
    branches: list[exp.Query] = [_wrap(t, None) for t in trees]
    combined = branches[0]
    for branch in branches[1:]:
        combined = exp.union(combined, branch, distinct=False)
    return combined


def literal(value: object) -> exp.Expr:
    """A Python value as a SQL literal node. Strings stay data whatever they hold."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return exp.null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, numbers.Integral):
        return exp.Literal.number(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            return exp.null()
        if math.isinf(value):
            return exp.cast(exp.Literal.string("Infinity" if value > 0 else "-Infinity"), "DOUBLE")
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give it a time zone (UTC)")
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        delta = value - epoch
        return timestamp((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    raise ValueError(f"cannot write {type(value).__name__} value {value!r} as a SQL literal")


# --- inside ---------------------------------------------------------------------------------------------

_ALIAS = "parity_q"


def column_ref(name: str) -> exp.Column:
    """A quoted column reference."""
    return exp.Column(this=exp.to_identifier(name, quoted=True))


def _wrap(tree: exp.Query, columns: Sequence[str] | None) -> exp.Select:
    projection = [column_ref(c) for c in columns] if columns is not None else [exp.Star()]
    return exp.select(*projection).from_(tree.subquery(_ALIAS))


def _any_key(keys: Sequence[str], tuples: list[tuple[object, ...]]) -> exp.Expr:
    if len(keys) == 1:
        present = sorted({v[0] for v in tuples if not _is_null(v[0])}, key=repr)
        options: list[exp.Expr] = []
        if present:
            options.append(exp.In(this=column_ref(keys[0]), expressions=[literal(v) for v in present]))
        if any(_is_null(v[0]) for v in tuples):
            options.append(exp.Is(this=column_ref(keys[0]), expression=exp.null()))
        return exp.paren(exp.or_(*options), copy=False) if len(options) > 1 else options[0]
    rows = [exp.and_(*(_key_equals(k, v) for k, v in zip(keys, values, strict=True))) for values in tuples]
    return exp.paren(exp.or_(*rows), copy=False)


def _key_equals(key: str, value: object) -> exp.Expr:
    if _is_null(value):
        return exp.Is(this=column_ref(key), expression=exp.null())
    return exp.EQ(this=column_ref(key), expression=literal(value))


def _is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def real_tables(tree: exp.Query) -> list[exp.Table]:
    """Table references that name real tables, not CTEs (scope resolution handles shadowing)."""
    tables: list[exp.Table] = []
    for scope in traverse_scope(tree):
        for table in scope.tables:
            if isinstance(scope.sources.get(table.alias_or_name), exp.Table):
                tables.append(table)
    return tables


def ctes_in(tree: exp.Expr) -> dict[str, exp.Query]:
    return {cte.alias_or_name.lower(): cte.this for cte in tree.find_all(exp.CTE)}


def _columns_of(query: exp.Expr, ctes: dict[str, exp.Query]) -> list[str]:
    if isinstance(query, exp.Subquery):
        return _columns_of(query.this, ctes)
    if isinstance(query, exp.SetOperation):
        return _columns_of(query.left, ctes)
    if not isinstance(query, exp.Select):
        return ["*"]
    names: list[str] = []
    for projection in query.expressions:
        star_of = star_table(projection)
        if star_of is None:
            names.append(projection.alias_or_name)
            continue
        for source in from_sources(query):
            if star_of and source.alias_or_name.lower() != star_of:
                continue
            if isinstance(source, exp.Table) and not source.db and source.name.lower() in ctes:
                names.extend(_columns_of(ctes[source.name.lower()], ctes))
            elif isinstance(source, exp.Subquery):
                names.extend(_columns_of(source.this, ctes))
            else:
                names.append("*")
    return names


def star_table(projection: exp.Expr) -> str | None:
    """None for a plain column; '' for `*`; the table name for `t.*`."""
    if isinstance(projection, exp.Star):
        return ""
    if isinstance(projection, exp.Column) and isinstance(projection.this, exp.Star):
        return projection.table.lower()
    return None


def from_sources(select: exp.Select) -> list[exp.Expr]:
    from_ = select.args.get("from_")
    sources = [from_.this] if from_ is not None else []
    return sources + [join.this for join in select.args.get("joins") or []]


def _shown(path: Path, project: Path) -> str:
    try:
        return str(path.resolve().relative_to(project.resolve()))
    except ValueError:
        return str(path)
