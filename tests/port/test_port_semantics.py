"""Spark SQL semantics of the functions ported jobs call (parity.port.spark) and of the CombineFns they use
(parity.port.combine), against values measured on Spark 4.3 in ANSI mode (see SEMANTICS.md), and what Beam
YAML's own built-in combine functions do with None (why the port does not use them)."""

from __future__ import annotations

import math
import typing

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.yaml.yaml_transform import YamlTransform

from parity.port import combine, spark


def test_null_operands_give_none() -> None:
    for result in (spark.add(None, 1), spark.subtract(1, None), spark.multiply(None, None), spark.divide(None, 2),
                   spark.div(None, 2), spark.mod(7, None), spark.concat("a", None), spark.lower(None),
                   spark.compare("<", None, 1), spark.like(None, "a%"), spark.round_(None, 2), spark.sqrt(None)):
        assert result is None


def test_divide_is_always_a_double_and_raises_on_zero_like_spark_ansi() -> None:
    assert spark.divide(7, 2) == 3.5 and isinstance(spark.divide(4, 2), float)
    with pytest.raises(ZeroDivisionError):
        spark.divide(1.0, 0.0)


def test_try_divide_gives_none_on_zero_or_null_divisor() -> None:
    assert spark.try_divide(1, 0) is None and spark.try_divide(1.0, 0.0) is None and spark.try_divide(1, None) is None
    assert spark.try_divide(4, 2) == 2.0 and isinstance(spark.try_divide(4, 2), float)


def test_div_and_mod_truncate_toward_zero_as_spark() -> None:
    # Spark 4.3: -7 div 2 = -3, 7 div -2 = -3, -7 % 3 = -1, 7 % -3 = 1, -7.5 % 2 = -1.5 (Python: -4, -4, 2, -2, 0.5)
    assert (spark.div(-7, 2), spark.div(7, -2), spark.div(7, 2)) == (-3, -3, 3)
    assert (spark.mod(-7, 3), spark.mod(7, -3), spark.mod(-7.5, 2)) == (-1, 1, -1.5)


def test_round_is_half_away_from_zero_on_decimal_digits() -> None:
    # Spark 4.3: round(2.5) = 3, round(-2.5) = -3, round(0.285, 2) = 0.29, round(1.005, 2) = 1.01,
    # round(2.675, 2) = 2.68, round(0.125, 2) = 0.13, round(15, -1) = 20, round(-15, -1) = -20
    assert spark.round_(2.5) == 3.0 and spark.round_(-2.5) == -3.0
    assert [spark.round_(x, 2) for x in (0.285, 1.005, 2.675, 0.125)] == [0.29, 1.01, 2.68, 0.13]
    assert spark.round_(15, -1) == 20 and spark.round_(-15, -1) == -20 and isinstance(spark.round_(7, -1), int)


def test_math_functions_match_spark() -> None:
    assert spark.floor(-2.5) == -3 and spark.ceil(-2.5) == -2 and isinstance(spark.floor(2.5), int)
    assert math.isnan(spark.sqrt(-1.0))  # type: ignore[arg-type]
    assert spark.pow_(2, 3) == 8.0 and isinstance(spark.pow_(2, 3), float)
    assert spark.abs_(-3) == 3


def test_substring_is_one_based_with_spark_edge_cases() -> None:
    # Spark 4.3: substring('hello', 0, 2) = 'he', substring('hello', -3, 2) = 'll', substring('hello', 2) = 'ello'
    assert spark.substring("hello", 0, 2) == "he"
    assert spark.substring("hello", -3, 2) == "ll"
    assert spark.substring("hello", 2) == "ello"
    assert spark.substring("hello", -10, 3) == "" and spark.substring("hello", 2, 0) == ""


def test_like_matches_the_whole_string_with_escapes() -> None:
    assert spark.like("ab", "a_") and not spark.like("abc", "a_")
    assert spark.like("a%b", "a\\%b") and not spark.like("axb", "a\\%b")
    assert spark.like("driver_ping", "driver%") and not spark.like("a.b", "a\\.c")


def test_three_valued_logic() -> None:
    assert spark.and_(False, None) is False and spark.and_(True, None) is None
    assert spark.or_(True, None) is True and spark.or_(False, None) is None
    assert spark.not_(None) is None and spark.in_(None, (1, 2)) is None


def test_combine_fns_skip_nulls_and_give_none_for_no_value() -> None:
    values = [3, None, 1, None]
    assert combine.over(combine.Count(), values) == 2
    assert combine.over(combine.Sum(), values) == 4
    assert combine.over(combine.Mean(), values) == 2.0
    assert combine.over(combine.Min(), values) == 1 and combine.over(combine.Max(), values) == 3
    assert combine.over(combine.CountDistinct(), ["a", "a", None, "b"]) == 2
    nulls = [None, None]
    assert combine.over(combine.Count(), nulls) == 0
    for fn in (combine.Sum(), combine.Mean(), combine.Min(), combine.Max()):
        assert combine.over(fn, nulls) is None


def test_min_and_max_order_nan_above_every_number_as_spark() -> None:
    # Spark 4.3: min over (NaN, 1.0) = 1.0, max = NaN (Python's min/max depend on the order of the values)
    for values in ([math.nan, 1.0], [1.0, math.nan]):
        assert combine.over(combine.Min(), values) == 1.0
        assert math.isnan(combine.over(combine.Max(), values))


class _Row(typing.NamedTuple):
    k: str
    v: typing.Optional[float]  # noqa: UP045 - Beam's schema inference reads typing.Optional


beam.coders.registry.register_coder(_Row, beam.coders.RowCoder)


def _yaml_combine(combine: str, rows: list[tuple[str, float | None]], expected: list[object]) -> None:
    """Run Beam YAML's Combine (`combine:` entries over field v, grouped by k) and assert its output rows."""
    spec = f"""
type: Combine
config:
  language: python
  group_by: [k]
  combine:
{combine}
"""
    with TestPipeline() as pipeline:
        source = pipeline | beam.Create([_Row(k, v) for k, v in rows]).with_output_types(_Row)
        out = source | YamlTransform(spec) | beam.Map(lambda row: tuple(row))
        assert_that(out, equal_to(expected))


def test_beam_yaml_builtin_sum_raises_on_none_and_count_counts_none() -> None:
    """Why the port writes parity.port.combine fns: Beam YAML's `sum` fails on a null, `count` counts it."""
    with pytest.raises(Exception, match="NoneType"):
        _yaml_combine("    total: {value: v, fn: sum}", [("a", 1.0), ("a", None)], [("a", 1.0)])
    _yaml_combine("    n: {value: v, fn: count}", [("a", 1.0), ("a", None), ("a", None)], [("a", 3)])


def test_port_combine_fns_in_beam_yaml_skip_nulls_and_give_none_for_no_value() -> None:
    combine = "\n".join(f"    {name}: {{value: v, fn: {{type: parity.port.combine.{fn}, config: {{}}}}}}"
                        for name, fn in (("total", "Sum"), ("n", "Count"), ("top", "Max"), ("distinct", "CountDistinct"),
                                         ("mean", "Mean")))
    rows = [("a", 1.0), ("a", None), ("a", 2.0), ("a", 1.0), ("b", None), ("b", None)]
    _yaml_combine(combine, rows, [("a", 4.0, 3, 2.0, 2, 4.0 / 3), ("b", None, 0, None, 0, None)])


def test_decimal_sums_are_exact_and_decimal_means_round_half_up_at_their_scale() -> None:
    from decimal import Decimal

    # 38-digit decimals: Python's default context (28 digits) would round the sum
    big = [Decimal("123456789012345678901234567890.12"), Decimal("0.01"), None]
    assert combine.over(combine.Sum(), big) == Decimal("123456789012345678901234567890.13")
    # Spark 4.3: avg of decimal(10,2) is decimal(14,6): 50.4165625 -> 50.416563 (half up; half even gives ...562)
    values = [Decimal("50.41")] * 31 + [Decimal("50.62")]  # 1613.33 / 32 = 50.4165625
    mean = combine.over(combine.Mean(scale=6), values)
    assert str(mean) == "50.416563" and combine.over(combine.Mean(scale=6), [None]) is None
    tie = [Decimal("0.01"), Decimal("0.02")] + [Decimal("0.00")] * 30  # 0.03 / 32 = 0.0009375 -> 0.000938
    assert str(combine.over(combine.Mean(scale=6), tie)) == "0.000938"
    assert combine.over(combine.Mean(), [1, 2]) == 1.5  # an int or double column's mean stays a double
