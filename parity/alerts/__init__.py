"""Alerts: confidence -> rules -> incidents -> store (outbox) -> delivery through channels.

The API the check and the CLI call:

- `evaluate_alerts(results, settings) -> list[IncidentChange]`: after a check (`parity check ... --alert`);
- `record_results(results, settings) -> int`: store results of a check run without `--alert`;
- `open_incidents(settings) -> list[Incident]`: `parity alerts`;
- `send_test(rule_name, settings) -> list[Delivery]`: `parity alerts test RULE`;
- `validate_store(settings)`: before a check that will write to the store, so a corrupt store stops it early;
- `wilson_interval(matched, compared)` and `cells_needed(threshold)`: the check fills `CheckResult.ci_low`,
  `ci_high` and `cells_needed` with them.
"""

from __future__ import annotations

from parity.alerts.channels import Delivery
from parity.alerts.delivery import deliver_pending, send_test
from parity.alerts.evaluate import evaluate_alerts, open_incidents, record_results
from parity.alerts.incidents import Action, Incident, IncidentChange, IncidentStatus
from parity.alerts.rules import AlertRule, Condition, Severity, load_rules
from parity.alerts.store import validate as _validate
from parity.confidence import Assessment, Decision, assess, cells_needed, wilson_interval
from parity.settings import Settings


def validate_store(settings: Settings) -> None:
    """Raise `StoreError` (one line naming the database) unless the results store opens, is intact and writable."""
    _validate(settings.database)


__all__ = [
    "Action",
    "AlertRule",
    "Assessment",
    "Condition",
    "Decision",
    "Delivery",
    "Incident",
    "IncidentChange",
    "IncidentStatus",
    "Severity",
    "assess",
    "cells_needed",
    "deliver_pending",
    "evaluate_alerts",
    "load_rules",
    "open_incidents",
    "record_results",
    "send_test",
    "validate_store",
    "wilson_interval",
]
