"""The 95% Wilson interval, the cells needed to show a threshold, and the breach/suspect/ok decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parity.confidence import Decision, assess, cells_needed, more_cells_to_settle, wilson_interval


def test_wilson_interval_matches_the_published_values() -> None:
    # Newcombe (1998), table I: 0/10 -> [0, 0.2775]; 81/263 -> [0.2553, 0.3662]
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)


def test_no_compared_cells_prove_nothing() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_cells_needed_for_999_is_the_first_all_match_sample_that_shows_it() -> None:
    needed = cells_needed(0.999)
    assert needed == 3838
    assert wilson_interval(needed, needed)[0] >= 0.999
    assert wilson_interval(needed - 1, needed - 1)[0] < 0.999


def test_500_matching_cells_cannot_show_999() -> None:
    low, high = wilson_interval(500, 500)
    assert low < 0.999 <= high
    assert assess(1.0, 500, 0.999).decision is Decision.OK


def test_a_large_sample_below_the_bar_is_a_breach() -> None:
    judged = assess(0.99, 10_000, 0.999)
    assert judged.decision is Decision.BREACH
    assert judged.ci_high < 0.999
    assert judged.more_cells_to_settle is None


def test_a_small_sample_dip_is_suspect_and_says_how_many_more_cells_settle_it() -> None:
    judged = assess(499 / 500, 500, 0.999)
    assert judged.decision is Decision.SUSPECT
    assert judged.ci_low < judged.agreement < 0.999 <= judged.ci_high
    more = judged.more_cells_to_settle
    assert more is not None and more > 0
    assert wilson_interval(0.998 * (500 + more), 500 + more)[1] < 0.999
    assert wilson_interval(0.998 * (500 + more - 1), 500 + more - 1)[1] >= 0.999


@given(st.integers(min_value=1, max_value=100_000), st.data())
def test_the_interval_contains_the_point_estimate(compared: int, data: st.DataObject) -> None:
    matched = data.draw(st.integers(min_value=0, max_value=compared))
    low, high = wilson_interval(matched, compared)
    assert 0.0 <= low <= matched / compared <= high <= 1.0


@given(st.floats(min_value=0.5, max_value=0.9989), st.integers(min_value=1, max_value=5_000))
def test_more_cells_at_the_same_rate_always_settle_a_dip(agreement: float, compared: int) -> None:
    more = more_cells_to_settle(agreement, compared, 0.999)
    total = compared + more
    assert wilson_interval(agreement * total, total)[1] < 0.999
