"""Delivering the outbox: every pending notification, oldest first, with timeouts, retries and backoff.

Each attempt is recorded before it is made and finished after; a notification that still fails after its
channel's retries stays pending and is retried on the next run. Once a destination fails in a run, its later
notifications wait for the next run too, so a resolve never overtakes the trigger it follows.
"""

from __future__ import annotations

import logging
import time
import uuid

import sqlalchemy as sa

from parity.alerts import store
from parity.alerts.channels import SENDERS, Delivery, DeliveryFailed, Message, NotificationKind, missing_secrets
from parity.alerts.rules import AlertRule, Severity, load_rules
from parity.alerts.store import Notification, NotificationStatus
from parity.errors import AlertRuleError
from parity.settings import Settings

log = logging.getLogger("parity.alerts")


def now_us() -> int:
    return time.time_ns() // 1_000


def deliver_pending(engine: sa.Engine, settings: Settings, keys: list[str] | None = None) -> list[Delivery]:
    """Deliver every pending notification (or only `keys`), oldest first. Returns what happened to each."""
    with engine.begin() as conn:
        interrupted = store.close_interrupted_attempts(conn, now_us())
    if interrupted:
        log.warning("alert_delivery_resumed interrupted_attempts=%d", interrupted)
    with engine.connect() as conn:
        pending = store.list_notifications(conn, NotificationStatus.PENDING, keys)
    blocked: set[str] = set()
    deliveries = []
    for notification in pending:
        destination = notification.channel.destination
        if destination in blocked:
            deliveries.append(_delivery(notification, False, 0, "waiting: an earlier notification is still pending"))
            continue
        delivery = _deliver_one(engine, notification, settings)
        deliveries.append(delivery)
        if not delivery.sent:
            blocked.add(destination)
    return deliveries


def _deliver_one(engine: sa.Engine, notification: Notification, settings: Settings) -> Delivery:
    channel = notification.channel
    sender = SENDERS[channel.type]
    is_test = notification.message.kind is NotificationKind.TEST
    detail: str | None = None
    made = 0
    for retry in range(channel.retries + 1):
        if retry:
            time.sleep(channel.backoff_us / 1e6 * 2 ** (retry - 1))
        with engine.begin() as conn:
            number = store.begin_attempt(conn, notification.key, now_us())
        made += 1
        try:
            sender(notification.message, channel, settings.project)
        except DeliveryFailed as exc:
            detail = exc.detail
        else:
            detail = None
        last = retry == channel.retries
        final = NotificationStatus.SENT if detail is None else (NotificationStatus.FAILED if is_test and last else None)
        with engine.begin() as conn:
            store.finish_attempt(conn, notification.key, number, now_us(), detail, final)
        if detail is None:
            log.info("alert_sent rule=%s feature=%s kind=%s destination=%s attempt=%d", notification.message.rule,
                     notification.message.feature, notification.message.kind, channel.destination, number)
            return _delivery(notification, True, made, None)
        log.warning("alert_delivery_failed rule=%s destination=%s attempt=%d detail=%s", notification.message.rule,
                    channel.destination, number, detail)
    return _delivery(notification, False, made, detail)


def _delivery(notification: Notification, sent: bool, attempts: int, detail: str | None) -> Delivery:
    message = notification.message
    return Delivery(notification.key, message.rule, message.feature, message.kind,
                    notification.channel.destination, sent, attempts, detail)


def send_test(rule_name: str, settings: Settings) -> list[Delivery]:
    """Send a test notification through every channel of rule `rule_name` and report each delivery.

    Example: `parity alerts test page_on_breach`. Test notifications are recorded like any other, but one that
    fails is marked failed rather than retried on later runs. A channel whose secret env var is unset is
    reported, not tried.
    """
    rules = {rule.name: rule for rule in load_rules(settings.alerts)}
    if rule_name not in rules:
        known = ", ".join(sorted(rules)) or "none defined"
        raise AlertRuleError(str(settings.alerts), "", f"no rule named {rule_name!r}; rules: {known}")
    rule = rules[rule_name]
    engine = store.connect(settings.database)
    try:
        return _send_test(engine, rule, settings)
    finally:
        engine.dispose()


def _send_test(engine: sa.Engine, rule: AlertRule, settings: Settings) -> list[Delivery]:
    now = now_us()
    skipped: list[Delivery] = []
    keys: list[str] = []
    with engine.begin() as conn:
        for channel in rule.channels:
            key = uuid.uuid4().hex
            message = Message(
                key=key,
                kind=NotificationKind.TEST,
                rule=rule.name,
                feature="(test)",
                incident_id="",
                dedup_key=f"parity/test/{rule.name}/{key}",
                condition="test",
                severity=Severity.INFO,
                summary=f"test notification from parity for rule {rule.name}: this channel works",
                time_us=now,
            )
            if missing := missing_secrets(channel):
                skipped.append(Delivery(key, rule.name, message.feature, message.kind, channel.destination, False, 0,
                                        f"skipped: environment variable {', '.join(missing)} is unset"))
                continue
            store.enqueue(conn, Notification(key, None, channel, message, NotificationStatus.PENDING, now, None))
            keys.append(key)
    return skipped + (deliver_pending(engine, settings, keys) if keys else [])
