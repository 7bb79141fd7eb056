"""How sure a check is: the 95% Wilson score interval of agreement and the alert decision it supports.

With a 99.9% bar a small sample proves nothing: 500 compared cells that all match give a 95% interval of
[0.9924, 1.0]. The decision therefore looks at the interval, not just the point estimate:

- `breach`: the interval's upper bound is below the threshold (the data shows the bar is missed; page-worthy);
- `suspect`: the point estimate is below the threshold but the interval still covers it (warn; more cells settle it);
- `ok`: the point estimate meets the threshold.

Every figure here uses the same two-sided 95% Wilson score interval (z = 1.95996), so the cells `cells_needed`
asks for are exactly the cells after which a clean sample's interval clears the threshold.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95%: the 97.5th percentile of the standard normal
_MAX_CELLS = 10**12


class Decision(enum.StrEnum):
    OK = "ok"
    SUSPECT = "suspect"
    BREACH = "breach"


@dataclass(frozen=True, slots=True)
class Assessment:
    """One agreement measure judged against a threshold: the decision and the figures behind it."""

    agreement: float
    ci_low: float
    ci_high: float
    compared: int
    threshold: float
    decision: Decision
    more_cells_to_settle: int | None  # suspect only: cells at the observed rate that would confirm the breach


def wilson_interval(matched: float, compared: int, z: float = Z95) -> tuple[float, float]:
    """95% Wilson score interval (two-sided) of the agreement `matched / compared`.

    Wilson rather than the normal approximation because agreement sits next to 1, where the normal interval
    collapses to a width of zero; Wilson stays honest there and needs no special case for all-match samples.
    `matched` may be fractional (agreement net of explained causes times `compared`). No cells: (0.0, 1.0).
    """
    if compared <= 0:
        return 0.0, 1.0
    if not 0 <= matched <= compared:
        raise ValueError(f"matched {matched} must be between 0 and compared {compared}")
    p = matched / compared
    z2 = z * z
    denominator = 1 + z2 / compared
    centre = (p + z2 / (2 * compared)) / denominator
    half = z * math.sqrt(p * (1 - p) / compared + z2 / (4 * compared * compared)) / denominator
    # the interval always contains p; clamp away float rounding at the edges (0 and 1)
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def cells_needed(threshold: float, z: float = Z95) -> int:
    """Compared cells needed to show agreement >= `threshold` at 95% (Wilson) when every cell matches.

    With all cells matching the Wilson lower bound is n / (n + z^2), so n = ceil(threshold * z^2 / (1 - threshold)):
    3,838 cells for 0.999 (the "rule of three" figure of about 3,000 is the one-sided exact bound, which this
    two-sided interval does not promise). A threshold of 0 needs no cells; a threshold of 1 can never be shown.
    """
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold {threshold} must be between 0 and 1")
    if threshold == 0:
        return 0
    if threshold == 1:
        return _MAX_CELLS
    n = math.ceil(threshold * z * z / (1 - threshold) - 1e-9)
    while wilson_interval(n, n, z)[0] < threshold:  # guard the closed form against float rounding
        n += 1
    return n


def assess(agreement: float, compared: int, threshold: float) -> Assessment:
    """Judge one agreement (a fraction of `compared` cells) against `threshold` with its 95% Wilson interval."""
    low, high = wilson_interval(agreement * compared, compared)
    if high < threshold:
        decision = Decision.BREACH
    elif agreement < threshold:
        decision = Decision.SUSPECT
    else:
        decision = Decision.OK
    more = more_cells_to_settle(agreement, compared, threshold) if decision is Decision.SUSPECT else None
    return Assessment(agreement, low, high, compared, threshold, decision, more)


def more_cells_to_settle(agreement: float, compared: int, threshold: float) -> int:
    """Further compared cells, at the observed agreement, after which the interval's upper bound falls below
    `threshold` (the suspected breach is confirmed). Only meaningful when agreement < threshold."""
    if agreement >= threshold:
        return 0

    def settled(n: int) -> bool:
        return wilson_interval(agreement * n, n)[1] < threshold

    high = max(compared, 1)
    while not settled(high):
        if high >= _MAX_CELLS:
            return _MAX_CELLS - compared
        high *= 2
    low = max(compared, 0)
    while low + 1 < high:  # the upper bound shrinks as n grows at a fixed rate below the threshold
        middle = (low + high) // 2
        if settled(middle):
            high = middle
        else:
            low = middle
    return max(high - compared, 0)
