"""Served figures beyond one report: the ledger keeps them (and an old ledger gains the column), history and
`parity metrics` show served agreement and the freshness percentiles, and an alert rule fires on freshness."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sqlalchemy as sa
from test_served_check import World
from test_served_report import _with_served, result

from parity import ledger
from parity.alerts.incidents import Action, observe, step
from parity.alerts.rules import Condition, load_rule
from parity.history import history, to_text
from parity.metrics import render
from parity.units import MINUTE_US

HOUR = 1_800_000_000_000_000 // 3_600_000_000 * 3_600_000_000


def _record(database: str, checked: object, start: int, run_id: str) -> None:
    engine = ledger.connect(database)
    with engine.begin() as conn:
        ledger.record_hour(conn, dataclasses.replace(checked, run_id=run_id), start, start + 3_600_000_000,  # type: ignore[type-var]
                           "c0ffee", "r.html", start)
    engine.dispose()


def test_history_and_metrics_carry_served_agreement_and_freshness_percentiles(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'parity.db'}"
    _record(database, result(), HOUR, "plain")
    _record(database, _with_served(World(lag_us=2 * MINUTE_US)), HOUR + 3_600_000_000, "served")
    engine = ledger.connect(database)
    with engine.connect() as conn:
        records = ledger.hours(conn)
    engine.dispose()
    assert records[0].served is None and records[1].served is not None
    text = to_text(history(records[1].feature, records, None))
    assert "served" in text and "freshness p50/p95/p99" in text and "simulated clock" in text
    exposition = render(records, [])
    p99 = records[1].served["freshness_p99_s"]
    assert f'parity_served_freshness_p99_seconds{{feature="requests_per_key",clock="simulated"}} {float(p99)!r}' in exposition
    assert 'parity_served_agreement{feature="requests_per_key",clock="simulated"}' in exposition
    assert "# TYPE parity_served_within_sla gauge" in exposition


def test_a_ledger_made_before_the_served_column_gains_it(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.MetaData()
    sa.Table("parity_ledger", old, *(sa.Column(c.name, c.type, primary_key=c.primary_key)
                                     for c in ledger.ledger.columns if c.name != "served"))
    engine = sa.create_engine(database)
    old.create_all(engine)
    engine.dispose()
    _record(database, _with_served(World()), HOUR, "after")
    engine = ledger.connect(database)
    with engine.connect() as conn:
        assert ledger.hours(conn)[0].served is not None
    engine.dispose()


def test_an_alert_rule_fires_on_freshness_and_resolves_when_reads_are_fresh_again(tmp_path: Path) -> None:
    path = tmp_path / "stale_reads.yaml"
    path.write_text("when: {freshness: warning}\nresolve_after: 1\nchannels: [{type: console}]\n")
    rule = load_rule(path)
    lagging = _with_served(World(lag_us=3 * MINUTE_US))
    evidence = observe(rule, lagging)
    assert evidence.held == {Condition.FRESHNESS: rule.when[Condition.FRESHNESS]}
    assert "within the 120 s SLA" in evidence.summary
    opened = step(None, rule, evidence, 1)
    assert opened is not None and opened.action is Action.OPENED
    fresh = observe(rule, _with_served(World()))
    assert fresh.held == {} and fresh.healthy
    closed = step(opened.incident, rule, fresh, 2)
    assert closed is not None and closed.action is Action.RESOLVED
    assert observe(rule, result()).held == {}  # no served check: nothing to judge
