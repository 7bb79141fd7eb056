"""The served side of a report: what models read from the online store, how fresh it was and why it differed.

Rendered from the `served` block of a `CheckResult` (`served_block`, built from a `parity.served.ServedResult`):
the figures (emitted, served and store-vs-stream agreement side by side; freshness p50/p95/p99 and the share
within the SLA), the latency distribution with the SLA line (matplotlib SVG, as the other charts), the causes
with the store's in their own colours, and the worst reads with the command that reproduces each.
"""

from __future__ import annotations

import html
import itertools
from typing import Any

from parity.served import StoreCause, served_block

__all__ = ["STORE_COLORS", "freshness_chart", "served_block", "served_html", "served_markdown"]

STORE_COLORS = {
    StoreCause.STALE.value: "#e07a5f", StoreCause.MISSING_IN_STORE.value: "#6d597a",
    StoreCause.OUT_OF_ORDER_WRITE.value: "#b56576", StoreCause.STORE_VALUE_MISMATCH.value: "#355070",
}


def freshness_chart(block: dict[str, Any]) -> str:
    """The latency distribution of the served values (seconds since their window closed), with the SLA line."""
    from parity.report.charts import _figure, _svg

    edges = block["histogram"]["edges_s"]
    counts = block["histogram"]["counts"]
    figure, ax = _figure(5.0, 2.4)
    widths = [b - a for a, b in itertools.pairwise(edges)]
    ax.bar(edges[:-1], counts, width=widths, align="edge", color="#2e86ab", gid="freshness-bars")
    ax.axvline(block["freshness_sla_s"], color="#d1495b", linestyle="--", linewidth=0.9,
               label=f"SLA {block['freshness_sla_s']:g} s")
    ax.set_xlabel(f"age of the value served, s ({block['clock']} clock)")
    ax.set_ylabel("reads")
    ax.legend(loc="upper right", frameon=False)
    return _svg(figure, "freshness")


def served_html(block: dict[str, Any], feature: str) -> str:
    """The report's freshness section (static HTML, every value escaped)."""
    e = html.escape
    figures = [("emitted agreement", _pct(block.get("emitted_agreement"))),
               ("served agreement", _pct(block["served_agreement"])),
               ("store agrees with the stream", _pct(block["store_agreement"])),
               ("freshness p99", _sec(block["freshness_p99_s"])),
               ("within the SLA", _pct(block["within_sla"]))]
    rows = "".join(
        f'<tr><td><span class="swatch" style="display:inline-block;width:10px;height:10px;margin-right:6px;background:{STORE_COLORS.get(cause, "#999")}"></span>{e(cause)}</td>'
        f'<td class="num">{count}</td></tr>'
        for cause, count in block["causes"].items() if count)
    worst = "".join(
        f"<tr><td class=\"data\">{e(', '.join(f'{k}={v}' for k, v in w['keys'].items()))}</td><td>{e(w['read_at'])}</td>"
        f"<td>{e(w['cause'])}</td><td>{e(str(w['served_window_end']))}</td><td>{e(str(w['expected_window_end']))}</td>"
        f"<td><code>parity check {e(feature)} --served --start {e(w['hour'])} --end {e(w['next_hour'])}</code></td></tr>"
        for w in block["worst_reads"])
    return (
        '<section id="served-section">\n<h2>Served: what models read</h2>\n<div class="figures">'
        + "".join(f'<div><div class="muted">{e(name)}</div><div class="figure-value">{e(value)}</div></div>'
                  for name, value in figures)
        + f"</div>\n<p class=\"muted\">{block['reads']} reads on the {e(block['clock'])} clock; freshness p50 "
        f"{_sec(block['freshness_p50_s'])}, p95 {_sec(block['freshness_p95_s'])}, SLA {block['freshness_sla_s']:g} s; "
        f"served agreement 95% interval {_pct(block['ci_low'])} to {_pct(block['ci_high'])}.</p>\n"
        f'<figure class="chart" id="freshness-chart">{freshness_chart(block)}</figure>\n'
        + (f'<table id="served-causes" style="width:auto"><tr><th>cause</th><th class="num">reads</th></tr>{rows}</table>\n'
           if rows else '<p id="served-causes">No divergent reads.</p>\n')
        + (f'<h3>Worst reads</h3>\n<table id="worst-reads"><tr><th>keys</th><th>read at</th><th>cause</th>'
           f"<th>served window end</th><th>due window end</th><th>reproduce</th></tr>{worst}</table>\n" if worst else "")
        + "</section>\n"
    )


def served_markdown(block: dict[str, Any]) -> list[str]:
    """The Markdown summary's served lines."""
    causes = ", ".join(f"{c} {n}" for c, n in block["causes"].items() if n) or "none"
    return [
        "## Served (what models read)", "",
        (f"- Served agreement: **{_pct(block['served_agreement'])}** over {block['reads']} reads "
         f"({block['clock']} clock); emitted agreement {_pct(block.get('emitted_agreement'))}; the store agrees "
         f"with the stream on {_pct(block['store_agreement'])}"),
        (f"- Freshness p50 {_sec(block['freshness_p50_s'])}, p95 {_sec(block['freshness_p95_s'])}, p99 "
         f"{_sec(block['freshness_p99_s'])}; {_pct(block['within_sla'])} within the SLA of "
         f"{block['freshness_sla_s']:g} s"),
        f"- Causes of divergent reads: {causes}", "",
    ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3%}"


def _sec(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"
