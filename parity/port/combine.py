"""Spark's aggregates as Beam CombineFns, for the `Combine` step of the jobs `parity port` writes.

Beam YAML's built-in `sum`, `mean`, `min` and `max` raise on None and `count` counts None; Spark's `SUM`,
`AVG`, `MIN`, `MAX` and `COUNT(col)` skip nulls, and `SUM`/`AVG`/`MIN`/`MAX` of no non-null value is NULL.
These do what Spark does. A job names them by path: `fn: {type: parity.port.combine.Sum}`.
"""

# mypy: disable-error-code="misc, no-untyped-call"
# (apache_beam.CombineFn is untyped: subclassing it is subclassing Any.)
from __future__ import annotations

import decimal
import math
from collections.abc import Iterable
from typing import Any

import apache_beam as beam


def over(fn: beam.CombineFn, values: Iterable[Any]) -> Any:
    """One CombineFn over a collection at once: the aggregate of deduplicated rows, computed after the Combine."""
    accumulator = fn.create_accumulator()
    for item in values:
        accumulator = fn.add_input(accumulator, item)
    return fn.extract_output(accumulator)


@beam.typehints.with_output_types(int)
class Count(beam.CombineFn):
    """`COUNT(col)`: the non-null values (0 when there are none)."""

    def create_accumulator(self) -> int:
        return 0

    def add_input(self, accumulator: int, value: Any) -> int:
        return accumulator + (value is not None)

    def merge_accumulators(self, accumulators: Iterable[int]) -> int:
        return sum(accumulators)

    def extract_output(self, accumulator: int) -> int:
        return accumulator


# Room for any sum of decimal(38, s) values without rounding (Python's default context keeps 28 digits).
_WIDE = decimal.Context(prec=100)
# Spark divides a decimal average in 34 significant digits (MathContext.DECIMAL128), then rounds to its scale.
_DECIMAL128 = decimal.Context(prec=34, rounding=decimal.ROUND_HALF_EVEN)


def _plus(a: Any, b: Any) -> Any:
    return _WIDE.add(a, b) if isinstance(a, decimal.Decimal) or isinstance(b, decimal.Decimal) else a + b


class Sum(beam.CombineFn):
    """`SUM(col)`: the sum of the non-null values (exact for decimals); None when there is none."""

    def create_accumulator(self) -> Any:
        return None

    def add_input(self, accumulator: Any, value: Any) -> Any:
        if value is None:
            return accumulator
        return value if accumulator is None else _plus(accumulator, value)

    def merge_accumulators(self, accumulators: Iterable[Any]) -> Any:
        total = None
        for accumulator in accumulators:
            total = self.add_input(total, accumulator)
        return total

    def extract_output(self, accumulator: Any) -> Any:
        return accumulator


class Mean(beam.CombineFn):
    """`AVG(col)`: a double, the mean of the non-null values; None when there is none. With `scale` (the average
    of a decimal(p,s) column, scale s+4) a Decimal of that scale, rounded half up as Spark rounds it."""

    def __init__(self, scale: int | None = None) -> None:
        super().__init__()
        self.scale = scale

    def create_accumulator(self) -> tuple[Any, int]:
        return (0, 0)

    def add_input(self, accumulator: tuple[Any, int], value: Any) -> tuple[Any, int]:
        if value is None:
            return accumulator
        return (_plus(accumulator[0], value), accumulator[1] + 1)

    def merge_accumulators(self, accumulators: Iterable[tuple[Any, int]]) -> tuple[Any, int]:
        total, count = 0, 0
        for part, n in accumulators:
            total, count = _plus(total, part), count + n
        return (total, count)

    def extract_output(self, accumulator: tuple[Any, int]) -> float | decimal.Decimal | None:
        total, count = accumulator
        if not count:
            return None
        if self.scale is None:
            return float(total) / count
        mean = _DECIMAL128.divide(decimal.Decimal(total), decimal.Decimal(count))
        return mean.quantize(decimal.Decimal(1).scaleb(-self.scale), rounding=decimal.ROUND_HALF_UP, context=_WIDE)


def _nan_last(value: Any) -> tuple[bool, Any]:
    """Spark orders NaN above every other double: sort on (is NaN, value)."""
    nan = isinstance(value, float) and math.isnan(value)
    return (nan, 0.0 if nan else value)


class Min(beam.CombineFn):
    """`MIN(col)`: the least non-null value (NaN above every number, as Spark); None when there is none."""

    def create_accumulator(self) -> Any:
        return None

    def add_input(self, accumulator: Any, value: Any) -> Any:
        if value is None:
            return accumulator
        if accumulator is None or _nan_last(value) < _nan_last(accumulator):
            return value
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[Any]) -> Any:
        best = None
        for accumulator in accumulators:
            best = self.add_input(best, accumulator)
        return best

    def extract_output(self, accumulator: Any) -> Any:
        return accumulator


class Max(Min):
    """`MAX(col)`: the greatest non-null value (NaN above every number, as Spark); None when there is none."""

    def add_input(self, accumulator: Any, value: Any) -> Any:
        if value is None:
            return accumulator
        if accumulator is None or _nan_last(value) > _nan_last(accumulator):
            return value
        return accumulator


@beam.typehints.with_output_types(int)
class CountDistinct(beam.CombineFn):
    """`COUNT(DISTINCT col)`: the set of values, as Beam's ToSetCombineFn keeps it (a duplicate adds nothing, in
    every pane), then its size without None (Spark does not count null)."""

    def create_accumulator(self) -> set[Any]:
        return set()

    def add_input(self, accumulator: set[Any], value: Any) -> set[Any]:
        accumulator.add(value)
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[set[Any]]) -> set[Any]:
        return set().union(*accumulators)

    def extract_output(self, accumulator: set[Any]) -> int:
        return len(accumulator - {None})
