"""What a translation works with: SQL types, the columns a translation may read, a translated expression (`Py`),
and `Refused`, a construct the port does not handle."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from parity.query import DIALECT


class SqlType(enum.Enum):
    BOOLEAN = "boolean"
    INT = "int"
    DOUBLE = "double"
    STRING = "string"
    DECIMAL = "decimal"  # a literal such as 1.5 (Spark reads it as a DECIMAL, not a DOUBLE), or a decimal(p,s) column
    TIMESTAMP = "timestamp"
    UNKNOWN = "unknown"  # a column of a source whose schema parity does not know

    @property
    def numeric(self) -> bool:
        return self in (SqlType.INT, SqlType.DOUBLE, SqlType.DECIMAL)


@dataclass(frozen=True, slots=True)
class Decimal:
    """Spark's decimal(precision, scale)."""

    precision: int
    scale: int

    def __str__(self) -> str:
        return f"decimal({self.precision},{self.scale})"


@dataclass(frozen=True, slots=True)
class Column:
    """What a translation may read: a name's type and whether it can be null."""

    type: SqlType
    nullable: bool = True
    decimal: Decimal | None = None  # a DECIMAL column's precision and scale


@dataclass(frozen=True, slots=True)
class Py:
    """A translated expression: its Python text, SQL type and nullability, and what the text needs."""

    text: str
    type: SqlType
    nullable: bool
    atomic: bool = True  # a name, literal or call: needs no parentheses as an operand
    imports: frozenset[str] = frozenset()  # "spark" (parity.port.spark), "geohash" (parity.geo), "decimal"
    names: tuple[str, ...] = ()  # the columns it reads, in order of first use
    decimal: Decimal | None = None  # a decimal(p,s) value (Python Decimal in the job); None for a decimal literal

    def operand(self) -> str:
        return self.text if self.atomic else f"({self.text})"


class Refused(Exception):
    """A construct the translator does not port: `construct` is its SQL, `reason` why."""

    def __init__(self, node: exp.Expr | str, reason: str) -> None:
        self.construct = node if isinstance(node, str) else sql_of(node)
        self.reason = reason
        lines = [] if isinstance(node, str) else [n.meta["line"] for n in node.walk() if "line" in n.meta]
        self.line = min(lines) if lines else None
        super().__init__(self.describe())

    def describe(self) -> str:
        """`line N: <construct>: <reason>`, one line."""
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.construct}: {self.reason}"


def sql_of(node: exp.Expr) -> str:
    text = node.sql(dialect=DIALECT, comments=False)
    return text if len(text) <= 80 else text[:77] + "..."


Scope = Mapping[str, Column]
