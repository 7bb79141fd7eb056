"""The served figures in every output of a check: the HTML freshness section, Markdown, text, JSON round trip."""

from __future__ import annotations

import dataclasses
import json

from test_served_check import SPEC, World

from parity.report import render_html, to_json
from parity.report.markdown import markdown
from parity.report.served import served_block
from parity.report.text import text_table
from parity.result import Cause, CheckResult, Verdict
from parity.served import StoreCause, served_check
from parity.spec import Served
from parity.units import MINUTE_US


def result() -> CheckResult:
    return CheckResult(
        feature=SPEC.name, run_id="20270115T090000Z-abcdef", start="2027-01-15T08:00:00Z", end="2027-01-15T09:00:00Z",
        sample_rate=1.0, compared=2000, matched=1999, value_mismatch=1, missing_online=0, missing_offline=0,
        duplicate_online=0, agreement=0.9995, threshold=0.999, passed=True,
        causes={cause: int(cause is Cause.UNEXPLAINED) for cause in Cause}, agreement_net_of_explained=0.9995,
        verdict=Verdict.PASSED)


def _with_served(world: World, threshold: float | None = None) -> CheckResult:
    offline, stream, reads = world.build()
    served = served_check(SPEC, Served(MINUTE_US, 2 * MINUTE_US), reads, offline, stream, clock="simulated")
    return dataclasses.replace(result(), served=served_block(served, SPEC.keys, 0.9995, threshold))


def test_the_html_report_has_a_freshness_section_with_the_sla_line_and_the_store_causes() -> None:
    page = render_html(_with_served(World(late=True, rule="last_arrival")))
    section = page[page.index('<section id="served-section">'):]
    section = section[:section.index("</section>")]
    assert 'id="freshness-chart"' in section and "SLA 120 s" in section and "simulated clock" in section
    assert StoreCause.OUT_OF_ORDER_WRITE.value in section and "#b56576" in section  # the cause in its colour
    assert "parity check requests_per_key --served --start" in section  # the worst reads' reproduce command
    assert "served agreement" in section and "emitted agreement" in section


def test_a_report_without_served_reads_has_no_freshness_section() -> None:
    assert 'id="served-section"' not in render_html(result())


def test_markdown_text_and_json_carry_served_agreement_and_freshness_percentiles() -> None:
    checked = _with_served(World(lag_us=2 * MINUTE_US))
    block = checked.served
    assert block is not None and block["causes"][StoreCause.STALE.value] > 0
    assert "Freshness p50" in markdown(checked) and "within the SLA" in markdown(checked)
    line = text_table([checked]).splitlines()[-1]
    assert line.startswith("  served:") and "p99" in line and f"stale {block['causes']['stale']}" in line
    again = CheckResult.from_json(json.loads(json.dumps(to_json(checked))))
    assert again.served is not None and again.served["freshness_p99_s"] == block["freshness_p99_s"]


def test_served_agreement_below_the_bar_is_a_served_breach_in_the_text() -> None:
    lagging = _with_served(World(lag_us=2 * MINUTE_US), threshold=0.999)
    healthy = _with_served(World(), threshold=0.999)
    assert lagging.served is not None and lagging.served["passed"] is False
    assert healthy.served is not None and healthy.served["passed"] is True
    assert text_table([lagging]).splitlines()[-1].startswith("  served BREACHED:")
    assert text_table([healthy]).splitlines()[-1].startswith("  served passed:")
