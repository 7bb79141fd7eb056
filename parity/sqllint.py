"""`parity lint` for an offline query: every column and function resolved against the project's event schema
before Spark sees it, each finding as `file:line:col: what is wrong` (with "did you mean" for a near name).

The checks mirror Spark's analyzer where it rejects a query (measured against Spark 4.3 on the corpus in
`tests/lint/`): columns resolved by sqlglot's optimizer (`qualify`, which also finds a name two tables share),
functions against Spark's own list (`spark_functions.txt`, from `SHOW FUNCTIONS`, plus `geohash`, which parity
registers), a trailing comma before a clause, a selected column that is neither grouped nor aggregated, and
the type errors Spark's analyzer raises (a condition that is not a boolean, a boolean compared with a number,
AVG/SUM of a boolean), types from sqlglot's `annotate_types`. What Spark accepts with an implicit cast (a
string compared with a number) lint accepts too. Nothing here runs Spark.
"""

from __future__ import annotations

import difflib
import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import OptimizeError, SqlglotError
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.tokenizer_core import TokenType

from parity.errors import SpecError
from parity.query import DIALECT, parse_query

PARITY_FUNCTIONS = frozenset({"geohash"})  # registered by parity on every Spark session
_CLAUSES = {TokenType.FROM, TokenType.WHERE, TokenType.GROUP_BY, TokenType.HAVING, TokenType.ORDER_BY}
_NUMERIC = exp.DataType.NUMERIC_TYPES
_WINDOW_FIELDS = ("start", "end")


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    line: int
    col: int
    message: str

    def shown(self, path: str) -> str:
        return f"{path}:{self.line}:{self.col}: {self.message}"


@functools.cache
def spark_functions() -> frozenset[str]:
    text = resources.files("parity").joinpath("spark_functions.txt").read_text()
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def lint_sql(sql: str, path: str, schemas: Mapping[str, pa.Schema]) -> list[str]:
    """Every finding of one query, one line each (`path:line:col: ...`); empty when Spark would analyse it."""
    try:
        tree = parse_query(sql, path)
    except SpecError as exc:
        return [str(exc)]
    return lint_tree(sql, tree, path, schemas)


def lint_tree(sql: str, tree: exp.Query, path: str, schemas: Mapping[str, pa.Schema]) -> list[str]:
    """`lint_sql` of a query already parsed (`tree` is `sql` parsed, and is not changed)."""
    findings = set(_trailing_commas(sql))
    findings |= set(_unknown_functions(tree))
    resolved = _resolved(tree, schemas, findings)
    if resolved is not None:
        findings |= set(_ungrouped(resolved))
        findings |= set(_type_errors(resolved))
    return [finding.shown(path) for finding in sorted(findings)]


def _at(node: exp.Expr | None) -> tuple[int, int]:
    meta = getattr(node, "meta", {}) if node is not None else {}
    if "line" in meta:
        return int(meta["line"]), int(meta.get("col", 1))
    for child in node.walk() if node is not None else ():
        if "line" in child.meta:
            return int(child.meta["line"]), int(child.meta.get("col", 1))
    return 1, 1


def _trailing_commas(sql: str) -> Iterable[Finding]:
    """A comma right before FROM, WHERE, GROUP BY, HAVING or ORDER BY (Spark accepts one before the `)` of an IN
    list, so lint does too)."""
    try:
        tokens = DIALECT().tokenize(sql)
    except SqlglotError:
        return
    for comma, after in itertools.pairwise(tokens):
        if comma.token_type is TokenType.COMMA and after.token_type in _CLAUSES:
            yield Finding(comma.line, comma.col, f"trailing comma before {after.text.upper()}; remove it")


def _unknown_functions(tree: exp.Query) -> Iterable[Finding]:
    known = spark_functions() | PARITY_FUNCTIONS
    for call in tree.find_all(exp.Anonymous):
        name = str(call.name).lower()
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean {near[0]}()?" if near else ""
            line, col = _at(call)
            yield Finding(line, col, f"unknown function {call.name}(){hint}")


def _spark_type(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "timestamp"
    if pa.types.is_decimal(kind):
        return f"decimal({kind.precision}, {kind.scale})"
    return {"string": "string", "large_string": "string", "double": "double", "float": "float", "int64": "bigint",
            "int32": "int", "int16": "smallint", "int8": "tinyint", "bool": "boolean", "date32[day]": "date"}.get(
        str(kind), "string")


def _resolved(tree: exp.Query, schemas: Mapping[str, pa.Schema], findings: set[Finding]) -> exp.Query | None:
    """The query qualified against the schemas (columns resolved, types annotated), or None after adding the
    finding that stopped it. `window.start`/`window.end` of a window() grouping stand in as timestamps."""
    schema: dict[str, object] = {name: {f.name: _spark_type(f.type) for f in s} for name, s in schemas.items()}
    copy = tree.copy()
    for column in list(copy.find_all(exp.Column)):
        if column.table.lower() == "window" and column.name.lower() in _WINDOW_FIELDS:
            column.replace(exp.cast(exp.Literal.string("1970-01-01"), "TIMESTAMP"))
    try:
        qualified = qualify(copy, schema=schema, dialect=DIALECT, validate_qualify_columns=True,
                            quote_identifiers=False, identify=False)
    except OptimizeError as exc:
        findings.add(_unresolved(str(exc), tree, schemas))
        return None
    except SqlglotError:
        return None
    assert isinstance(qualified, exp.Query)
    aliases = {e.alias_or_name.lower() for e in qualified.selects}
    left = next((c for c in qualified.find_all(exp.Column)
                 if not c.table and not (c.name.lower() in aliases and c.find_ancestor(exp.Order))), None)
    if left is not None:  # sqlglot leaves a name it could not resolve in HAVING unqualified; Spark rejects it
        line, col = _at(next((c for c in tree.find_all(exp.Column) if c.name == left.name), left))
        findings.add(_unresolved(f"Column '{left.name}' could not be resolved. Line: {line}, Col: {col}", tree,
                                 schemas))
        return None
    return annotate_types(qualified, schema=schema, dialect=DIALECT)


def _unresolved(message: str, tree: exp.Query, schemas: Mapping[str, pa.Schema]) -> Finding:
    """sqlglot's "Column 'x' could not be resolved. Line: 1, Col: 10" as a finding, with a near name."""
    first = message.split(". Line:")[0]
    line, col = 1, 1
    if "Line:" in message:
        where = message.split("Line:")[1]
        line = int(where.split(",")[0].strip())
        col = int(where.split("Col:")[1].strip().split()[0].rstrip("."))
    name = first.split("'")[1] if first.count("'") >= 2 else ""
    columns = sorted({f.name for s in schemas.values() for f in s})
    near = difflib.get_close_matches(name, columns, n=1)
    hint = f"; did you mean {near[0]}?" if near and near[0] != name else ""
    return Finding(line, col, f"{first}{hint}")


def _ungrouped(tree: exp.Query) -> Iterable[Finding]:
    """A selected (or HAVING) column that is neither in GROUP BY nor inside an aggregate."""
    for select in tree.find_all(exp.Select):
        group = select.args.get("group")
        aggregated = any(p.find(exp.AggFunc) for p in select.expressions)
        if group is None and not aggregated:
            continue
        grouped = [g.unalias() for g in group.expressions] if group is not None else []
        grouped += [select.expressions[int(g.this) - 1].unalias() for g in grouped
                    if isinstance(g, exp.Literal) and g.is_int and 0 < int(g.this) <= len(select.expressions)]
        having = select.args.get("having")
        for node in [*select.expressions, *([having.this] if having is not None else [])]:
            for column in _bare_columns(node.unalias() if isinstance(node, exp.Alias) else node, grouped):
                line, col = _at(column)
                yield Finding(line, col, f"column {column.name!r} is neither in GROUP BY nor inside an aggregate")


def _bare_columns(node: exp.Expr, grouped: list[exp.Expr]) -> Iterable[exp.Column]:
    if any(node == g for g in grouped) or isinstance(node, exp.AggFunc | exp.Subquery | exp.Window):
        return
    if isinstance(node, exp.Column):
        yield node
        return
    for child in node.iter_expressions():
        yield from _bare_columns(child, grouped)


def _type_errors(tree: exp.Query) -> Iterable[Finding]:
    for condition in _conditions(tree):
        kind = condition.type
        if kind is not None and kind.this not in (exp.DataType.Type.BOOLEAN, exp.DataType.Type.UNKNOWN,
                                                   exp.DataType.Type.NULL):
            line, col = _at(condition)
            yield Finding(line, col, f"condition {condition.sql(dialect=DIALECT)!r} is a {kind.sql()}, not a boolean")
    for comparison in tree.find_all(exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ):
        sides = (comparison.left.type, comparison.right.type)
        if all(s is not None for s in sides) and _boolean_and_number(*sides):  # type: ignore[arg-type]
            line, col = _at(comparison)
            yield Finding(line, col, f"{comparison.sql(dialect=DIALECT)!r} compares a boolean with a number")
    for aggregate in tree.find_all(exp.Avg, exp.Sum):
        argument = aggregate.this
        if argument is not None and argument.type is not None and argument.type.this == exp.DataType.Type.BOOLEAN:
            line, col = _at(aggregate)
            yield Finding(line, col, f"{aggregate.key.upper()} of a boolean; cast it, e.g. CAST(x AS INT)")


def _conditions(tree: exp.Query) -> Iterable[exp.Expr]:
    for clause in tree.find_all(exp.Where):  # Spark 4.3 accepts a non-boolean HAVING (measured): lint does too
        yield clause.this
    for choice in tree.find_all(exp.If):  # IF(c, a, b) and each WHEN of a CASE
        yield choice.this


def _boolean_and_number(left: exp.DataType, right: exp.DataType) -> bool:
    kinds = {left.this, right.this}
    return exp.DataType.Type.BOOLEAN in kinds and bool(kinds & _NUMERIC)
