"""The HTML report's charts, drawn by matplotlib as inline SVG: static markup, no script, no network.

matplotlib is drawn through its object API (`Figure`, no pyplot state), text kept as SVG text (small) and ids
salted per chart (stable output, no clash between charts of one page). Labels are times, cause names and numbers
that parity writes, never a value from the data.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from parity.result import Cause, WhatIf, WindowCounts
from parity.units import parse_duration

MAX_BARS = 240  # beyond this, consecutive windows are summed into one bar (the caption says how many)
CAUSE_COLORS = {
    Cause.LATE_ARRIVAL.value: "#f2a541", Cause.DUPLICATE_OUTPUT.value: "#7a6c8f", Cause.NULL_SEMANTICS.value: "#4f9d69",
    Cause.WINDOW_SHIFT.value: "#3c6e91", Cause.KEY_MISMATCH.value: "#b279a2", Cause.UNEXPLAINED.value: "#d1495b",
}
_OTHER_COLOR = "#7a6c8f"
_INK, _GRID, _BAR = "#333333", "#dddddd", "#2e86ab"


def _svg(figure: Any, salt: str) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt, "font.size": 8}):
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # inline: without the XML prolog and DOCTYPE
    start, end = text.find("<metadata>"), text.find("</metadata>")
    return text if start < 0 else text[:start] + text[end + len("</metadata>"):]


def _figure(width: float, height: float, rows: int = 1, ratios: Sequence[int] | None = None) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=96, layout="constrained")
    axes = figure.subplots(rows, 1, sharex=True, gridspec_kw={"height_ratios": ratios} if ratios else None)
    for ax in axes if rows > 1 else [axes]:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(axis="y", color=_GRID, linewidth=0.6)
        ax.set_axisbelow(True)
    return figure, axes


def bins(windows: Sequence[WindowCounts]) -> int:
    """Windows per bar of the range chart."""
    return max(1, math.ceil(len(windows) / MAX_BARS))


def range_chart(windows: Sequence[WindowCounts], threshold: float) -> str:
    """Agreement per window (top) and divergent cells per window stacked by cause (bottom)."""
    per_bar = bins(windows)
    groups = [windows[i:i + per_bar] for i in range(0, len(windows), per_bar)]
    x = list(range(len(groups)))
    compared = [sum(w.compared for w in group) for group in groups]
    matched = [sum(w.matched for w in group) for group in groups]
    agreement = [m / c if c else 1.0 for m, c in zip(matched, compared, strict=True)]
    causes = sorted({cause for w in windows for cause in w.causes}, key=lambda c: (c not in CAUSE_COLORS, c))
    figure, (top, bottom) = _figure(9.0, 3.6, rows=2, ratios=(1, 1))
    top.plot(x, [a * 100 for a in agreement], color=_BAR, linewidth=1.2, marker="o", markersize=2)
    top.axhline(threshold * 100, color=CAUSE_COLORS[Cause.UNEXPLAINED.value], linestyle="--", linewidth=0.9,
                label=f"threshold {threshold * 100:g}%")
    top.set_ylabel("agreement %")
    base = [0] * len(groups)
    for cause in causes:
        counts = [sum(w.causes.get(cause, 0) for w in group) for group in groups]
        bottom.bar(x, counts, bottom=base, width=0.85, color=CAUSE_COLORS.get(cause, _OTHER_COLOR), label=cause,
                   gid=f"bars-{cause}")
        base = [b + c for b, c in zip(base, counts, strict=True)]
    bottom.set_ylabel("divergent cells")
    figure.legend(loc="outside upper right", frameon=False, ncols=4)  # wraps: six causes and the threshold fit
    step = max(1, len(groups) // 8)
    bottom.set_xticks(x[::step], [groups[i][0].window_start[11:16] for i in x[::step]])
    bottom.set_xlabel("window start (UTC)" + (f", {per_bar} windows per bar" if per_bar > 1 else ""))
    return _svg(figure, "range")


def what_if_chart(points: Sequence[WhatIf], threshold: float) -> str:
    """Agreement against allowed lateness (the ladder's steps, evenly spaced), with the threshold line."""
    figure, ax = _figure(5.0, 2.4)
    ordered = sorted(points, key=lambda p: parse_duration(p.allowed_lateness))
    x = list(range(len(ordered)))
    ax.plot(x, [p.agreement * 100 for p in ordered], color=_BAR, marker="o", markersize=3, gid="what-if-curve")
    ax.set_xticks(x, [p.allowed_lateness for p in ordered])
    ax.axhline(threshold * 100, color=CAUSE_COLORS[Cause.UNEXPLAINED.value], linestyle="--", linewidth=0.9,
               label=f"threshold {threshold * 100:g}%")
    ax.set_xlabel("allowed lateness")
    ax.set_ylabel("agreement %")
    ax.legend(loc="lower right", frameon=False)
    return _svg(figure, "what-if")


def history_chart(labels: Sequence[str], agreements: Sequence[float], threshold: float) -> str:
    """Agreement of the feature's last checks, oldest first."""
    figure, ax = _figure(5.0, 2.0)
    x = list(range(len(agreements)))
    ax.plot(x, [a * 100 for a in agreements], color=_BAR, marker="o", markersize=3, gid="history-line")
    ax.axhline(threshold * 100, color=CAUSE_COLORS[Cause.UNEXPLAINED.value], linestyle="--", linewidth=0.9)
    step = max(1, math.ceil(len(x) / 4))
    ax.set_xticks(x[::step], [labels[i] for i in x[::step]])
    ax.set_ylabel("agreement %")
    return _svg(figure, "history")


def sparkline(agreements: Sequence[float]) -> str:
    """The index's trend: agreement of a feature's last reports, oldest first, without axes."""
    figure, ax = _figure(1.6, 0.45)
    ax.plot(range(len(agreements)), [a * 100 for a in agreements], color=_BAR, linewidth=1.0, gid="trend-line")
    ax.set_axis_off()
    return _svg(figure, "trend")
