"""Incidents follow the newest hour, whatever order results arrive in: re-checking older healthy hours (a backfill
--force) after a breach never resolves it, and the breach pages once however many past hours are checked."""

from __future__ import annotations

from dataclasses import replace

import pytest
from alert_fixtures import Receiver, check_result, oncall_rule, write_rule

from parity.alerts import Action, evaluate_alerts, open_incidents
from parity.settings import Settings

T0 = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
MINUTE = 60_000_000
BREACH = {"compared": 10_000, "matched": 9_900}
HEALTHY = {"compared": 10_000, "matched": 10_000}

pytestmark = pytest.mark.usefixtures("secrets")


def hour(hh: int, **cells: int) -> object:
    return replace(check_result(**cells), start=f"2026-03-01T{hh:02d}:00:00Z", end=f"2026-03-01T{hh + 1:02d}:00:00Z")


def test_a_backfill_of_older_healthy_hours_neither_resolves_nor_re_pages_the_current_breach(
    settings: Settings, receiver: Receiver,
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    [opened] = evaluate_alerts([hour(5, **BREACH)], settings, at_us=T0)
    assert opened.action is Action.OPENED
    backfill = [hour(h, **HEALTHY) for h in range(5)]  # 00:00 .. 04:00 re-checked, all healthy
    assert evaluate_alerts(backfill, settings, at_us=T0 + MINUTE) == []
    [still] = evaluate_alerts([hour(6, **BREACH)], settings, at_us=T0 + 2 * MINUTE)

    assert (still.action, still.notified, still.incident.id) == (Action.UPDATED, False, opened.incident.id)
    assert [event["event_action"] for event in receiver.delivered("/v2/enqueue")] == ["trigger"]
    assert [incident.id for incident in open_incidents(settings)] == [opened.incident.id]


def test_a_breach_found_in_an_older_hour_opens_an_incident_once_when_none_is_open(
    settings: Settings, receiver: Receiver,
) -> None:
    write_rule(settings, "oncall", oncall_rule(receiver))
    assert evaluate_alerts([hour(5, **HEALTHY)], settings, at_us=T0) == []
    [opened] = evaluate_alerts([hour(2, **BREACH)], settings, at_us=T0 + MINUTE)
    assert opened.action is Action.OPENED
    assert evaluate_alerts([hour(3, **BREACH)], settings, at_us=T0 + 2 * MINUTE) == []
    assert len(receiver.delivered("/v2/enqueue")) == 1
