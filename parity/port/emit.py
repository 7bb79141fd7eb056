"""A `Plan` -> the text of `realtime_jobs/<feature>.yaml`: the spec and its Beam YAML transform.

The transform is the chain the issue describes, every step `language: python`:

    Filter        the WHERE clause (a row is kept when the SQL predicate is TRUE)
    MapToFields   the key columns, and the value each aggregate reads
    Combine       one field per aggregate (parity.port.combine: Spark's null rules), grouped by the keys
    MapToFields   the output values over the aggregates (ratios, differences, casts)
    MapToFields   an outer SELECT's values over those, when the query has one

A query that deduplicates its events (`SELECT DISTINCT ...`) collects the distinct rows per cell instead
(Beam's ToSetCombineFn: a duplicate adds nothing, in every pane) and computes each aggregate over them.
Expressions are plain Python where it agrees with Spark and `spark.<fn>` (parity.port.spark) where not; an
expression that needs an import is written as a callable. Strings are JSON-quoted, which YAML reads as is.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from parity.port.plan import AggKind, Aggregate, Plan
from parity.port.sqltypes import Py, SqlType
from parity.units import format_duration

DISTINCT_ROWS = "distinct_rows"  # the Combine field of a deduplicating query: the set of distinct event rows
DISTINCT_ROW = "event_row"  # the pre-Combine field: one event's distinct columns as a tuple
_IMPORTS = {"spark": "from parity.port import spark", "geohash": "from parity.geo import geohash",
            "combine": "from parity.port import combine", "decimal": "import decimal"}
DOUBLE_TOLERANCE = "{abs: 1.0e-9, rel: 1.0e-9}"
EXACT_TOLERANCE = "{abs: 0, rel: 0}"


def emit_spec(plan: Plan, feature: str, query_path: str, description: str, lateness: str) -> str:
    """The spec file's text. It loads with `parity.spec.load_spec` and runs with `parity stream` unchanged."""
    window = f"{{size: {format_duration(plan.size_us)}"
    window += f", slide: {format_duration(plan.slide_us)}}}" if plan.slide_us != plan.size_us else "}"
    lines = [
        f"# Ported from {query_path} by `parity port`: edit it freely; `parity port --force` writes it again.",
        f"feature: {feature}",
    ]
    if description:
        lines.append(f"description: {json.dumps(description)}")
    if query_path != f"offline_queries/{feature}.sql":
        lines.append(f"offline_query: {json.dumps(query_path)}")
    lines += [
        f"source: {plan.source}",
        f"keys: [{', '.join(k.name for k in plan.keys)}]",
        f"window: {window}",
        "values:",
        *(f"  {v.name}: {{tolerance: {_tolerance(v.py)}}}" for v in plan.outputs),
        f"allowed_lateness: {lateness}",
        *([f"# {plan.ordered_by}: dropped, a stream's cells have no order (the check compares them as a set)."]
          if plan.ordered_by else []),
        "# Beam YAML, run by parity with apache_beam.yaml's YamlTransform on the events it has already windowed.",
        "transform:",
    ]
    for step in _steps(plan):
        lines += step
    return "\n".join(lines) + "\n"


def _tolerance(py: Py) -> str:
    """Exact for counts, integer sums, strings and booleans; a small absolute and relative one for doubles."""
    exact = (SqlType.INT, SqlType.STRING, SqlType.BOOLEAN, SqlType.DECIMAL)
    return EXACT_TOLERANCE if py.type in exact else DOUBLE_TOLERANCE


def _steps(plan: Plan) -> list[list[str]]:
    steps: list[list[str]] = []
    if plan.filter is not None:
        where = plan.filter_sql[0] if len(plan.filter_sql) == 1 else " AND ".join(f"({w})" for w in plan.filter_sql)
        steps.append([f"  - type: Filter  # WHERE {where}", "    config:", "      language: python",
                      *_mapping_entry("keep", plan.filter, indent=6)])
    steps.append(_map_step(_pre_fields(plan), "the keys and what each aggregate reads"))
    steps.append(_combine_step(plan))
    if plan.having is not None:
        steps.append([f"  - type: Filter  # HAVING {plan.having_sql}: only conditions no later pane can make false",
                      "    config:", "      language: python", *_mapping_entry("keep", plan.having, indent=6)])
    if plan.distinct is not None:
        steps.append(_map_step(_distinct_values(plan), "each value over the distinct rows of its cell"))
    else:
        steps.append(_map_step(_keys_through(plan) + [(v.name, v.py) for v in plan.values], None))
    if plan.outer is not None:
        steps.append(_map_step(_keys_through(plan) + [(v.name, v.py) for v in plan.outer], "the outer SELECT"))
    return steps


def _keys_through(plan: Plan) -> list[tuple[str, Py]]:
    return [(k.name, Py(k.name, k.py.type, k.py.nullable, True, frozenset(), (k.name,))) for k in plan.keys]


def _pre_fields(plan: Plan) -> list[tuple[str, Py]]:
    fields = [(k.name, k.py) for k in plan.keys]
    if plan.distinct is not None:
        row = ", ".join(plan.distinct) + ("," if len(plan.distinct) == 1 else "")
        fields.append((DISTINCT_ROW, Py(f"({row})", SqlType.UNKNOWN, False, True, frozenset(), plan.distinct)))
        return fields
    for aggregate in plan.aggregates:
        if aggregate.argument is not None:
            fields.append((aggregate.name, aggregate.argument))
    return fields


def _combine_step(plan: Plan) -> list[str]:
    lines = ["  - type: Combine", "    config:", "      language: python",
             f"      group_by: [{', '.join(k.name for k in plan.keys)}]", "      combine:"]
    if plan.distinct is not None:
        lines += [f"        {DISTINCT_ROWS}:  # the distinct ({', '.join(plan.distinct)}) rows: SELECT DISTINCT",
                  f"          value: {DISTINCT_ROW}",
                  "          fn: {type: apache_beam.transforms.combiners.ToSetCombineFn, config: {}}"]
        return lines
    for aggregate in plan.aggregates:
        lines.append(f"        {aggregate.name}:  # {aggregate.sql}")
        if aggregate.kind is AggKind.COUNT_ROWS:
            lines += [f"          value: {plan.keys[0].name}  # counts rows, whatever the value",
                      "          fn: count"]
        else:
            lines += [f"          value: {aggregate.name}", f"          fn: {{type: {aggregate.kind.value}, config: {_config(aggregate)}}}"]
    return lines


def _config(aggregate: Aggregate) -> str:
    """The CombineFn's arguments: the scale of a decimal average (Spark's avg of decimal(p,s) has scale s+4)."""
    decimal = aggregate.argument.decimal if aggregate.argument is not None else None
    if aggregate.kind is AggKind.AVG and decimal is not None:
        return f"{{scale: {min(38, decimal.scale + 4)}}}"
    return "{}"


def _distinct_values(plan: Plan) -> list[tuple[str, Py]]:
    """Each value as a callable over the set of distinct rows: its aggregates first, then its expression."""
    assert plan.distinct is not None
    target = ", ".join(plan.distinct) + ("," if len(plan.distinct) == 1 else "")
    fields = _keys_through(plan)
    for field in plan.values:
        body: list[str] = [f"rows = row.{DISTINCT_ROWS}"]
        imports = set(field.py.imports)
        used = [a for a in plan.aggregates if a.name in field.py.names]
        for aggregate in used:
            body.append(f"{aggregate.name} = {_over_rows(aggregate, target)}  # {aggregate.sql}")
            if aggregate.argument is not None:
                imports |= aggregate.argument.imports
            if aggregate.kind is not AggKind.COUNT_ROWS:
                imports.add("combine")
        keys = [k.name for k in plan.keys if k.name in field.py.names]
        if keys:
            body.append(f"{', '.join(keys)} = {', '.join(f'row.{k}' for k in keys)}")
        body.append(f"return {field.py.text}")
        fields.append((field.name, Py("\n".join(body), field.py.type, field.py.nullable, False,
                                      frozenset(imports), ("__callable__",))))
    return fields


def _over_rows(aggregate: Aggregate, target: str) -> str:
    if aggregate.kind is AggKind.COUNT_ROWS:
        return "len(rows)"
    assert aggregate.argument is not None
    fn = aggregate.kind.value.rsplit(".", 1)[-1]
    decimal = aggregate.argument.decimal
    scale = f"scale={min(38, decimal.scale + 4)}" if aggregate.kind is AggKind.AVG and decimal is not None else ""
    return f"combine.over(combine.{fn}({scale}), [{aggregate.argument.text} for {target} in rows])"


def _map_step(fields: Sequence[tuple[str, Py]], comment: str | None) -> list[str]:
    head = "  - type: MapToFields" + (f"  # {comment}" if comment else "")
    lines = [head, "    config:", "      language: python", "      fields:"]
    for name, py in fields:
        lines += _mapping_entry(name, py, indent=8)
    return lines


def _mapping_entry(name: str, py: Py, indent: int) -> list[str]:
    """`name: <expression>`, or `name:` with a `callable:` block when the Python needs an import or statements."""
    pad = " " * indent
    if py.names == ("__callable__",):
        body = [_IMPORTS[i] for i in sorted(py.imports)] + py.text.splitlines()
        return _callable(name, body, pad)
    if not py.imports:
        if py.text.isidentifier() and py.text not in ("None", "True", "False"):
            return [f"{pad}{name}: {py.text}"]
        return [f"{pad}{name}: {json.dumps(py.text)}"]
    body = [_IMPORTS[i] for i in sorted(py.imports)]
    if py.names:
        body.append(f"{', '.join(py.names)} = {', '.join(f'row.{n}' for n in py.names)}")
    body.append(f"return {py.text}")
    return _callable(name, body, pad)


def _callable(name: str, body: list[str], pad: str) -> list[str]:
    function = name if name.isidentifier() else "fn"
    return [f"{pad}{name}:", f"{pad}  callable: |", f"{pad}    def {function}(row):",
            *(f"{pad}        {line}" for line in body)]


def description_of(sql: str) -> str:
    """The query's leading `--` comment up to its first empty `--` line, joined into one line: what the feature
    is, in its author's words."""
    words: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        text = stripped.lstrip("-").strip()
        if not stripped.startswith("--") or not text:
            break
        words.append(text)
    return " ".join(words)
