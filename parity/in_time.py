"""In-time values in the recompute's one pass: what the stream could have seen, beside what happened.

In a query that groups by `window(event_time, ...)`, an aggregate's argument may read `window.end`, and with
sliding windows each window applies its own. So for an allowed lateness L, each value the query computes gets
a copy in which every aggregate only sees the events that arrived before their window's arrival cutoff
(`parity.watermark.arrival_cutoff_us`: `ingest_time < window_end + L + one tick`):

    COUNT(*)            -> COUNT(CASE WHEN c THEN 1 END)
    COUNT(DISTINCT x)   -> COUNT(DISTINCT CASE WHEN c THEN x END)
    AGG(x)              -> AGG(CASE WHEN c THEN x END)         (SUM, AVG, MIN, MAX, ... ignore nulls)

Expressions over aggregates keep their shape; projections over the aggregating query (a CTE read by an outer
SELECT) are repeated over the in-time columns; a CTE or subquery that deduplicates events (`SELECT DISTINCT`
or a GROUP BY without aggregates) and drops `ingest_time` carries `MIN(ingest_time)`: a duplicated event counts
from its first delivery, as in a stream that deduplicates. Each lateness also gets an in-time event count: a
cell with none is absent from the stream, not zero.

`in_time_query` returns None for what it cannot prove right (the window in one query and the aggregate in
another, joins, window functions, HAVING, order-sensitive or multi-argument aggregates): the check then
recomputes late cells per window phase instead (`offline.recompute_restricted`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from sqlglot import exp

from parity.query import EVENT_TIME, column_ref, ctes_in, from_sources, real_tables, star_table, window_call
from parity.units import format_duration
from parity.watermark import arrival_cutoff_us

INGEST_TIME = "ingest_time"
EVENTS = "_events"
# Aggregates that ignore nulls and do not depend on row order: `AGG(CASE WHEN c THEN x END)` is AGG over the
# in-time rows. (COUNT is handled on its own: COUNT(*) counts rows, nulls included.)
_NULL_IGNORING = (
    exp.Sum, exp.Avg, exp.Min, exp.Max, exp.Stddev, exp.StddevPop, exp.StddevSamp, exp.Variance,
    exp.VariancePop, exp.ApproxDistinct,
)


@dataclass(frozen=True, slots=True)
class InTime:
    """A query that also returns, for each allowed lateness, every value from only the in-time events.

    Column names: `<value>__in_time_<k>` and `_events__in_time_<k>` for `lateness_us[k]`.
    """

    tree: exp.Query
    lateness_us: tuple[int, ...]

    def columns(self, values: Sequence[str]) -> list[str]:
        return [name for k in range(len(self.lateness_us)) for name in (*self.value_columns(values, k), events_column(k))]

    @staticmethod
    def value_columns(values: Sequence[str], k: int) -> list[str]:
        return [in_time_column(value, k) for value in values]

    def label(self, k: int) -> str:
        return format_duration(self.lateness_us[k])


def in_time_column(name: str, k: int) -> str:
    return f"{name}__in_time_{k}"


def events_column(k: int) -> str:
    return in_time_column(EVENTS, k)


def in_time_query(tree: exp.Query, source: str, lateness_us: Sequence[int]) -> InTime | None:
    """The query with in-time columns for each allowed lateness, or None when the rewrite cannot be proven."""
    rewritten = tree.copy()
    if rewritten.find(exp.Window) is not None:
        return None  # a window function may read the aggregates (or rank events): not a per-row condition
    aggregating = [s for s in rewritten.find_all(exp.Select) if window_call(s) is not None]
    if len(aggregating) != 1:
        return None
    select = aggregating[0]
    if select.args.get("having") is not None or select.args.get("joins") or not _events_below(select, rewritten, source):
        return None
    added: dict[str, list[str]] = {}  # an aggregated output column -> its in-time copies, one per lateness
    projections = list(select.expressions)
    for projection in projections:
        if projection.find(exp.AggFunc) is None:
            continue
        if not isinstance(projection, exp.Alias):
            return None  # an unnamed aggregate cannot be read by name above
        copies = []
        for k, lateness in enumerate(lateness_us):
            copy = _conditional(projection.this, _arrived(lateness))
            if copy is None:
                return None
            name = in_time_column(projection.alias, k)
            select.select(exp.alias_(copy, name, quoted=True), append=True, copy=False)
            copies.append(name)
        added[projection.alias.lower()] = copies
    if not added:
        return None
    for k, lateness in enumerate(lateness_us):
        count = exp.Count(this=exp.Case().when(_arrived(lateness), exp.Literal.number(1)))
        select.select(exp.alias_(count, events_column(k), quoted=True), append=True, copy=False)
    if not _carry_upwards(select, rewritten, added, len(lateness_us)):
        return None
    return InTime(rewritten, tuple(lateness_us))


def _arrived(lateness_us: int) -> exp.LT:
    """`ingest_time < TIMESTAMP_MICROS(UNIX_MICROS(window.end) + lateness + tick)`: the replay's cutoff, exactly."""
    margin = arrival_cutoff_us(0, lateness_us)
    cutoff = exp.Anonymous(
        this="timestamp_micros",
        expressions=[exp.Add(this=exp.UnixMicros(this=exp.column("end", table="window")),
                             expression=exp.Literal.number(margin))],
    )
    return exp.LT(this=exp.column(INGEST_TIME), expression=cutoff)


def _conditional(expression: exp.Expr, arrived: exp.LT) -> exp.Expr | None:
    """`expression` with each aggregate's argument kept only for in-time rows; None for an unsupported aggregate."""
    copy = expression.copy()
    for aggregate in list(copy.find_all(exp.AggFunc)):
        if aggregate.find_ancestor(exp.AggFunc) is not None:
            return None  # an aggregate inside an aggregate's argument
        rewritten = _conditional_aggregate(aggregate, arrived)
        if rewritten is None:
            return None
        if aggregate is copy:
            copy = rewritten
        else:
            aggregate.replace(rewritten)
    return copy


def _conditional_aggregate(aggregate: exp.AggFunc, arrived: exp.LT) -> exp.Expr | None:
    argument = aggregate.this
    if isinstance(aggregate, exp.Count):
        if isinstance(argument, exp.Star) or argument is None:
            return exp.Count(this=_when(arrived, exp.Literal.number(1)), big_int=aggregate.args.get("big_int"))
        if isinstance(argument, exp.Distinct):
            if len(argument.expressions) != 1:
                return None  # COUNT(DISTINCT a, b) skips rows where any is null: not one CASE
            distinct = exp.Distinct(expressions=[_when(arrived, argument.expressions[0])])
            return exp.Count(this=distinct, big_int=aggregate.args.get("big_int"))
        return exp.Count(this=_when(arrived, argument), big_int=aggregate.args.get("big_int"))
    if not isinstance(aggregate, _NULL_IGNORING) or argument is None:
        return None  # FIRST, COLLECT_LIST, PERCENTILE, COUNT_IF, ...: order-sensitive or not a plain argument
    if isinstance(argument, exp.Distinct):
        if len(argument.expressions) != 1:
            return None
        replaced = aggregate.copy()
        replaced.set("this", exp.Distinct(expressions=[_when(arrived, argument.expressions[0])]))
        return replaced
    if any(v for k, v in aggregate.args.items() if k != "this"):
        return None  # extra arguments (an accuracy, a separator) would need their own review
    replaced = aggregate.copy()
    replaced.set("this", _when(arrived, argument))
    return replaced


def _when(arrived: exp.Expr, value: exp.Expr) -> exp.Case:
    return exp.Case().when(arrived.copy(), value.copy())


# --- where the events come from ---------------------------------------------------------------------------


def _events_below(select: exp.Select, tree: exp.Query, source: str) -> bool:
    """Whether the aggregating SELECT reads events with their `ingest_time`: the source itself, or one CTE or
    subquery over it that keeps each event a row (made to carry `MIN(ingest_time)` when it deduplicates)."""
    sources = from_sources(select)
    if len(sources) != 1:
        return False
    below = sources[0]
    real = {id(t) for t in real_tables(tree)}
    if isinstance(below, exp.Table) and id(below) in real:
        return below.name.lower() == source.lower()
    inner: exp.Expr | None = None
    if isinstance(below, exp.Subquery):
        inner = below.this
    elif isinstance(below, exp.Table) and not below.db:
        inner = ctes_in(tree).get(below.name.lower())
        if inner is not None and _references(tree, below.name) != 1:
            return False  # a CTE read twice would carry its changes into the other reader too
    if not isinstance(inner, exp.Select):
        return False
    inner_sources = from_sources(inner)
    if (len(inner_sources) != 1 or not isinstance(inner_sources[0], exp.Table) or id(inner_sources[0]) not in real
            or inner_sources[0].name.lower() != source.lower() or inner.args.get("having") is not None):
        return False
    return _carry_ingest_time(inner)


def _carry_ingest_time(events: exp.Select) -> bool:
    if any(star_table(p) is not None for p in events.expressions):
        return events.args.get("group") is None and not events.args.get("distinct")
    names = {p.alias_or_name.lower() for p in events.expressions}
    if events.find(exp.AggFunc) is not None or EVENT_TIME not in names:
        return False
    if INGEST_TIME in names:
        return events.args.get("group") is None and not events.args.get("distinct")
    first = exp.alias_(exp.Min(this=exp.column(INGEST_TIME)), INGEST_TIME)
    if events.args.get("distinct"):
        # SELECT DISTINCT cols  ==  SELECT cols GROUP BY cols: each event once, from its first delivery.
        if events.args["distinct"].args.get("on") is not None:
            return False
        events.set("distinct", None)
        events.set("group", exp.Group(expressions=[p.unalias().copy() for p in events.expressions]))
        events.select(first, append=True, copy=False)
    elif events.args.get("group") is not None:
        events.select(first, append=True, copy=False)
    else:
        events.select(exp.column(INGEST_TIME), append=True, copy=False)
    return True


def _references(tree: exp.Query, name: str) -> int:
    return sum(1 for t in tree.find_all(exp.Table) if not t.db and t.name.lower() == name.lower())


# --- projections above the aggregation ----------------------------------------------------------------------


def _carry_upwards(select: exp.Select, tree: exp.Query, added: dict[str, list[str]], cutoffs: int) -> bool:
    """Repeat every projection above `select` that reads an aggregated column over its in-time copies."""
    current: exp.Expr = select
    while True:
        reader = _reader(current, tree)
        if reader is None:
            return current is tree
        if (reader.args.get("group") is not None or reader.args.get("joins") or reader.args.get("having") is not None
                or any(p.find(exp.AggFunc) for p in reader.expressions) or len(from_sources(reader)) != 1):
            return False
        where = reader.args.get("where")
        if where is not None and any(c.name.lower() in added for c in where.find_all(exp.Column)):
            return False  # a filter on a value decides which cells exist: not a per-column copy
        if any(star_table(p) is not None for p in reader.expressions):
            passed = dict(added)  # SELECT * passes every column on, the in-time ones included
        else:
            passed = {}
            for projection in list(reader.expressions):
                read = [c for c in projection.find_all(exp.Column) if c.name.lower() in added]
                if not read:
                    continue
                if not isinstance(projection, exp.Alias) and not isinstance(projection, exp.Column):
                    return False
                copies = []
                for k in range(cutoffs):
                    copy = projection.unalias().transform(partial(_renamed, added=added, k=k))
                    name = in_time_column(projection.alias_or_name, k)
                    reader.select(exp.alias_(copy, name, quoted=True), append=True, copy=False)
                    copies.append(name)
                passed[projection.alias_or_name.lower()] = copies
            for k in range(cutoffs):
                reader.select(column_ref(events_column(k)), append=True, copy=False)
        added = passed
        current = reader


def _renamed(node: exp.Expr, added: dict[str, list[str]], k: int) -> exp.Expr:
    if isinstance(node, exp.Column) and node.name.lower() in added:
        return column_ref(added[node.name.lower()][k])
    return node


def _reader(query: exp.Expr, tree: exp.Query) -> exp.Select | None:
    """The SELECT that reads `query`'s rows (as a subquery in its FROM, or as a CTE it names), if any."""
    parent = query.parent
    if isinstance(parent, exp.Subquery):
        reader = parent.parent.parent if isinstance(parent.parent, exp.From) else None
        return reader if isinstance(reader, exp.Select) else None
    if isinstance(parent, exp.CTE):
        name = parent.alias_or_name.lower()
        readers = [t for t in tree.find_all(exp.Table) if not t.db and t.name.lower() == name]
        if len(readers) != 1 or not isinstance(readers[0].parent, exp.From):
            return None
        reader = readers[0].parent.parent
        return reader if isinstance(reader, exp.Select) else None
    return None
