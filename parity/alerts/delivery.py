"""Delivering the outbox: every pending notification, oldest first, with timeouts, retries and backoff.

Each notification is claimed in the store before it is sent (`outbox.claim`), so two processes delivering at
once send it once; under the claim each attempt is recorded before it is made and finished after. A
notification that still fails after its channel's retries stays pending and is retried on the next run. Once a
destination fails in a run, or another process is delivering to it, its later notifications wait (for the next
run, or for that process), so a resolve never overtakes the trigger it follows.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from parity import results_store as store
from parity.alerts import outbox
from parity.alerts.channels import (
    Channel,
    Delivery,
    DeliveryFailed,
    Message,
    NotificationKind,
    Severity,
    missing_secrets,
    send,
)
from parity.alerts.outbox import Claimant, Notification, NotificationStatus
from parity.alerts.rules import AlertRule, load_rules
from parity.errors import AlertRuleError
from parity.settings import Settings

log = logging.getLogger("parity.alerts")
CLAIM_MARGIN_US = 60_000_000  # beyond the longest a channel's attempts can take, before a claim counts as abandoned


def now_us() -> int:
    return time.time_ns() // 1_000


def deliver_pending(engine: sa.Engine, settings: Settings, keys: list[str] | None = None) -> list[Delivery]:
    """Deliver every pending notification (or only `keys`), oldest first. Returns what happened to each."""
    with engine.connect() as conn:
        pending = outbox.list_notifications(conn, NotificationStatus.PENDING, keys)
    claimant = Claimant(uuid.uuid4().hex, socket.gethostname(), os.getpid(), _started(os.getpid()))
    blocked: dict[str, str] = {}
    deliveries = []
    for notification in pending:
        destination = notification.channel.destination
        if destination in blocked:
            deliveries.append(_delivery(notification, False, 0, blocked[destination]))
            continue
        delivery = _deliver_one(engine, notification, settings, claimant)
        deliveries.append(delivery)
        if not delivery.sent and delivery.detail != _NOT_PENDING:
            blocked[destination] = ("waiting: another process is delivering to this destination"
                                    if delivery.detail == _CLAIMED else
                                    "waiting: an earlier notification is still pending")
    return deliveries


_CLAIMED = "being delivered by another process"
_NOT_PENDING = "already delivered by another process"


def _deliver_one(engine: sa.Engine, notification: Notification, settings: Settings, claimant: Claimant) -> Delivery:
    channel = notification.channel
    claimed = outbox.claim(engine, notification.key, claimant, now_us(), now_us() + _lease_us(channel), _dead)
    if claimed is None:
        with engine.connect() as conn:
            [now] = outbox.list_notifications(conn, None, [notification.key])
        return _delivery(notification, False, 0, _CLAIMED if now.status is NotificationStatus.PENDING else _NOT_PENDING)
    if claimed.interrupted:
        log.warning("alert_delivery_resumed key=%s interrupted_attempts=%d", notification.key, claimed.interrupted)
    try:
        return _attempts(engine, notification, settings, claimed.attempts)
    finally:
        with engine.begin() as conn:
            outbox.release(conn, notification.key, claimant)


def _attempts(engine: sa.Engine, notification: Notification, settings: Settings, made_before: int) -> Delivery:
    channel = notification.channel
    is_test = notification.message.kind is NotificationKind.TEST
    detail: str | None = None
    for retry in range(channel.retries + 1):
        if retry:
            time.sleep(channel.backoff_us / 1e6 * 2 ** (retry - 1))
        number = made_before + retry + 1
        with engine.begin() as conn:
            outbox.begin_attempt(conn, notification.key, number, now_us())
        try:
            send(notification.message, channel, settings.project, again=number > 1)
        except DeliveryFailed as exc:
            detail = exc.detail
        else:
            detail = None
        last = retry == channel.retries
        final = NotificationStatus.SENT if detail is None else (NotificationStatus.FAILED if is_test and last else None)
        with engine.begin() as conn:
            outbox.finish_attempt(conn, notification.key, number, now_us(), detail, final)
        if detail is None:
            log.info("alert_sent rule=%s feature=%s kind=%s destination=%s attempt=%d", notification.message.rule,
                     notification.message.feature, notification.message.kind, channel.destination, number)
            return _delivery(notification, True, retry + 1, None)
        log.warning("alert_delivery_failed rule=%s destination=%s attempt=%d detail=%s", notification.message.rule,
                    channel.destination, number, detail)
    return _delivery(notification, False, channel.retries + 1, detail)


def _lease_us(channel: Channel) -> int:
    """The longest this channel's attempts can take in one run, plus a margin."""
    backoff = sum(channel.backoff_us * 2 ** (retry - 1) for retry in range(1, channel.retries + 1))
    return int((channel.retries + 1) * channel.timeout_us + backoff + CLAIM_MARGIN_US)


def _started(pid: int) -> str:
    """The start time of process `pid` (clock ticks since boot, from /proc), "" when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return ""
    return "" if fields[0] in ("Z", "X") else fields[19]  # a zombie has stopped; field 22 is the start time


def _dead(holder: Claimant) -> bool:
    """True when the claim's holder is known to have stopped: same host, and its process is gone (or is another
    process that reused the pid). A holder on another host is never known dead; its lease decides."""
    if holder.host != socket.gethostname():
        return False
    if Path("/proc/self/stat").exists():
        started = _started(holder.pid)
        return started == "" or started != holder.pid_started
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


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
    with store.opened(settings.database) as engine:
        return _send_test(engine, rule, settings)


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
            outbox.enqueue(conn, Notification(key, None, channel, message, NotificationStatus.PENDING, now, None))
            keys.append(key)
    return skipped + (deliver_pending(engine, settings, keys) if keys else [])
