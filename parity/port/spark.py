"""Spark SQL's semantics as small Python functions, for the jobs `parity port` writes.

A ported job calls these where Python's own operators would give a different answer than Spark (ANSI mode,
as parity runs it): a null operand gives None, `div` and `%` truncate toward zero, `round` rounds half away
from zero on the decimal digits, `LIKE` matches the whole string. Each function is what the SQL of the same
name does; where Python already agrees (`==` on non-null values, `+` on two numbers) the port writes plain
Python instead. Errors stay errors: Spark raises on `x / 0`, so does `divide`.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
from typing import Any


def _null(*values: object) -> bool:
    return any(value is None for value in values)


# --- arithmetic ---------------------------------------------------------------------------------------


def add(a: Any, b: Any) -> Any:
    return None if _null(a, b) else a + b


def subtract(a: Any, b: Any) -> Any:
    return None if _null(a, b) else a - b


def multiply(a: Any, b: Any) -> Any:
    return None if _null(a, b) else a * b


def negate(a: Any) -> Any:
    return None if a is None else -a


def divide(a: Any, b: Any) -> float | None:
    """`a / b`: always a double; Spark (ANSI) raises on a zero divisor, and so does this."""
    if _null(a, b):
        return None
    if b == 0:
        raise ZeroDivisionError("division by zero (Spark raises DIVIDE_BY_ZERO too; use try_divide for NULL)")
    return float(a) / float(b)


def try_divide(a: Any, b: Any) -> float | None:
    """`try_divide(a, b)`: a double, None when either is null or the divisor is zero."""
    if _null(a, b) or b == 0:
        return None
    return float(a) / float(b)


def div(a: int | None, b: int | None) -> int | None:
    """`a div b`: integer division truncating toward zero (Python's `//` floors: -7 // 2 == -4, Spark gives -3)."""
    if a is None or b is None:
        return None
    if b == 0:
        raise ZeroDivisionError("division by zero (Spark raises DIVIDE_BY_ZERO too)")
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def mod(a: Any, b: Any) -> Any:
    """`a % b`: the sign of the dividend (Spark: -7 % 3 == -1; Python: 2)."""
    if _null(a, b):
        return None
    if b == 0:
        raise ZeroDivisionError("remainder by zero (Spark raises DIVIDE_BY_ZERO too)")
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return remainder if a >= 0 else -remainder
    return math.fmod(a, b)


# --- math ---------------------------------------------------------------------------------------------


def abs_(a: Any) -> Any:
    return None if a is None else abs(a)


def round_(a: Any, scale: int = 0) -> Any:
    """`round(a, scale)`: half away from zero on the decimal digits (Spark: round(2.675, 2) == 2.68; Python 2.67)."""
    if a is None:
        return None
    if isinstance(a, float) and not math.isfinite(a):
        return a
    exponent = decimal.Decimal(1).scaleb(-scale)
    rounded = decimal.Decimal(repr(a)).quantize(exponent, rounding=decimal.ROUND_HALF_UP)
    return int(rounded) if isinstance(a, int) else float(rounded)


def floor(a: Any) -> int | None:
    return None if a is None else math.floor(a)


def ceil(a: Any) -> int | None:
    return None if a is None else math.ceil(a)


def sqrt(a: Any) -> float | None:
    """`sqrt(a)`: NaN for a negative number, as Spark (Python's math.sqrt raises)."""
    if a is None:
        return None
    return math.sqrt(a) if a >= 0 else math.nan


def pow_(a: Any, b: Any) -> float | None:
    """`pow(a, b)`: always a double."""
    return None if _null(a, b) else math.pow(float(a), float(b))


# --- strings --------------------------------------------------------------------------------------------


def lower(s: str | None) -> str | None:
    return None if s is None else s.lower()


def upper(s: str | None) -> str | None:
    return None if s is None else s.upper()


def length(s: str | None) -> int | None:
    return None if s is None else len(s)


def trim(s: str | None) -> str | None:
    """`trim(s)`: Spark strips spaces only (Python's strip() also strips tabs and newlines)."""
    return None if s is None else s.strip(" ")


def concat(*parts: str | None) -> str | None:
    """`concat(a, b, ...)`: None when any part is null."""
    return None if _null(*parts) else "".join(parts)  # type: ignore[arg-type]


def substring(s: str | None, pos: int | None, length: int | None = 2**31 - 1) -> str | None:
    """`substring(s, pos[, len])`: 1-based; pos 0 is 1; a negative pos counts from the end (Spark's substringSQL)."""
    if s is None or pos is None or length is None:
        return None
    start = pos - 1 if pos > 0 else (len(s) + pos if pos < 0 else 0)
    end = start + length
    start = max(start, 0)
    return "" if start >= end else s[start:end]


@functools.lru_cache(maxsize=64)
def _like_pattern(pattern: str) -> re.Pattern[str]:
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL)


def like(s: str | None, pattern: str | None) -> bool | None:
    """`s LIKE pattern`: `%` any run, `_` one character, `\\` escapes; the whole string must match."""
    if s is None or pattern is None:
        return None
    return _like_pattern(pattern).fullmatch(s) is not None


# --- nulls, comparisons, logic --------------------------------------------------------------------------


def coalesce(*values: Any) -> Any:
    return next((value for value in values if value is not None), None)


def compare(op: str, a: Any, b: Any) -> bool | None:
    """A comparison as a value (not a filter): None when either side is null."""
    if _null(a, b):
        return None
    return bool(_COMPARE[op](a, b))


_COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


def and_(*values: bool | None) -> bool | None:
    """Three-valued AND: False beats null, null beats True."""
    if any(value is False for value in values):
        return False
    return None if _null(*values) else True


def or_(*values: bool | None) -> bool | None:
    """Three-valued OR: True beats null, null beats False."""
    if any(value is True for value in values):
        return True
    return None if _null(*values) else False


def not_(value: bool | None) -> bool | None:
    return None if value is None else not value


def in_(value: Any, options: tuple[Any, ...]) -> bool | None:
    """`value IN (options)` over non-null literals: None for a null value."""
    return None if value is None else value in options


def to_int(value: Any) -> int | None:
    """`CAST(value AS INT/BIGINT)` of a number or boolean: truncation toward zero; a boolean is 0 or 1."""
    return None if value is None else int(value)


def to_double(value: Any) -> float | None:
    """`CAST(value AS DOUBLE)` of a number."""
    return None if value is None else float(value)


def cast_string(value: int | str | None) -> str | None:
    """`CAST(value AS STRING)` of an integer or a string (other types format differently and are not ported)."""
    return None if value is None else str(value)
