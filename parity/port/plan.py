"""The shape of an offline query -> what its streaming job computes (`Plan`), or the reasons it cannot be ported.

The shapes ported (CTEs or subqueries in FROM alike):

    [WITH events AS (SELECT [DISTINCT] col, ... FROM <source> [WHERE ...])]     -- optional: filter / dedupe
    SELECT <key expr> AS k, ..., window.start AS window_start, window.end AS window_end,
           <expression over aggregates and keys> AS v, ...
    FROM <source or events> [WHERE ...]
    GROUP BY <key expr | ordinal | select alias>, ..., window(event_time, 'size'[, 'slide'])
    [HAVING <COUNT/COUNT(DISTINCT)/MAX above a constant, MIN below one, keys; AND/OR>]
    [ORDER BY ...]                                                                 -- outermost only: dropped

optionally read by one outer `SELECT k, window_start, window_end, <expression over v, ...> AS w FROM (...)`.
Aggregates: COUNT(*), COUNT(x), COUNT(DISTINCT x), SUM, AVG, MIN, MAX, over int, double and decimal(p,s) columns
with Spark's result types (SUM of an int is an int; SUM of a decimal(p,s) a decimal of scale s, AVG one of s+4).
Everything else is refused, one line per construct naming it and why: a job that is silently wrong is worse
than no job.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Self

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import SqlglotError

from parity.errors import PortRefused
from parity.port.sqltypes import Column, Decimal, Py, Refused, Scope, SqlType, sql_of
from parity.port.translate import conjunction, truth, value
from parity.query import WINDOW_COLUMNS, ctes_in, parse_query, real_tables, window_call, window_durations

APPROX_DISTINCT = ("no exact streaming equivalent; port it as an exact distinct count or declare a tolerance")


class AggKind(enum.Enum):
    """An aggregate the port knows, and the CombineFn its job uses."""

    COUNT_ROWS = "count"
    COUNT = "parity.port.combine.Count"
    COUNT_DISTINCT = "parity.port.combine.CountDistinct"
    SUM = "parity.port.combine.Sum"
    AVG = "parity.port.combine.Mean"
    MIN = "parity.port.combine.Min"
    MAX = "parity.port.combine.Max"


@dataclass(frozen=True, slots=True)
class Aggregate:
    name: str  # the field the Combine step writes
    kind: AggKind
    argument: Py | None  # None for COUNT(*)
    sql: str


@dataclass(frozen=True, slots=True)
class Field:
    """One output field of a step: its name and its Python expression."""

    name: str
    py: Py


@dataclass(frozen=True, slots=True)
class Plan:
    source: str
    size_us: int
    slide_us: int
    filter: Py | None
    filter_sql: tuple[str, ...]  # the WHERE clauses it comes from, as written (inner query first)
    keys: tuple[Field, ...]
    distinct: tuple[str, ...] | None  # the columns of a SELECT DISTINCT that deduplicates events, or None
    aggregates: tuple[Aggregate, ...]
    values: tuple[Field, ...]  # over keys and aggregates
    outer: tuple[Field, ...] | None  # an outer SELECT's values over `values`, or None
    having: Py | None = None  # the HAVING condition over keys and aggregates (a Filter after the Combine), or None
    having_sql: str | None = None  # as written
    ordered_by: str | None = None  # the outermost ORDER BY, dropped (cells have no order)

    @property
    def outputs(self) -> tuple[Field, ...]:
        return self.outer if self.outer is not None else self.values


def sql_type(kind: pa.DataType) -> SqlType:
    """The port's type of an Arrow column type (the project's event schema, `parity.schema`)."""
    if pa.types.is_timestamp(kind):
        return SqlType.TIMESTAMP
    if pa.types.is_integer(kind):
        return SqlType.INT
    if pa.types.is_floating(kind):
        return SqlType.DOUBLE
    if pa.types.is_decimal(kind):
        return SqlType.DECIMAL
    if pa.types.is_boolean(kind):
        return SqlType.BOOLEAN
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return SqlType.STRING
    return SqlType.UNKNOWN


def source_scope(schema: pa.Schema | None) -> Scope:
    """The columns of the source with their types, from the project's event schema; None: every column is
    a nullable column of unknown type (a project whose events parity has not seen yet)."""
    if schema is None:
        return _UnknownScope()
    return {field.name: Column(sql_type(field.type), field.nullable, _decimal(field.type)) for field in schema}


def _decimal(kind: pa.DataType) -> Decimal | None:
    return Decimal(kind.precision, kind.scale) if pa.types.is_decimal(kind) else None


class _UnknownScope(dict[str, Column]):
    """Any column name reads a nullable column of unknown type (a source whose schema parity does not know)."""

    def get(self, key: str, default: Column | None = None) -> Column | None:  # type: ignore[override]
        return Column(SqlType.UNKNOWN, True)

    def __contains__(self, key: object) -> bool:
        return True


def plan_query(sql: str, path: str, source: str | None = None,
               schema_of: Callable[[str], pa.Schema | None] | None = None) -> Plan:
    """The plan of one offline query, or `PortRefused` listing every construct it cannot port.

    `source` is the event source the query reads; None: the one table it reads (a join is refused anyway).
    `schema_of(source)`: the source's columns (`parity.schema.event_schema`); None: columns of unknown type."""
    tree = parse_query(sql, path)
    refusals = _global_refusals(tree)
    if source is None:
        try:
            read = sorted({t.name for t in real_tables(tree)})
        except SqlglotError as exc:
            raise PortRefused(path, [f"cannot resolve the tables it reads: {str(exc).splitlines()[0]}"]) from exc
        source = read[0] if read else "ride_events"
    plan = None
    if not refusals:
        problems: list[Refused] = []
        try:
            columns = source_scope(schema_of(source) if schema_of is not None else None)
            plan = _plan(tree, source, columns, problems)
        except Refused as exc:
            problems.append(exc)
        refusals = [problem.describe() for problem in problems]
    if refusals or plan is None:
        raise PortRefused(path, list(dict.fromkeys(refusals)))
    return plan


class _Collect:
    """Runs one translation, keeping its refusal and carrying on, so that every construct is reported at once."""

    def __init__(self, problems: list[Refused]) -> None:
        self.problems = problems
        self.failed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> bool:
        if isinstance(error, Refused):
            self.problems.append(error)
            self.failed = True
            return True
        return False


# --- refusals found anywhere in the tree ----------------------------------------------------------------

_REFUSED_NODES: tuple[tuple[type[exp.Expr], str], ...] = (
    (exp.Join, "a join: parity ports one stream of one source; join in the pipeline by hand or port each side"),
    (exp.Window, "a window function (OVER): its result depends on other rows of the window; not ported"),
    (exp.Order, ("a stream emits cells, not an ordered table; remove it (an ORDER BY of the outermost query is "
                 "dropped, unless a LIMIT keeps its first rows)")),
    (exp.Limit, "a stream cannot keep the first rows of an unordered result; remove it"),
    (exp.SetOperation, "UNION/INTERSECT/EXCEPT: port each branch as its own feature"),
    (exp.ApproxDistinct, APPROX_DISTINCT),
    (exp.Quantile, "needs every value of the window; no exact streaming combine is ported"),
    (exp.ApproxQuantile, "a sketch; no streaming equivalent gives Spark's answer"),
    (exp.PercentileCont, "needs every value of the window; no exact streaming combine is ported"),
    (exp.PercentileDisc, "needs every value of the window; no exact streaming combine is ported"),
    (exp.ArrayAgg, "the order of a list is not defined across panes; not ported"),
    (exp.ArrayUniqueAgg, "a set value is not a feature column parity compares; not ported"),
    (exp.Lateral, "LATERAL VIEW / explode: not ported"),
    (exp.Explode, "explode: not ported"),
)


# What a SELECT, its GROUP BY and its tables may hold; anything else (TABLESAMPLE, PIVOT, WITH ROLLUP, QUALIFY,
# LATERAL VIEW, SORT BY, ...) changes what the query computes in ways the port does not model, and is refused.
_SELECT_PARTS = {"expressions", "from_", "where", "group", "distinct", "with_", "kind",
                 "joins", "having", "order", "limit", "sort", "laterals"}  # refused with their own reasons
_GROUP_PARTS = {"expressions", "rollup", "cube", "grouping_sets"}  # the last three: refused as grouping sets
_TABLE_PARTS = {"this", "db", "catalog", "alias"}


def _unmodelled(tree: exp.Query) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in tree.walk():
        if isinstance(node, exp.Select):
            allowed = _SELECT_PARTS
        elif isinstance(node, exp.Group):
            allowed = _GROUP_PARTS
        elif isinstance(node, exp.Table):
            allowed = _TABLE_PARTS
        else:
            continue
        for part, held in node.args.items():
            if held and part not in allowed:
                shown = " ".join(part.rstrip("_").upper().split("_"))
                found.append((_line_of(node), f"{_where_line(node)}{shown} in {sql_of(node)}: not ported"))
    for node in tree.walk():
        if isinstance(node, exp.Rollup | exp.Cube | exp.GroupingSets):
            found.append((_line_of(node), f"{_where_line(node)}{sql_of(node)}: grouping sets are not ported"))
        if isinstance(node, exp.Filter):
            why = "an aggregate FILTER clause is not ported; write the condition in a CASE inside the aggregate"
            found.append((_line_of(node), f"{_where_line(node)}{sql_of(node)}: {why}"))
    return found


def _line_of(node: exp.Expr) -> int:
    lines = [n.meta["line"] for n in node.walk() if "line" in n.meta]
    return min(lines) if lines else 0


def _where_line(node: exp.Expr) -> str:
    line = _line_of(node)
    return f"line {line}: " if line else ""


def _global_refusals(tree: exp.Query) -> list[str]:
    found: list[tuple[int, str]] = []
    for node in tree.walk():
        if isinstance(node, exp.Order) and isinstance(node.parent, exp.Window):
            continue  # the window function is refused; its ORDER BY is part of it
        if type(node) is exp.Order and node.parent is tree and tree.args.get("limit") is None:
            continue  # the result's order: a stream's cells have none, the check compares sets (see _order)
        if isinstance(node, exp.Having) and not (isinstance(node.parent, exp.Select) and window_call(node.parent)):
            why = "HAVING of a query not grouped by window(event_time, ...); not ported"
            found.append((_line_of(node), f"{_where_line(node)}{sql_of(node)}: {why}"))
        for kind, reason in _REFUSED_NODES:
            if isinstance(node, kind):
                shown = sql_of(node)
                if isinstance(node, exp.Join):
                    shown = f"JOIN {sql_of(node.this)}"
                if isinstance(node, exp.SetOperation):
                    shown = node.key.upper()
                found.append((_line_of(node), f"{_where_line(node)}{shown}: {reason}"))
                break
    found += _unmodelled(tree)
    aggregating = [s for s in tree.find_all(exp.Select) if window_call(s) is not None]
    for select in tree.find_all(exp.Select) if aggregating else ():
        if select in aggregating:
            continue
        for aggregate in select.find_all(exp.AggFunc):
            if _owner(aggregate) is select:
                why = "a subquery with its own aggregate (not grouped by window(event_time, ...)); not ported"
                found.append((_line_of(aggregate), f"{_where_line(aggregate)}{sql_of(aggregate)}: {why}"))
    if not aggregating:
        grouped = [s for s in tree.find_all(exp.Select) if s.args.get("group") is not None]
        if grouped:
            group = grouped[0].args["group"]
            grouping = ", ".join(sql_of(g) for g in group.expressions)
            why = "groups without window(event_time, ...); parity ports event-time windows only"
            items = [_unaliased(_projection_of(grouped[0], g) or g) for g in group.expressions]
            bucket = next((g for g in items if _time_bucket(g) is not None), None)
            if bucket is not None:
                why = (f"{sql_of(bucket)} buckets event time: group by window(event_time, '1 {_time_bucket(bucket)}') "
                       "and select window.start AS window_start, window.end AS window_end instead (the same UTC "
                       "buckets: parity's Spark session is UTC)")
            found.append((_line_of(group), f"{_where_line(group)}GROUP BY {grouping}: {why}"))
        elif not found:
            found.append((0, "query: has no GROUP BY window(event_time, ...); parity ports windowed aggregates"))
    elif len(aggregating) > 1:
        found.append((0, "query: groups by window(...) more than once; port each aggregation as its own feature"))
    return [text for _, text in sorted(found, key=lambda item: item[0])]


def _unaliased(node: exp.Expr) -> exp.Expr:
    return node.this if isinstance(node, exp.Alias) else node


def _time_bucket(node: exp.Expr) -> str | None:
    """The unit of `date_trunc('<unit>', event_time)` (an event-time bucket a window replaces), else None."""
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc) and isinstance(node.this, exp.Column) \
            and node.this.name.lower() == "event_time":
        unit = node.args.get("unit")
        word = (unit.name if isinstance(unit, exp.Var | exp.Literal) else "").lower()
        return word if word in ("second", "minute", "hour", "day", "week") else None
    return None


def _owner(node: exp.Expr) -> exp.Select | None:
    parent = node.parent
    while parent is not None and not isinstance(parent, exp.Select):
        parent = parent.parent
    return parent


# --- the shape ------------------------------------------------------------------------------------------------


def _plan(tree: exp.Query, source: str, columns: Scope, problems: list[Refused]) -> Plan:
    ctes = ctes_in(tree)
    select = next(s for s in tree.find_all(exp.Select) if window_call(s) is not None)
    call = window_call(select)
    assert call is not None
    if len(call.expressions) > 3:
        raise Refused(call, "a window start offset is not ported")
    event_time = call.expressions[0]
    if not (isinstance(event_time, exp.Column) and event_time.name.lower() == "event_time" and not event_time.table):
        raise Refused(call, "windows over a column other than event_time are not ported (the stream windows by it)")
    try:
        size_us, slide_us = window_durations(call)
    except ValueError as exc:
        raise Refused(call, str(exc)) from None

    scope, filters, distinct = _events(select, ctes, source, columns)
    wheres = [w.this for w in (_inner_where(select, ctes), select.args.get("where")) if w is not None]
    if (where := select.args.get("where")) is not None:
        with _Collect(problems):
            filters.append(truth(where.this, scope))
    keys = _keys(select, call, scope, problems)
    aggregates: dict[str, Aggregate] = {}
    values = _values(select, keys, scope, aggregates, problems)
    having = None
    if select.args.get("having") is not None:
        with _Collect(problems):
            having = _having(select, select.args["having"], keys, scope, aggregates, distinct)
    if problems:
        raise problems[0]
    outer = _outer(tree, select, keys, values, problems)
    dropped = _order(tree)
    if problems:
        raise problems[0]
    filter_py = conjunction(filters) if filters else None
    filter_sql = tuple(" ".join(sql_of(w).split()) for w in wheres)
    having_sql = " ".join(sql_of(select.args["having"].this).split()) if having is not None else None
    return Plan(source, size_us, slide_us, filter_py, filter_sql, keys, distinct, tuple(aggregates.values()), values,
                outer, having, having_sql, dropped)


def _order(tree: exp.Query) -> str | None:
    """The outermost ORDER BY, dropped: a stream's cells have no order and the check compares them as a set. Its
    ordinals must name output columns (Spark refuses the query otherwise)."""
    order = tree.args.get("order")
    if order is None:
        return None
    outputs = len(tree.expressions) if isinstance(tree, exp.Select) else 0
    for ordered in order.expressions:
        item = ordered.this if isinstance(ordered, exp.Ordered) else ordered
        if isinstance(item, exp.Literal) and item.is_int and not 1 <= int(item.this) <= outputs:
            raise Refused(ordered, f"ORDER BY position {item.this} is not in the select list (1 to {outputs})")
    return " ".join(sql_of(order).split())


# Aggregates that only grow (or only shrink) as a window's later panes add events: a HAVING that compares one with
# a per-cell constant, once true, stays true, so the last pane it lets through is the cell's final value.
_GROWING = (AggKind.COUNT_ROWS, AggKind.COUNT, AggKind.COUNT_DISTINCT, AggKind.MAX)
_BELOW: dict[type[exp.Binary], type[exp.Binary]] = {exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}


def _having(select: exp.Select, having: exp.Having, keys: tuple[Field, ...], scope: Scope,
            aggregates: dict[str, Aggregate], distinct: tuple[str, ...] | None) -> Py:
    """HAVING as a Filter after the Combine. A stream cannot withdraw a pane it has emitted, so only conditions a
    later pane cannot make false are ported: COUNT/COUNT(DISTINCT)/MAX above a constant, MIN below one, keys, and
    AND/OR of those. Select aliases of values read their aggregate (as Spark resolves them)."""
    if distinct is not None:
        raise Refused(having, "HAVING over deduplicated events (SELECT DISTINCT) is not ported")
    body = having.this.copy()
    key_names = {k.name for k in keys}
    named = {p.alias: p.this for p in select.expressions
             if isinstance(p, exp.Alias) and p.alias not in key_names and p.find(exp.AggFunc) is not None}
    for column in list(body.find_all(exp.Column)):
        if column.table or column.name not in named:
            continue
        if not isinstance(scope, _UnknownScope) and column.name in scope:
            raise Refused(column, f"{column.name} names both a column of the source and a select alias; write the "
                                  "aggregate itself in HAVING")
        replacement = named[column.name].copy()
        if column is body:
            body = replacement
        else:
            column.replace(replacement)
    refs = {}
    for node in list(body.find_all(exp.AggFunc)):
        refs[id(node)] = aggregates[_aggregate(node, scope, "having", aggregates, whole=False)]
    _monotone(body, refs)
    for node in list(body.find_all(exp.AggFunc)):
        field = exp.column(refs[id(node)].name)
        if node is body:
            body = field
        else:
            node.replace(field)
    try:
        return truth(body, _aggregate_scope(keys, aggregates))
    except Refused as exc:
        raise Refused(having.this, exc.reason) from None


def _monotone(node: exp.Expr, refs: dict[int, Aggregate]) -> None:
    """Refused unless a later pane (more events) cannot turn the condition from true to false."""
    while isinstance(node, exp.Paren):
        node = node.this
    if node.find(exp.AggFunc) is None:
        return  # keys and constants: the same in every pane of a cell
    if isinstance(node, exp.And | exp.Or):
        _monotone(node.this, refs)
        _monotone(node.expression, refs)
        return
    if isinstance(node, exp.GT | exp.GTE | exp.LT | exp.LTE):
        left, right = node.this, node.expression
        kind: type[exp.Binary] = type(node)
        while isinstance(left, exp.Paren):
            left = left.this
        while isinstance(right, exp.Paren):
            right = right.this
        if isinstance(right, exp.AggFunc) and left.find(exp.AggFunc) is None:
            left, right, kind = right, left, _BELOW[kind]
        if isinstance(left, exp.AggFunc) and right.find(exp.AggFunc) is None and id(left) in refs:
            grows = refs[id(left)].kind in _GROWING
            if (grows and kind in (exp.GT, exp.GTE)) or (refs[id(left)].kind is AggKind.MIN and kind in (exp.LT, exp.LTE)):
                return
    raise Refused(node, "a HAVING condition a later pane can make false (a stream cannot withdraw a cell it has "
                        "emitted); ported: COUNT, COUNT(DISTINCT) or MAX above a constant, MIN below one, AND/OR")


def _inner_where(select: exp.Select, ctes: dict[str, exp.Query]) -> exp.Where | None:
    """The WHERE of the CTE or subquery the aggregating SELECT reads, if it reads one."""
    from_ = select.args.get("from_")
    read = from_.this if from_ is not None else None
    inner = ctes.get(read.name.lower()) if isinstance(read, exp.Table) and not read.db else (
        read.this if isinstance(read, exp.Subquery) else None)
    where = inner.args.get("where") if isinstance(inner, exp.Select) else None
    return where if isinstance(where, exp.Where) else None


def _events(select: exp.Select, ctes: dict[str, exp.Query], source: str,
            columns: Scope) -> tuple[Scope, list[Py], tuple[str, ...] | None]:
    """What the aggregating SELECT reads: the source, or one CTE/subquery of it that filters or deduplicates."""
    from_ = select.args.get("from_")
    if from_ is None:
        raise Refused(select, "reads no table")
    read = from_.this
    if isinstance(read, exp.Table) and not read.db:
        name = read.name.lower()
        if name == source.lower() and name not in ctes:
            return columns, [], None
        if name in ctes:
            return _inner(ctes[name], source, columns)
        raise Refused(read, f"reads {read.name}, not the spec's source {source}")
    if isinstance(read, exp.Subquery) and isinstance(read.this, exp.Select):
        return _inner(read.this, source, columns)
    raise Refused(read, "not a table, CTE or subquery; not ported")


def _inner(inner: exp.Query, source: str, outer_scope: Scope) -> tuple[Scope, list[Py], tuple[str, ...] | None]:
    if not isinstance(inner, exp.Select):
        raise Refused(inner, "not a plain SELECT; not ported")
    tables = real_tables(inner)
    if len(tables) != 1 or tables[0].name.lower() != source.lower() or inner.args.get("group") is not None:
        raise Refused(inner, f"an inner query that is not a filter or SELECT DISTINCT over {source}; not ported")
    columns: list[str] = []
    scope: dict[str, Column] = {}
    for projection in inner.expressions:
        if not isinstance(projection, exp.Column) or projection.table:
            raise Refused(projection, "an inner query may only select columns of the source (no expressions)")
        column = outer_scope.get(projection.name)
        if column is None:
            raise Refused(projection, f"unknown column of {source}")
        columns.append(projection.name)
        scope[projection.name] = column
    distinct = inner.args.get("distinct")
    if distinct is not None and distinct.args.get("on") is not None:
        raise Refused(distinct, "DISTINCT ON is not ported")
    filters = [truth(inner.args["where"].this, outer_scope)] if inner.args.get("where") is not None else []
    return scope, filters, tuple(columns) if distinct is not None else None


def _keys(select: exp.Select, call: exp.Anonymous, scope: Scope, problems: list[Refused]) -> tuple[Field, ...]:
    grouped = [g for g in select.args["group"].expressions if g is not call]
    if not grouped:
        raise Refused(select.args["group"], "groups by the window only; parity features have at least one key")
    keys: list[Field] = []
    for group in grouped:
        projection = _projection_of(select, group)
        if projection is None:
            raise Refused(group, "grouped by but not selected; a key must be an output column")
        name = projection.alias_or_name
        if not name.isidentifier():
            raise Refused(projection, "key name is not an identifier")
        with _Collect(problems):
            keys.append(Field(name, value(_grouped_expression(group, projection, scope), scope)))
    return tuple(keys)


def _grouped_expression(group: exp.Expr, projection: exp.Expr, scope: Scope) -> exp.Expr:
    """What a GROUP BY item groups by: itself, or for an ordinal (`GROUP BY 1`) or a select alias
    (`GROUP BY geohash6`) the selected expression it names. Spark resolves a name to a source column before an
    alias: a name that is both (with a different expression) is refused rather than guessed."""
    inner = projection.this if isinstance(projection, exp.Alias) else projection
    if inner == group or _ordinal(group) is not None:
        return inner
    assert isinstance(group, exp.Column)
    if not isinstance(scope, _UnknownScope) and group.name in scope:
        raise Refused(group, f"GROUP BY {group.name} names both a column of the source and a select alias of "
                             "another expression; group by the expression itself")
    return inner


def _ordinal(group: exp.Expr) -> int | None:
    """`n` of `GROUP BY n` (1-based), or None."""
    if isinstance(group, exp.Literal) and group.is_int:
        return int(group.this)
    return None


def _projection_of(select: exp.Select, group: exp.Expr) -> exp.Expr | None:
    projection: exp.Expr
    if (ordinal := _ordinal(group)) is not None:
        return select.expressions[ordinal - 1] if 1 <= ordinal <= len(select.expressions) else None
    for projection in select.expressions:
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if inner == group:
            return projection
        if isinstance(group, exp.Column) and not group.table and projection.alias_or_name.lower() == group.name.lower() \
                and isinstance(projection, exp.Alias):
            return projection
    return None


def _window_projection(projection: exp.Expr) -> str | None:
    inner = projection.this if isinstance(projection, exp.Alias) else projection
    if isinstance(inner, exp.Column) and inner.table.lower() == "window" and inner.name.lower() in ("start", "end"):
        wanted = f"window_{inner.name.lower()}"
        if projection.alias_or_name.lower() != wanted:
            raise Refused(projection, f"name it {wanted}: parity reads the window from the window_start/window_end columns")
        return wanted
    return None


def _values(select: exp.Select, keys: tuple[Field, ...], scope: Scope, aggregates: dict[str, Aggregate],
            problems: list[Refused]) -> tuple[Field, ...]:
    key_names = {k.name for k in keys}
    grouped = [_projection_of(select, g) for g in select.args["group"].expressions]  # keys, also those refused
    key_names |= {p.alias_or_name for p in grouped if p is not None}
    seen_window: set[str] = set()
    values: list[Field] = []
    for projection in select.expressions:
        window = _window_projection(projection)
        if window is not None:
            seen_window.add(window)
            continue
        if projection.alias_or_name in key_names and projection.find(exp.AggFunc) is None:
            continue  # a key: its expression is the GROUP BY's
        with _Collect(problems):
            values.append(_value(projection, keys, scope, aggregates))
    missing = [c for c in WINDOW_COLUMNS if c not in seen_window]
    if missing:
        raise Refused(select, f"select window.start AS window_start, window.end AS window_end (missing {', '.join(missing)})")
    if not values and not problems:
        raise Refused(select, "computes no value; select at least one aggregate")
    return tuple(values)


def _value(projection: exp.Expr, keys: tuple[Field, ...], scope: Scope, aggregates: dict[str, Aggregate]) -> Field:
    """One value column of the aggregating SELECT: its aggregates become Combine fields, the rest reads them."""
    if isinstance(projection, exp.Star):
        raise Refused(projection, "SELECT * is not ported; name the output columns")
    if projection.find(exp.AggFunc) is None:
        raise Refused(projection, "neither a key, the window nor an aggregate")
    if not isinstance(projection, exp.Alias) or not projection.alias.isidentifier():
        raise Refused(projection, "name every value: <expression> AS name")
    body = projection.this.copy()
    for node in list(body.find_all(exp.AggFunc)):
        if node.find_ancestor(exp.AggFunc) is not None:
            raise Refused(node, "an aggregate inside an aggregate is not ported")
        field = _aggregate(node, scope, projection.alias, aggregates, whole=node is body)
        if node is body:
            body = exp.column(field)
        else:
            node.replace(exp.column(field))
    try:
        return Field(projection.alias, value(body, _aggregate_scope(keys, aggregates)))
    except Refused as exc:  # name the expression as written (its aggregates are fields by now) and its line
        raise Refused(projection.this, exc.reason) from None


def _aggregate_scope(keys: tuple[Field, ...], aggregates: dict[str, Aggregate]) -> dict[str, Column]:
    scope = {k.name: Column(k.py.type, k.py.nullable, k.py.decimal) for k in keys}
    for aggregate in aggregates.values():
        scope[aggregate.name] = aggregate_column(aggregate)
    return scope


def aggregate_column(aggregate: Aggregate) -> Column:
    if aggregate.kind in (AggKind.COUNT_ROWS, AggKind.COUNT, AggKind.COUNT_DISTINCT):
        return Column(SqlType.INT, False)
    assert aggregate.argument is not None
    decimal = aggregate.argument.decimal
    if aggregate.kind is AggKind.AVG:
        if decimal is not None:  # Spark: avg(decimal(p,s)) is decimal(p+4, s+4), at most 38 digits
            return Column(SqlType.DECIMAL, True, Decimal(min(38, decimal.precision + 4), min(38, decimal.scale + 4)))
        return Column(SqlType.DOUBLE, True)
    if aggregate.kind is AggKind.SUM and decimal is not None:  # Spark: sum(decimal(p,s)) is decimal(p+10, s)
        return Column(SqlType.DECIMAL, True, Decimal(min(38, decimal.precision + 10), decimal.scale))
    return Column(aggregate.argument.type, True, decimal)


_AGGREGATES: dict[type[exp.Expr], AggKind] = {
    exp.Sum: AggKind.SUM, exp.Avg: AggKind.AVG, exp.Min: AggKind.MIN, exp.Max: AggKind.MAX,
}


def _aggregate(node: exp.AggFunc, scope: Scope, alias: str, aggregates: dict[str, Aggregate], whole: bool) -> str:
    shown = sql_of(node)
    for existing in aggregates.values():
        if existing.sql == shown:
            return existing.name
    argument_node = node.this
    if isinstance(node, exp.Count):
        if node.expressions:
            raise Refused(node, "COUNT of several columns is not ported")
        if isinstance(argument_node, exp.Star):
            kind, argument = AggKind.COUNT_ROWS, None
        elif isinstance(argument_node, exp.Distinct):
            if len(argument_node.expressions) != 1:
                raise Refused(node, "COUNT(DISTINCT a, b) is not ported; count one column")
            kind, argument = AggKind.COUNT_DISTINCT, value(argument_node.expressions[0], scope)
        else:
            argument = value(argument_node, scope)
            kind = AggKind.COUNT_ROWS if not argument.nullable and not argument.names else AggKind.COUNT
            argument = None if kind is AggKind.COUNT_ROWS else argument
    elif type(node) in _AGGREGATES:
        if isinstance(argument_node, exp.Distinct):
            raise Refused(node, "an aggregate of DISTINCT values other than COUNT is not ported")
        if node.expressions:
            raise Refused(node, "takes one argument here")
        kind = _AGGREGATES[type(node)]
        argument = value(argument_node, scope)
        if kind in (AggKind.SUM, AggKind.AVG) and argument.type not in (SqlType.INT, SqlType.DOUBLE) \
                and argument.decimal is None:
            raise Refused(node, f"{kind.name} of a {argument.type.value} column; Spark casts it, write an explicit CAST")
        if kind in (AggKind.MIN, AggKind.MAX) and argument.type is SqlType.UNKNOWN:
            raise Refused(node, "MIN/MAX over a column of unknown type")
    else:
        raise Refused(node, f"aggregate {node.sql_name().lower()}() has no exact streaming combine in the port")
    name = alias
    if not whole or name in aggregates:
        argument_name = argument.names[0] if argument is not None and len(argument.names) == 1 else "rows"
        name = f"{kind.name.lower().removesuffix('_rows')}_{argument_name}"
        if name in aggregates:
            name = f"{name}_{len(aggregates)}"
    aggregate = Aggregate(name, kind, argument, shown)
    aggregates[name] = aggregate
    return name


def _outer(tree: exp.Query, select: exp.Select, keys: tuple[Field, ...], values: tuple[Field, ...],
           problems: list[Refused]) -> tuple[Field, ...] | None:
    if tree is select:
        return None
    outer = tree if isinstance(tree, exp.Select) else None
    if outer is None:
        raise Refused(tree, "the outermost query is not a SELECT; not ported")
    from_ = outer.args.get("from_")
    read = from_.this if from_ is not None else None
    reads_select = isinstance(read, exp.Subquery) and read.this is select
    if isinstance(read, exp.Table):
        cte = ctes_in(tree).get(read.name.lower())
        reads_select = cte is select
    if not reads_select:
        raise Refused(outer, "the outermost SELECT must read the aggregating query directly; not ported")
    if outer.args.get("where") is not None:
        raise Refused(outer.args["where"], "a filter over aggregates drops cells that later panes may bring back; "
                                           "not ported")
    if outer.args.get("group") is not None or outer.args.get("distinct") is not None:
        raise Refused(outer, "the outer SELECT groups or deduplicates again; not ported")
    scope = {k.name: Column(k.py.type, k.py.nullable, k.py.decimal) for k in keys}
    scope.update({v.name: Column(v.py.type, v.py.nullable, v.py.decimal) for v in values})
    key_names = {k.name for k in keys}
    seen: set[str] = set()
    fields: list[Field] = []
    for projection in outer.expressions:
        name = projection.alias_or_name
        inner = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(inner, exp.Column) and inner.name in (*key_names, *WINDOW_COLUMNS):
            if name != inner.name:
                raise Refused(projection, "renames a key or window column; keep its name")
            seen.add(name)
            continue
        if isinstance(projection, exp.Star) or not name.isidentifier():
            raise Refused(projection, "name every output column: <expression> AS name")
        with _Collect(problems):
            fields.append(Field(name, value(inner, scope)))
    missing = [c for c in (*key_names, *WINDOW_COLUMNS) if c not in seen]
    if missing:
        raise Refused(outer, f"drops {', '.join(missing)}; the outer SELECT must keep the keys and the window")
    if not fields:
        raise Refused(outer, "selects no value")
    return tuple(fields)
