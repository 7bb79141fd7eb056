"""After a check: record its results, move incidents, queue and deliver notifications.

Incidents follow the newest hour: a result for an hour older than the newest one already recorded for its feature
(a backfill, a forced re-check) opens an incident for a breach it finds when none is open, and otherwise moves
nothing: it never resolves, re-pages or counts towards the recovery of the incident the newest hours hold.

For each result, one transaction records it, applies every matching rule's incident change and queues the
notifications those changes send (the outbox). A result already recorded (same run_id and feature) was
evaluated before, perhaps by a run that was killed afterwards: it is not evaluated twice. Then the outbox is
delivered, including anything earlier runs left pending.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from parity.alerts import store
from parity.alerts.channels import missing_secrets
from parity.alerts.delivery import deliver_pending, now_us
from parity.alerts.incidents import Incident, IncidentChange, IncidentStatus, message_for, observe, step
from parity.alerts.rules import AlertRule, load_rules
from parity.alerts.store import Notification, NotificationStatus
from parity.report.publish import report_link
from parity.result import CheckFailure, CheckResult
from parity.settings import Settings

log = logging.getLogger("parity.alerts")


def evaluate_alerts(
    results: Sequence[CheckResult | CheckFailure], settings: Settings, *, at_us: int | None = None
) -> list[IncidentChange]:
    """Record `results`, apply the rules in `alerts/*.yaml`, deliver notifications; returns the incident changes.

    Call it once after a check with everything the check produced, failures included. `at_us` (microseconds
    UTC, default now) is the time incidents are stamped with, for re-notify intervals.
    """
    rules = load_rules(settings.alerts, _known_features(settings))
    with store.opened(settings.database) as engine:
        changes = _evaluate(engine, rules, results, now_us() if at_us is None else at_us, settings.report_base_url)
        deliveries = {delivery.key: delivery for delivery in deliver_pending(engine, settings)}
    return [replace(change, deliveries=tuple(deliveries[key] for key in keys if key in deliveries))
            for change, keys in changes]


def record_results(results: Sequence[CheckResult | CheckFailure], settings: Settings) -> int:
    """Record results without evaluating alerts (a check run without --alert); returns how many were new."""
    recorded = 0
    with store.opened(settings.database) as engine:
        for result in results:
            with engine.begin() as conn:
                if not store.result_recorded(conn, result.run_id, result.feature):
                    store.record_result(conn, result, now_us())
                    recorded += 1
    return recorded


def open_incidents(settings: Settings) -> list[Incident]:
    """Incidents open now, oldest first (`parity alerts`)."""
    with store.opened(settings.database) as engine, engine.connect() as conn:
        return store.list_incidents(conn, IncidentStatus.OPEN)


def _evaluate(
    engine: sa.Engine, rules: tuple[AlertRule, ...], results: Sequence[CheckResult | CheckFailure], now: int,
    report_base_url: str | None = None,
) -> list[tuple[IncidentChange, list[str]]]:
    """Each change with the keys of the notifications it queued."""
    changes: list[tuple[IncidentChange, list[str]]] = []
    skipped_noted: set[tuple[str, str]] = set()
    for result in results:
        with engine.begin() as conn:  # the result, its incident changes and their notifications: all or nothing
            if store.result_recorded(conn, result.run_id, result.feature):
                log.info("alert_result_already_evaluated feature=%s run_id=%s", result.feature, result.run_id)
                continue
            newest = store.newest_result_start(conn, result.feature)
            older = newest is not None and _instant(result.start) < _instant(newest)
            store.record_result(conn, result, now)
            for rule in rules:
                if not rule.applies_to(result.feature):
                    continue
                evidence = observe(rule, result)
                before = store.open_incident(conn, result.feature, rule.name)
                change = step(before, rule, evidence, now, older=older)
                if change is None:
                    continue
                store.save_incident(conn, change.incident, new=before is None)
                keys: list[str] = []
                changes.append((change, keys))
                if change.notification is None:
                    continue
                for channel in rule.channels:
                    if missing := missing_secrets(channel):
                        if (rule.name, channel.destination) not in skipped_noted:
                            skipped_noted.add((rule.name, channel.destination))
                            log.warning("alert channel %s of rule %s skipped: environment variable %s is unset",
                                        channel.type, rule.name, ", ".join(missing))
                        continue
                    key = uuid.uuid4().hex
                    message = message_for(change, evidence, key, now)
                    if isinstance(result, CheckResult):  # a failed check wrote no report
                        message = replace(message, report_url=report_link(report_base_url, result.feature,
                                                                          result.run_id))
                    notification = Notification(key, change.incident.id, channel, message,
                                                NotificationStatus.PENDING, now, None)
                    store.enqueue(conn, notification)
                    keys.append(key)
    return changes


def _instant(iso: str) -> datetime:
    """A recorded range start (`parity.units.iso`) as a time: compared as text, 10:00:05.5Z would sort before 10:00:05Z."""
    return datetime.fromisoformat(iso)


def _known_features(settings: Settings) -> list[str] | None:
    if not settings.realtime_jobs.is_dir():
        return None
    return sorted({path.stem for path in settings.realtime_jobs.glob("*.yaml")})
