"""Lineage of a query's output columns: what a key is computed from, traced through the SQL with sqlglot.

The late-data attribution narrows the events it recomputes to the cells it needs, which is only sound when each
output row of a cell is computed from events of that cell alone. `geohash_key` proves that for the common shape
(a key that is `geohash(lat, lon, p)` of each event, grouped by) and gives up on anything else.
"""

from __future__ import annotations

from sqlglot import exp

from parity.query import ctes_in, from_sources, reads_source_once, star_table


def geohash_key(tree: exp.Query, source: str, key: str) -> tuple[str, str, int] | None:
    """`(lat, lon, precision)` when every output row's `key` is `geohash(lat, lon, precision)` of each source
    row it is computed from, with `lat` and `lon` columns of the source; None otherwise.

    Then a row of a cell lies inside the cell's bounding box, so keeping only the source rows inside the boxes of
    some cells changes no row of those cells (what the attribution's prefilter relies on). It holds when the
    source is read once, nothing joins, unions, limits or uses a window function, and from the output down to
    the source the key is passed on as a column and grouped by wherever a SELECT aggregates, down to a
    `geohash(<column>, <column>, <integer>)` whose columns are passed on unchanged from the source.
    """
    if not reads_source_once(tree, source) or tree.find(exp.Join, exp.SetOperation, exp.Window, exp.Limit):
        return None
    return _geohash_origin(tree, key, ctes_in(tree), source.lower())


def _geohash_origin(query: exp.Expr, name: str, ctes: dict[str, exp.Query], source: str) -> tuple[str, str, int] | None:
    if isinstance(query, exp.Subquery):
        return _geohash_origin(query.this, name, ctes, source)
    if not isinstance(query, exp.Select):
        return None
    found = _projection(query, name)
    if found is None:
        return None
    index, projection = found
    if projection is None:  # `*`: the name comes from the one FROM source as it is
        inner = _inner_query(query, ctes)
        return None if inner is None else _geohash_origin(inner, name, ctes, source)
    value = projection.unalias()
    if _aggregates(query) and not _grouped(query, index, projection, value):
        return None
    if isinstance(value, exp.Column):
        inner = _inner_query(query, ctes)
        return None if inner is None else _geohash_origin(inner, value.name, ctes, source)
    if not (isinstance(value, exp.Anonymous) and value.name.lower() == "geohash" and len(value.expressions) == 3):
        return None
    lat, lon, precision = value.expressions
    if not (isinstance(lat, exp.Column) and isinstance(lon, exp.Column) and isinstance(precision, exp.Literal)):
        return None
    if precision.is_string or not precision.this.isdigit():
        return None
    lat_name, lon_name = _source_column(query, lat.name, ctes, source), _source_column(query, lon.name, ctes, source)
    if lat_name is None or lon_name is None:
        return None
    return lat_name, lon_name, int(precision.this)


def _projection(select: exp.Select, name: str) -> tuple[int, exp.Expr | None] | None:
    """The SELECT item named `name` and its position; `(i, None)` when only a `*` can supply it."""
    for index, projection in enumerate(select.expressions):
        if star_table(projection) is None and projection.alias_or_name.lower() == name.lower():
            return index, projection
    stars = [i for i, p in enumerate(select.expressions) if star_table(p) is not None]
    return (stars[0], None) if len(stars) == 1 and len(from_sources(select)) == 1 else None


def _only_source(select: exp.Select) -> exp.Expr | None:
    """The one FROM source of a SELECT; None when it has none or several."""
    sources = from_sources(select)
    return sources[0] if len(sources) == 1 else None


def _inner_query(select: exp.Select, ctes: dict[str, exp.Query]) -> exp.Expr | None:
    """What the one FROM source of a SELECT is: a CTE's body or a subquery; None for a real table."""
    only = _only_source(select)
    if isinstance(only, exp.Subquery):
        inner: exp.Expr = only.this
        return inner
    if isinstance(only, exp.Table) and not only.db and only.name.lower() in ctes:
        return ctes[only.name.lower()]
    return None


def _source_column(select: exp.Select, name: str, ctes: dict[str, exp.Query], source: str) -> str | None:
    """The source column that the column `name` read by `select` is, passed on unchanged; None if computed."""
    only = _only_source(select)
    if isinstance(only, exp.Table) and not only.db and only.name.lower() == source and source not in ctes:
        return name
    inner = _inner_query(select, ctes)
    while isinstance(inner, exp.Subquery):
        inner = inner.this
    if not isinstance(inner, exp.Select):
        return None
    found = _projection(inner, name)
    if found is None:
        return None
    _, projection = found
    if projection is None:
        return _source_column(inner, name, ctes, source)
    value = projection.unalias()
    return _source_column(inner, value.name, ctes, source) if isinstance(value, exp.Column) else None


def _aggregates(select: exp.Select) -> bool:
    return bool(select.args.get("group") or select.args.get("having")) or any(
        projection.find(exp.AggFunc) is not None for projection in select.expressions
    )


def _grouped(select: exp.Select, index: int, projection: exp.Expr, value: exp.Expr) -> bool:
    """Whether an aggregating SELECT groups by its item `projection` (by expression, alias or position)."""
    group = select.args.get("group")
    if group is None:
        return False
    for item in group.expressions:
        if item == value:
            return True
        if isinstance(item, exp.Column) and not item.table and item.name.lower() == projection.alias_or_name.lower():
            return True
        if isinstance(item, exp.Literal) and not item.is_string and item.this == str(index + 1):
            return True
    return False
