"""The late-arrival recompute's rewrites: each window's in-time events copied and moved apart in event time.

`offline._restricted_by_copies` recomputes cells of many windows, each with its own arrival cutoff, in one
Spark query: every window gets a copy of its in-time events moved far from the others (`shifted_copies`), the
query made tumbling (`tumbling_windows`) so that each copy fills one window, and each moved window is moved
back. `windows_only_read_event_time` says when moving `event_time` is harmless. With a geohash key a copy is
one window and one cell of the geohash grid (`Grid`); phase branches filter events by cell boxes
(`inside_boxes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from parity.query import (
    EVENT_TIME,
    WINDOW_COLUMNS,
    column_ref,
    literal,
    reads_source_once,
    real_tables,
    timestamp,
)

# A shifted copy of events: event_time lo, hi, ingest_time cutoff, shift, all microseconds (`shifted_copies`);
# with a grid, then the row and column of the one grid cell whose events it holds.
EventCopy = tuple[int, ...]
COPY_COLUMNS = ("lo", "hi", "cutoff", "shift")
GRID_COLUMNS = ("grid_row", "grid_column")


def windows_only_read_event_time(tree: exp.Query, source: str) -> bool:
    """Whether moving every event's `event_time` by a multiple of the window grid moves each output row's
    window by as much and changes nothing else, which `shifted_copies` relies on. It holds when:

    - the source is read once, and so is every CTE that reads it (a CTE joined to itself would join copies);
    - no window function, no LIMIT (`ROW_NUMBER() OVER (PARTITION BY event_id ...)` would keep one copy of an
      event that several windows each need);
    - `event_time` is read only as the first argument of `window(...)`, or passed on as itself by a SELECT,
      and is not a name given to anything else (`ingest_time AS event_time`, `USING (event_time)`);
    - the window is only projected as it is (`window.start AS window_start`, `window_start` passed on or
      grouped by), never computed with (`hour(window.start)`, `window_time(window)`, a HAVING on it).

    False only costs speed: the restricted recompute then takes a branch per window phase.
    """
    if not reads_source_once(tree, source) or tree.find(exp.Window, exp.Limit) is not None:
        return False
    calls = [call for call in tree.find_all(exp.Anonymous) if call.name.lower() == "window"]
    if not calls or not all(_is_event_time(call.expressions[0]) for call in calls if call.expressions):
        return False
    for identifier in tree.find_all(exp.Identifier):
        if identifier.name.lower() == EVENT_TIME and not isinstance(identifier.parent, exp.Column):
            return False
    for column in tree.find_all(exp.Column):
        name, table = column.name.lower(), column.table.lower()
        if name == EVENT_TIME:
            parent = column.parent
            windowed = (
                isinstance(parent, exp.Anonymous) and parent.name.lower() == "window" and parent.expressions[0] is column
            )
            if not (windowed or _projected(column)):
                return False
        elif (table == "window" or name in ("window", *WINDOW_COLUMNS)) and not (
            _projected(column) or isinstance(column.parent, exp.Group)
        ):
            return False
    return True


def _is_event_time(node: exp.Expr) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() == EVENT_TIME


def _projected(column: exp.Column) -> bool:
    """A SELECT item as it is, aliased or not."""
    parent = column.parent
    if isinstance(parent, exp.Alias):
        column, parent = parent, parent.parent  # type: ignore[assignment]
    return isinstance(parent, exp.Select) and column in parent.expressions


def tumbling_windows(tree: exp.Query, size_us: int) -> exp.Query | None:
    """The query with every `window(event_time, size, slide[, start])` made `window(event_time, size)`.

    None unless every window() call's size is a literal interval of `size_us` (`'5 minutes'`, `'1 hour'`).
    Over events that each lie in one size-aligned window (what `shifted_copies` makes), the tumbling query
    gives the same rows as the sliding one without the windows no copy fills.
    """
    rewritten = tree.copy()
    calls = [call for call in rewritten.find_all(exp.Anonymous) if call.name.lower() == "window"]
    if not calls:
        return None
    for call in calls:
        if len(call.expressions) < 2 or _interval_us(call.expressions[1]) != size_us:
            return None
        call.set("expressions", call.expressions[:2])
    return rewritten


_INTERVAL_UNITS = {
    "microsecond": 1, "millisecond": 1_000, "second": 1_000_000, "minute": 60_000_000, "hour": 3_600_000_000,
    "day": 86_400_000_000, "week": 604_800_000_000,
}


def _interval_us(node: exp.Expr) -> int | None:
    """A window duration literal such as `'5 minutes'` in microseconds; None for anything else."""
    if not (isinstance(node, exp.Literal) and node.is_string):
        return None
    words = node.this.lower().split()
    if len(words) % 2:
        return None
    total = 0
    for count, unit in zip(words[::2], words[1::2], strict=True):
        factor = _INTERVAL_UNITS.get(unit.removesuffix("s"))
        if factor is None or not count.isdigit():
            return None
        total += int(count) * factor
    return total


@dataclass(frozen=True, slots=True)
class Grid:
    """A regular latitude/longitude grid: an event is in row `floor((lat + 90) / lat_step)` and column
    `floor((lon + 180) / lon_step)`, computed by Spark natively (`parity.geo.grid_cell` gives a geohash cell's)."""

    lat: str
    lon: str
    lat_step: float
    lon_step: float

    # Within this share of a cell of a grid line, an event's computed cell may be its neighbour's: rounding of
    # `lat + 90` is below 1e-13 degrees, a thousandth of this band even for a precision-12 cell.
    EDGE_BAND = 1e-6


def shifted_copies(
    tree: exp.Query,
    source: str,
    events: str,
    columns: Sequence[str],
    copies: str,
    span: tuple[int, int],
    grid: Grid | None = None,
) -> exp.Query:
    """Replace the one reference to `source` with copies of the events of the table (or view) `events`.

    Each row `(lo, hi, cutoff, shift)` of the table (or view) `copies` is a copy holding the events with
    `lo <= event_time < hi` and `ingest_time < cutoff`, their `event_time` moved by `shift` (all microseconds,
    BIGINT). `span` is `(min lo, max hi)`, constants for the scan. `columns` are the source's columns,
    `event_time` among them. Copies of one event are joined rows of one scan, not a UNION. With a `grid`, a
    copy also has `grid_row` and `grid_column` and holds only the events of that grid cell: the join is then an
    equi-join on the cell, and an event gets at most one copy per shift as long as no two copies share a shift
    and a cell. The copies are a table rather than SQL literals: thousands of them would make a query text that
    takes seconds to build.
    """
    rewritten = tree.copy()
    found = [t for t in real_tables(rewritten) if t.name.lower() == source.lower()]
    if len(found) != 1:
        raise ValueError(f"the query reads the source {source!r} {len(found)} times; shifted copies need once")
    event, copy = "parity_e", "parity_c"

    def at(table: str, name: str) -> exp.Column:
        return exp.column(name, table=table, quoted=True)

    def micros(name: str) -> exp.Expr:
        return exp.UnixToTime(this=at(copy, name), scale=exp.UnixToTime.MICROS)

    moved = exp.UnixToTime(
        this=exp.Add(this=exp.UnixMicros(this=at(event, EVENT_TIME)), expression=at(copy, "shift")),
        scale=exp.UnixToTime.MICROS,
    )
    projection: list[exp.Expr] = [
        exp.alias_(moved, EVENT_TIME) if name.lower() == EVENT_TIME else at(event, name) for name in columns
    ]
    timely: list[exp.Expr] = [
        exp.GTE(this=at(event, EVENT_TIME), expression=micros("lo")),
        exp.LT(this=at(event, EVENT_TIME), expression=micros("hi")),
        exp.LT(this=at(event, "ingest_time"), expression=micros("cutoff")),
    ]
    scanned = exp.and_(  # the whole span as constants, so that the Parquet scan can skip row groups
        exp.GTE(this=at(event, EVENT_TIME), expression=timestamp(span[0])),
        exp.LT(this=at(event, EVENT_TIME), expression=timestamp(span[1])),
    )

    def copied(table: exp.Expr, on: list[exp.Expr], where: exp.Expr) -> exp.Select:
        return exp.select(*projection).from_(exp.to_table(events).as_(event)).join(table, on=exp.and_(*on)).where(where)

    if grid is None:
        narrowed: exp.Query = copied(exp.to_table(copies).as_(copy), timely, scanned)
    else:
        positions = [
            exp.Div(  # in doubles, as the geohash UDF gets them: a FLOAT column's own arithmetic rounds too coarsely
                this=exp.paren(exp.Add(
                    this=exp.cast(at(event, column), exp.DataType.Type.DOUBLE), expression=exp.Literal.number(offset)
                )),
                expression=literal(step),
            )
            for column, offset, step in ((grid.lat, 90, grid.lat_step), (grid.lon, 180, grid.lon_step))
        ]
        cells: list[exp.Expr] = [
            exp.EQ(this=exp.Floor(this=position), expression=at(copy, name))
            for position, name in zip(positions, GRID_COLUMNS, strict=True)
        ]
        near_edge = exp.or_(*(
            exp.or_(
                exp.LT(this=exp.Sub(this=position.copy(), expression=exp.Floor(this=position.copy())),
                       expression=literal(Grid.EDGE_BAND)),
                exp.GT(this=exp.Sub(this=position.copy(), expression=exp.Floor(this=position.copy())),
                       expression=literal(1 - Grid.EDGE_BAND)),
            )
            for position in positions
        ))
        # An event on (or within rounding of) a grid line may belong to the cell on either side: it is copied into
        # every copy of its window instead (a superset: the query's own geohash decides), once per window.
        windows = exp.select(*COPY_COLUMNS).distinct().from_(exp.to_table(copies)).subquery(copy)
        narrowed = exp.union(
            copied(exp.to_table(copies).as_(copy), [*cells, *timely], exp.and_(scanned, exp.not_(near_edge))),
            copied(windows, timely, exp.and_(scanned, near_edge)),
            distinct=False,
        )
    found[0].replace(narrowed.subquery(exp.TableAlias(this=exp.to_identifier(found[0].alias_or_name))))
    return rewritten


def inside_boxes(lat: str, lon: str, boxes: Sequence[tuple[float, float, float, float]]) -> exp.Expr:
    """`(lat BETWEEN .. AND lon BETWEEN ..) OR ...` over closed `(min_lat, min_lon, max_lat, max_lon)` boxes;
    FALSE for none. A null or NaN coordinate is inside no box."""
    inside = [
        exp.and_(
            exp.Between(this=column_ref(lat), low=literal(min_lat), high=literal(max_lat)),
            exp.Between(this=column_ref(lon), low=literal(min_lon), high=literal(max_lon)),
        )
        for min_lat, min_lon, max_lat, max_lon in boxes
    ]
    return exp.or_(*inside) if inside else exp.false()
