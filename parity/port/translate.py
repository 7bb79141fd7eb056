"""Spark SQL expressions (sqlglot AST) -> Python expression text with Spark's semantics.

The text reads columns by their bare names (Beam YAML's `MapToFields` and `Filter` bind a row's fields to
names) and calls `spark.<fn>` (`parity.port.spark`) or `geohash` (`parity.geo`) where Python's own operator
would differ from Spark: a null operand gives None, `div` and `%` truncate toward zero, `round` rounds half
away from zero. Where Python already agrees, plain Python is written, so the job stays readable:
`event_type == 'ride_requested'`, `float(requests)`.

Two modes: `value` is the SQL value (None for NULL); `truth` is a Python bool that is True exactly when the
SQL predicate is TRUE (what `WHERE`, `CASE WHEN` and `IF` test: NULL counts as not true).

Whatever is not handled here on purpose raises `Refused`, naming the construct and why: an unknown
function is never guessed at.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from sqlglot import exp

from parity.port.sqltypes import Decimal, Py, Refused, Scope, SqlType
from parity.query import DIALECT


def value(node: exp.Expr, scope: Scope) -> Py:
    """The SQL value of `node` as Python text (None for NULL)."""
    handler = _VALUE.get(type(node))
    if handler is None:
        conversion = node.find(*_ZONE_CONVERSIONS)
        raise Refused(conversion, _LOCAL_TIME) if conversion is not None else Refused(node, _unknown(node))
    return handler(node, scope)


_ZONE_CONVERSIONS = (exp.AtTimeZone, exp.FromTimeZone, exp.ConvertTimezone)
_LOCAL_TIME = ("converts to local time, the local_time porting trap: the job sees UTC event times and a zone's offset "
               "moves with daylight saving; port it by hand with zoneinfo and the same zone (`parity lint` flags a "
               "job that does not)")


def truth(node: exp.Expr, scope: Scope) -> Py:
    """A Python bool that is True exactly when the SQL predicate `node` is TRUE (NULL and FALSE are not)."""
    return _predicate(node, scope, negate=False)


def falsity(node: exp.Expr, scope: Scope) -> Py:
    """A Python bool that is True exactly when the SQL predicate `node` is FALSE (not when it is NULL)."""
    return _predicate(node, scope, negate=True)


def _predicate(node: exp.Expr, scope: Scope, negate: bool) -> Py:
    """`truth` (negate False) or `falsity` (negate True): De Morgan for AND/OR, NOT swaps the two."""
    node = _unparen(node)
    if isinstance(node, exp.And | exp.Or):
        left, right = _predicate(node.this, scope, negate), _predicate(node.expression, scope, negate)
        word = "and" if isinstance(node, exp.And) != negate else "or"
        return _joined(f"{_bool_operand(left, word)} {word} {_bool_operand(right, word)}", left, right, atomic=False)
    if isinstance(node, exp.Not):
        return _predicate(node.this, scope, not negate)
    if isinstance(node, exp.Is):
        return _is(node, scope, negate=negate)
    if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
        return _comparison_truth(node, scope, negate=negate)
    if isinstance(node, exp.In):
        return _in_truth(node, scope, negate=negate)
    if isinstance(node, exp.Boolean):
        return Py(str(bool(node.this) != negate), SqlType.BOOLEAN, False)
    result = value(node, scope)
    if not negate:
        return _is_true(result, node)
    _need(result, node, SqlType.BOOLEAN)
    text = f"{result.operand()} is False" if result.nullable else f"not {result.operand()}"
    return _like(result, text, atomic=False)


def conjunction(parts: list[Py]) -> Py:
    """Several truth conditions that must all hold (filters of an inner and an outer query)."""
    if len(parts) == 1:
        return parts[0]
    return _joined(" and ".join(_bool_operand(p, "and") for p in parts), *parts, atomic=False)


# --- pieces -------------------------------------------------------------------------------------------------


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _bool_operand(py: Py, word: str) -> str:
    """Parenthesise an `or` inside an `and` (and the reverse), and conditionals, so no one need recall precedence."""
    other = " or " if word == "and" else " and "
    return py.text if py.atomic or (other not in py.text and " if " not in py.text) else f"({py.text})"


def _merge(*parts: Py) -> tuple[frozenset[str], tuple[str, ...]]:
    imports: frozenset[str] = frozenset().union(*(p.imports for p in parts))
    names = tuple(dict.fromkeys(name for p in parts for name in p.names))
    return imports, names


def _joined(text: str, *parts: Py, type_: SqlType = SqlType.BOOLEAN, nullable: bool = False,
            atomic: bool = True) -> Py:
    imports, names = _merge(*parts)
    return Py(text, type_, nullable, atomic, imports, names)


def _like(py: Py, text: str, atomic: bool = True) -> Py:
    return Py(text, SqlType.BOOLEAN, False, atomic, py.imports, py.names)


def _call(function: str, args: list[Py], type_: SqlType, nullable: bool | None = None,
          decimal: Decimal | None = None) -> Py:
    """`spark.<function>(args)`: the Spark-semantics helper."""
    imports, names = _merge(*args)
    text = f"spark.{function}({', '.join(a.text for a in args)})"
    return Py(text, type_, any(a.nullable for a in args) if nullable is None else nullable, True,
              imports | {"spark"}, names, decimal)


def _need(py: Py, node: exp.Expr, *types: SqlType) -> None:
    if py.type not in types and py.type is not SqlType.UNKNOWN:
        wanted = " or ".join(t.value for t in types)
        raise Refused(node, f"needs {wanted} operands, got {py.type.value}; Spark would cast implicitly, "
                            f"write an explicit CAST")


def _is_true(py: Py, node: exp.Expr) -> Py:
    _need(py, node, SqlType.BOOLEAN)
    if not py.nullable:
        return py
    return _like(py, f"{py.operand()} is True", atomic=False)


def _is(node: exp.Is, scope: Scope, negate: bool) -> Py:
    target = node.expression
    operand = value(node.this, scope)
    if isinstance(target, exp.Null):
        return _like(operand, f"{operand.operand()} is {'not ' if negate else ''}None", atomic=False)
    if isinstance(target, exp.Boolean):
        _need(operand, node, SqlType.BOOLEAN)
        # IS TRUE is never NULL: its falsity is "not TRUE"
        return _like(operand, f"{operand.operand()} is {'not ' if negate else ''}{bool(target.this)}", atomic=False)
    raise Refused(node, "IS only ports with NULL, TRUE or FALSE")


_PY_OPS: dict[type[exp.Expr], str] = {exp.EQ: "==", exp.NEQ: "!=", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_NEGATED = {"==": "!=", "!=": "==", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}
_SQL_OPS = {"==": "=", "!=": "!=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _comparable(left: Py, right: Py, node: exp.Expr) -> None:
    for side, other in ((left, right), (right, left)):
        if side.decimal is not None and other.decimal is None and other.type not in (SqlType.INT, SqlType.UNKNOWN):
            raise Refused(node, f"compares a {side.decimal} with a {other.type.value}; Spark compares them in its own "
                                "type, Python exactly: compare with an integer or another decimal column, or CAST "
                                "both to DOUBLE")
    kinds = {left.type, right.type} - {SqlType.UNKNOWN}
    if len(kinds) > 1 and not kinds <= {SqlType.INT, SqlType.DOUBLE, SqlType.DECIMAL}:
        raise Refused(node, f"compares {left.type.value} with {right.type.value}; Spark casts implicitly, "
                            "Python does not: write an explicit CAST")
    if SqlType.TIMESTAMP in kinds:
        raise Refused(node, "compares timestamps; the job sees integer microseconds and Spark timestamps")


def _operands(node: exp.Expr, scope: Scope) -> tuple[Py, Py]:
    """Both sides of a comparison; a decimal literal beside a decimal column as an exact `decimal.Decimal`
    (`basket >= 10.50`: Spark compares the two decimals exactly, a float 10.5 would not always)."""
    left, right = value(node.this, scope), value(node.expression, scope)
    sides = [left, right]
    for column, other, literal in ((left, 1, node.expression), (right, 0, node.this)):
        literal = _unparen(literal)
        if column.decimal is not None and isinstance(literal, exp.Literal) and not literal.is_string \
                and sides[other].type is SqlType.DECIMAL and sides[other].decimal is None:
            sides[other] = Py(f"decimal.Decimal({str(literal.this)!r})", SqlType.DECIMAL, False, True,
                              frozenset({"decimal"}), (), column.decimal)
    return sides[0], sides[1]


def _comparison_truth(node: exp.Expr, scope: Scope, negate: bool) -> Py:
    left, right = _operands(node, scope)
    _comparable(left, right, node)
    op = _PY_OPS[type(node)]
    if negate:
        op = _NEGATED[op]
    text = f"{left.operand()} {op} {right.operand()}"
    guards = [f"{p.operand()} is not None" for p in (left, right) if p.nullable]
    # `x == 'a'` is already False for None; every other operator needs its operands present (None < 1 raises,
    # None != 'a' is True where SQL gives NULL).
    if op == "==" and len(guards) == 1:
        guards = []
    return _joined(" and ".join([*guards, text]), left, right, atomic=False)


def _in_options(node: exp.In, scope: Scope) -> tuple[Py, list[Py]]:
    if node.args.get("query") is not None:
        raise Refused(node, "IN (subquery) is a join; port the subquery as its own feature")
    operand = value(node.this, scope)
    options = [value(option, scope) for option in node.expressions]
    for option in options:
        if option.nullable or option.names:
            raise Refused(node, "IN ports over non-null literals only")
        _comparable(operand, option, node)
    return operand, options


def _in_truth(node: exp.In, scope: Scope, negate: bool) -> Py:
    operand, options = _in_options(node, scope)
    listed = ", ".join(o.text for o in options) + ("," if len(options) == 1 else "")
    text = f"{operand.operand()} {'not in' if negate else 'in'} ({listed})"
    if negate and operand.nullable:
        text = f"{operand.operand()} is not None and {text}"
    return _like(operand, text, atomic=False)


# --- value handlers -----------------------------------------------------------------------------------------


def _column(node: exp.Column, scope: Scope) -> Py:
    if node.table and node.table.lower() == "window":
        raise Refused(node, "reads the window outside the window_start/window_end projections")
    name = node.name
    column = scope.get(name) or scope.get(name.lower())
    if column is None:
        raise Refused(node, "unknown column: not a column of the source or of the query it reads")
    if column.type is SqlType.TIMESTAMP:
        raise Refused(node, "reads a timestamp; the job sees integer microseconds, Spark a timestamp: only "
                            "window(event_time, ...) is ported")
    if not name.isidentifier():
        raise Refused(node, "column name is not a Python identifier")
    key = name if name in scope else name.lower()
    return Py(key, column.type, column.nullable, True, frozenset(), (key,), column.decimal)


def _literal(node: exp.Literal, scope: Scope) -> Py:
    if node.is_string:
        return Py(repr(node.this), SqlType.STRING, False)
    text = str(node.this)
    try:
        number = int(text)
    except ValueError:
        number_f = float(text)
        if not math.isfinite(number_f):
            raise Refused(node, "is not a finite number") from None
        # 2e1 is a DOUBLE in Spark; 1.5 is a DECIMAL, exact, which only ports beside a double (see _result_type)
        return Py(repr(number_f), SqlType.DOUBLE if "e" in text.lower() else SqlType.DECIMAL, False)
    return Py(str(number), SqlType.INT, False)


def _boolean(node: exp.Boolean, scope: Scope) -> Py:
    return Py(str(bool(node.this)), SqlType.BOOLEAN, False)


def _null(node: exp.Null, scope: Scope) -> Py:
    return Py("None", SqlType.UNKNOWN, True)


def _paren(node: exp.Paren, scope: Scope) -> Py:
    return value(node.this, scope)


def _result_type(left: Py, right: Py, node: exp.Expr) -> SqlType:
    """INT for two integers, DOUBLE when either is a double; a decimal literal beside no double is refused (Spark
    computes it in exact DECIMAL, a Python float would not)."""
    for side in (left, right):
        _need(side, node, SqlType.INT, SqlType.DOUBLE, SqlType.DECIMAL)
        if side.decimal is not None:
            raise Refused(node, f"arithmetic on a {side.decimal} value: Spark computes it in DECIMAL with its own "
                                "precision rules; CAST it to DOUBLE first")
    if SqlType.UNKNOWN in (left.type, right.type):
        raise Refused(node, "arithmetic on a column of unknown type (the source's schema is not known to parity)")
    if SqlType.DOUBLE in (left.type, right.type):
        return SqlType.DOUBLE
    if SqlType.DECIMAL in (left.type, right.type):
        raise Refused(node, "Spark computes this in DECIMAL (1.5 is a decimal literal); write 1.5D for a double")
    return SqlType.INT


def _arithmetic(op: str, function: str) -> Callable[[exp.Expr, Scope], Py]:
    def handle(node: exp.Expr, scope: Scope) -> Py:
        left, right = value(node.this, scope), value(node.expression, scope)
        type_ = _result_type(left, right, node)
        if left.nullable or right.nullable:
            return _call(function, [left, right], type_)
        return _joined(f"{left.operand()} {op} {right.operand()}", left, right, type_=type_, atomic=False)

    return handle


def _divide(node: exp.Div, scope: Scope) -> Py:
    left, right = value(node.this, scope), value(node.expression, scope)
    _result_type(left, right, node)  # what the operands may be; the result is a double whatever they are
    # `/` is always a double in Spark; Python's `/` is too. A zero divisor raises in both (Spark ANSI mode).
    if left.nullable or right.nullable:
        return _call("divide", [left, right], SqlType.DOUBLE)
    return _joined(f"{left.operand()} / {right.operand()}", left, right, type_=SqlType.DOUBLE, atomic=False)


def _try_divide(node: exp.SafeDivide, scope: Scope) -> Py:
    left, right = value(node.this, scope), value(node.expression, scope)
    _result_type(left, right, node)
    return _call("try_divide", [left, right], SqlType.DOUBLE, nullable=True)


def _int_div(node: exp.IntDiv, scope: Scope) -> Py:
    left, right = value(node.this, scope), value(node.expression, scope)
    for side in (left, right):
        _need(side, node, SqlType.INT)
    return _call("div", [left, right], SqlType.INT)


def _mod(node: exp.Mod, scope: Scope) -> Py:
    left, right = value(node.this, scope), value(node.expression, scope)
    return _call("mod", [left, right], _result_type(left, right, node))


def _neg(node: exp.Neg, scope: Scope) -> Py:
    operand = value(node.this, scope)
    _need(operand, node, SqlType.INT, SqlType.DOUBLE)
    if operand.nullable:
        return _call("negate", [operand], operand.type)
    if not operand.names:
        return Py(f"-{operand.operand()}", operand.type, False, True, operand.imports, operand.names)
    return Py(f"-{operand.operand()}", operand.type, False, False, operand.imports, operand.names)


def _comparison_value(node: exp.Expr, scope: Scope) -> Py:
    left, right = _operands(node, scope)
    _comparable(left, right, node)
    op = _PY_OPS[type(node)]
    if left.nullable or right.nullable:
        return _call("compare", [Py(repr(_SQL_OPS[op]), SqlType.STRING, False), left, right], SqlType.BOOLEAN)
    return _joined(f"{left.operand()} {op} {right.operand()}", left, right, atomic=False)


def _logic_value(node: exp.Expr, scope: Scope) -> Py:
    left, right = value(node.this, scope), value(node.expression, scope)
    for side in (left, right):
        _need(side, node, SqlType.BOOLEAN)
    word = "and" if isinstance(node, exp.And) else "or"
    if left.nullable or right.nullable:
        return _call(f"{word}_", [left, right], SqlType.BOOLEAN)
    return _joined(f"{left.operand()} {word} {right.operand()}", left, right, atomic=False)


def _not_value(node: exp.Not, scope: Scope) -> Py:
    operand = value(node.this, scope)
    _need(operand, node, SqlType.BOOLEAN)
    if operand.nullable:
        return _call("not_", [operand], SqlType.BOOLEAN)
    return _like(operand, f"not {operand.operand()}", atomic=False)


def _is_value(node: exp.Is, scope: Scope) -> Py:
    return _is(node, scope, negate=False)  # IS NULL / IS TRUE are never NULL


def _in_value(node: exp.In, scope: Scope) -> Py:
    operand, options = _in_options(node, scope)
    listed = ", ".join(o.text for o in options) + ("," if len(options) == 1 else "")
    if operand.nullable:
        return _call("in_", [operand, Py(f"({listed})", SqlType.UNKNOWN, False)], SqlType.BOOLEAN)
    return _like(operand, f"{operand.operand()} in ({listed})", atomic=False)


def _like_value(node: exp.Like, scope: Scope) -> Py:
    if node.args.get("escape") is not None:
        raise Refused(node, "LIKE ... ESCAPE is not ported; use the default backslash escape")
    operand, pattern = value(node.this, scope), value(node.expression, scope)
    _need(operand, node, SqlType.STRING)
    _need(pattern, node, SqlType.STRING)
    result = _call("like", [operand, pattern], SqlType.BOOLEAN)
    if node.args.get("negate"):
        return _call("not_", [result], SqlType.BOOLEAN) if result.nullable else _like(result, f"not {result.text}")
    return result


def _unify(node: exp.Expr, branches: list[Py]) -> SqlType:
    kinds = {b.type for b in branches} - {SqlType.UNKNOWN}
    if not kinds:
        return SqlType.UNKNOWN
    if _decimal_of(node, branches) is not None:
        return SqlType.DECIMAL
    if SqlType.DECIMAL in kinds:
        if kinds != {SqlType.DECIMAL, SqlType.DOUBLE}:
            raise Refused(node, "Spark gives a DECIMAL here (1.5 is a decimal literal); write 1.5D for a double")
        return SqlType.DOUBLE
    if kinds <= {SqlType.INT, SqlType.DOUBLE}:
        if len(kinds) > 1:
            raise Refused(node, "mixes integer and double results; Spark widens to double, write a CAST to DOUBLE")
        return kinds.pop()
    if len(kinds) > 1:
        raise Refused(node, f"mixes {' and '.join(sorted(k.value for k in kinds))} results; write explicit CASTs")
    return kinds.pop()


def _decimal_of(node: exp.Expr, branches: list[Py]) -> Decimal | None:
    """The decimal(p,s) of branches that are all that one decimal type or NULL; a mix with anything else is refused
    (Spark widens it to another decimal type, or to a double)."""
    decimals = {b.decimal for b in branches if b.decimal is not None}
    if not decimals:
        return None
    others = {b.type for b in branches if b.decimal is None} - {SqlType.UNKNOWN}
    if len(decimals) > 1 or others:
        shown = " and ".join(sorted({*map(str, decimals), *(k.value for k in others)}))
        raise Refused(node, f"mixes {shown} results; Spark widens them to another type: CAST each branch to DOUBLE")
    return decimals.pop()


def _case(node: exp.Case, scope: Scope) -> Py:
    subject = node.this
    arms: list[tuple[Py, Py]] = []
    for arm in node.args.get("ifs") or []:
        condition = arm.this if subject is None else exp.EQ(this=subject.copy(), expression=arm.this.copy())
        arms.append((truth(condition, scope), value(arm.args["true"], scope)))
    default_node = node.args.get("default")
    default = value(default_node, scope) if default_node is not None else Py("None", SqlType.UNKNOWN, True)
    results = [result for _, result in arms] + [default]
    type_ = _unify(node, results)
    text = default.operand()
    for condition, result in reversed(arms):
        text = f"{result.operand()} if {condition.text} else {text}"
    imports, names = _merge(*(c for c, _ in arms), *results)
    return Py(text, type_, any(r.nullable for r in results), False, imports, names, _decimal_of(node, results))


def _if(node: exp.If, scope: Scope) -> Py:
    condition = truth(node.this, scope)
    yes = value(node.args["true"], scope)
    no_node = node.args.get("false")
    no = value(no_node, scope) if no_node is not None else Py("None", SqlType.UNKNOWN, True)
    type_ = _unify(node, [yes, no])
    imports, names = _merge(condition, yes, no)
    return Py(f"{yes.operand()} if {condition.text} else {no.operand()}", type_, yes.nullable or no.nullable, False,
              imports, names, _decimal_of(node, [yes, no]))


def _coalesce(node: exp.Coalesce, scope: Scope) -> Py:
    parts = [value(node.this, scope), *(value(e, scope) for e in node.expressions)]
    type_ = _unify(node, parts)
    return _call("coalesce", parts, type_, nullable=all(p.nullable for p in parts), decimal=_decimal_of(node, parts))


_CAST_TYPES = {
    exp.DType.INT: SqlType.INT, exp.DType.BIGINT: SqlType.INT, exp.DType.SMALLINT: SqlType.INT,
    exp.DType.TINYINT: SqlType.INT, exp.DType.DOUBLE: SqlType.DOUBLE, exp.DType.TEXT: SqlType.STRING,
    exp.DType.VARCHAR: SqlType.STRING,
}


def _cast(node: exp.Cast, scope: Scope) -> Py:
    if node.args.get("safe"):
        raise Refused(node, "try_cast gives NULL where the job would raise; not ported")
    to = node.args["to"]
    target = _CAST_TYPES.get(to.this)
    if target is None:
        raise Refused(node, f"CAST to {to.sql(dialect=DIALECT)} is not ported (INT, BIGINT, DOUBLE and STRING are)")
    operand = value(node.this, scope)
    if operand.type is target:
        return operand
    if target is SqlType.STRING:
        if operand.type not in (SqlType.INT, SqlType.STRING):
            raise Refused(node, f"CAST of a {operand.type.value} to STRING formats differently in Spark and Python")
        return _call("cast_string", [operand], SqlType.STRING) if operand.nullable else \
            Py(f"str({operand.text})", SqlType.STRING, False, True, operand.imports, operand.names)
    if operand.type is SqlType.DECIMAL and target is SqlType.DOUBLE and not operand.names:
        return Py(operand.text, SqlType.DOUBLE, False)  # 1.5D
    if operand.decimal is not None:  # a decimal column: Python's float() and int() round and truncate as Spark
        if operand.nullable:
            return _call("to_int" if target is SqlType.INT else "to_double", [operand], target)
        builtin = "int" if target is SqlType.INT else "float"
        return Py(f"{builtin}({operand.text})", target, False, True, operand.imports, operand.names)
    if operand.type not in (SqlType.INT, SqlType.DOUBLE, SqlType.BOOLEAN):
        raise Refused(node, f"CAST of a {operand.type.value} to a number is not ported (Spark's parsing rules differ)")
    if operand.type is SqlType.BOOLEAN and target is SqlType.DOUBLE:
        raise Refused(node, "CAST of a boolean to DOUBLE is not ported; cast to INT")
    if operand.nullable:
        return _call("to_int" if target is SqlType.INT else "to_double", [operand], target)
    builtin = "int" if target is SqlType.INT else "float"
    return Py(f"{builtin}({operand.text})", target, False, True, operand.imports, operand.names)


def _unary(function: str, accepts: tuple[SqlType, ...], result: SqlType | None) -> Callable[[exp.Expr, Scope], Py]:
    def handle(node: exp.Expr, scope: Scope) -> Py:
        extra = [k for k in ("decimals", "to", "expression", "position") if node.args.get(k) is not None]
        if extra and function not in ("round_",):
            raise Refused(node, f"{node.key.upper()} with more than one argument is not ported")
        operand = value(node.this, scope)
        _need(operand, node, *accepts)
        return _call(function, [operand], result or operand.type)

    return handle


def _round(node: exp.Round, scope: Scope) -> Py:
    operand = value(node.this, scope)
    _need(operand, node, SqlType.INT, SqlType.DOUBLE)
    decimals = node.args.get("decimals")
    args = [operand]
    if decimals is not None:
        scale = value(decimals, scope)
        if scale.names or scale.type is not SqlType.INT:
            raise Refused(node, "ROUND's scale must be an integer literal")
        args.append(scale)
    return _call("round_", args, operand.type)


def _pow(node: exp.Pow, scope: Scope) -> Py:
    left, right = value(node.this, scope), value(node.expression, scope)
    for side in (left, right):
        _need(side, node, SqlType.INT, SqlType.DOUBLE, SqlType.DECIMAL)
    return _call("pow_", [left, right], SqlType.DOUBLE)


def _concat(node: exp.Concat | exp.DPipe, scope: Scope) -> Py:
    parts_nodes = list(node.expressions) if isinstance(node, exp.Concat) else [node.this, node.expression]
    parts = [value(p, scope) for p in parts_nodes]
    for part in parts:
        _need(part, node, SqlType.STRING)
    if all(isinstance(p, exp.Literal) and p.is_string for p in parts_nodes):
        return Py(repr("".join(p.this for p in parts_nodes)), SqlType.STRING, False)  # 'it''s': adjacent literals
    return _call("concat", parts, SqlType.STRING)


def _substring(node: exp.Substring, scope: Scope) -> Py:
    operand = value(node.this, scope)
    _need(operand, node, SqlType.STRING)
    args = [operand]
    for key in ("start", "length"):
        if node.args.get(key) is not None:
            arg = value(node.args[key], scope)
            _need(arg, node, SqlType.INT)
            args.append(arg)
    return _call("substring", args, SqlType.STRING)


def _trim(node: exp.Trim, scope: Scope) -> Py:
    if node.args.get("expression") is not None or node.args.get("position") is not None:
        raise Refused(node, "TRIM with characters or a side is not ported; plain trim(s) is")
    operand = value(node.this, scope)
    _need(operand, node, SqlType.STRING)
    return _call("trim", [operand], SqlType.STRING)


def _anonymous(node: exp.Anonymous, scope: Scope) -> Py:
    name = node.name.lower()
    if name == "geohash":
        if len(node.expressions) != 3:
            raise Refused(node, "geohash takes (lat, lon, precision)")
        lat, lon, precision = (value(e, scope) for e in node.expressions)
        for part in (lat, lon):
            _need(part, node, SqlType.DOUBLE, SqlType.INT)
        if precision.names or precision.type is not SqlType.INT:
            raise Refused(node, "geohash's precision must be an integer literal")
        imports, names = _merge(lat, lon, precision)
        return Py(f"geohash({lat.text}, {lon.text}, {precision.text})", SqlType.STRING, True, True,
                  imports | {"geohash"}, names)
    if name in ("window", "session_window"):
        raise Refused(node, "a window outside GROUP BY is not ported")
    return _refuse_unknown(node, scope)


def _local_time(node: exp.Expr, scope: Scope) -> Py:
    raise Refused(node, _LOCAL_TIME)


def _date_trunc(node: exp.TimestampTrunc | exp.DateTrunc, scope: Scope) -> Py:
    raise Refused(node, "truncates a timestamp, which the job sees as integer microseconds: to bucket event time, "
                        "group by window(event_time, '1 <unit>') and select window.start AS window_start")


def _refuse_unknown(node: exp.Expr, scope: Scope) -> Py:
    raise Refused(node, _unknown(node))


def _unknown(node: exp.Expr) -> str:
    if isinstance(node, exp.Anonymous):
        return f"unknown function or UDF {node.name}(): parity cannot tell what it computes; port it by hand"
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower()}() is not in the ported subset; port it by hand"
    return f"{node.key.upper()} is not in the ported subset; port it by hand"


_NUMBERS = (SqlType.INT, SqlType.DOUBLE)  # a decimal literal alone (abs(1.5)) is refused: Spark keeps it DECIMAL
_VALUE: dict[type[exp.Expr], Callable[[Any, Scope], Py]] = {  # each handler takes its own node type
    exp.Column: _column,
    exp.Literal: _literal,
    exp.Boolean: _boolean,
    exp.Null: _null,
    exp.Paren: _paren,
    exp.Add: _arithmetic("+", "add"),
    exp.Sub: _arithmetic("-", "subtract"),
    exp.Mul: _arithmetic("*", "multiply"),
    exp.Div: _divide,
    exp.SafeDivide: _try_divide,
    exp.IntDiv: _int_div,
    exp.Mod: _mod,
    exp.Neg: _neg,
    exp.EQ: _comparison_value, exp.NEQ: _comparison_value, exp.GT: _comparison_value,
    exp.GTE: _comparison_value, exp.LT: _comparison_value, exp.LTE: _comparison_value,
    exp.And: _logic_value, exp.Or: _logic_value,
    exp.Not: _not_value,
    exp.Is: _is_value,
    exp.In: _in_value,
    exp.Like: _like_value,
    exp.Case: _case,
    exp.If: _if,
    exp.Coalesce: _coalesce,
    exp.Cast: _cast,
    exp.TryCast: _cast,
    exp.Lower: _unary("lower", (SqlType.STRING,), SqlType.STRING),
    exp.Upper: _unary("upper", (SqlType.STRING,), SqlType.STRING),
    exp.Length: _unary("length", (SqlType.STRING,), SqlType.INT),
    exp.Abs: _unary("abs_", _NUMBERS, None),
    exp.Floor: _unary("floor", _NUMBERS, SqlType.INT),
    exp.Ceil: _unary("ceil", _NUMBERS, SqlType.INT),
    exp.Sqrt: _unary("sqrt", _NUMBERS, SqlType.DOUBLE),
    exp.Round: _round,
    exp.Pow: _pow,
    exp.Concat: _concat,
    exp.DPipe: _concat,
    exp.Substring: _substring,
    exp.Trim: _trim,
    exp.Anonymous: _anonymous,
    exp.AtTimeZone: _local_time, exp.FromTimeZone: _local_time, exp.ConvertTimezone: _local_time,
    exp.TimestampTrunc: _date_trunc, exp.DateTrunc: _date_trunc,
}
