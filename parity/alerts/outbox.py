"""Incidents and the outbox, as rows of the results store (`parity.results_store`): what alerts read and write there.

The tables are the store's; this module maps their rows to alert values (`Incident`, `Notification`) and holds
the statements delivery is built on. Crash safety is the outbox pattern: a check result, the incident change it
causes and the notifications that change must send are written in ONE transaction (the caller's `engine.begin()`
block). Delivery happens afterwards, row by row: a deliverer first claims the row (`claim`: one row in
`parity_delivery_claims` per notification, unique by key, so of two processes delivering at once only one holds
it); under the claim an attempt is recorded before the send and finished after it, and the notification is marked
sent in the same transaction that finishes its successful attempt. A process killed mid-delivery leaves the
notification pending, its attempt unfinished and its claim behind; the claim counts as abandoned once its holder
is known dead or its lease has run out, the next claimant marks the attempt `interrupted` and sends again under the
same key, so nothing is lost and receivers can drop the repeat (delivery is at-least-once with stable idempotency
keys). Claims are plain rows and statements, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from parity.alerts.channels import Channel, Message, Severity
from parity.alerts.incidents import Incident, IncidentStatus
from parity.alerts.rules import Condition
from parity.results_store import attempts, claims, incidents, notifications


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # queued, or every attempt so far failed: retried on the next run
    SENT = "sent"
    FAILED = "failed"  # test notifications only: not retried


@dataclass(frozen=True, slots=True)
class Notification:
    key: str
    incident_id: str | None
    channel: Channel
    message: Message
    status: NotificationStatus
    created_at_us: int
    sent_at_us: int | None


@dataclass(frozen=True, slots=True)
class Claimant:
    """Who delivers: one run of one process. `token` is new per run; host, pid and start time say if it lives."""

    token: str
    host: str
    pid: int
    pid_started: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """A claim just taken: `interrupted` unfinished attempts of a dead claimant were closed; `attempts` made so far."""

    interrupted: int
    attempts: int


@dataclass(frozen=True, slots=True)
class Attempt:
    notification_key: str
    number: int
    started_at_us: int
    finished_at_us: int | None
    outcome: str | None
    detail: str | None


# --- incidents -------------------------------------------------------------------------------------------


def open_incident(conn: sa.Connection, feature: str, rule: str) -> Incident | None:
    query = sa.select(incidents).where(
        incidents.c.feature == feature, incidents.c.rule == rule, incidents.c.status == IncidentStatus.OPEN.value
    )
    row = conn.execute(query).first()
    return None if row is None else _incident(row._mapping)


def list_incidents(conn: sa.Connection, status: IncidentStatus | None = IncidentStatus.OPEN) -> list[Incident]:
    query = sa.select(incidents).order_by(incidents.c.opened_at_us, incidents.c.feature, incidents.c.rule)
    if status is not None:
        query = query.where(incidents.c.status == status.value)
    return [_incident(row._mapping) for row in conn.execute(query)]


def save_incident(conn: sa.Connection, incident: Incident, *, new: bool) -> None:
    values = {
        "feature": incident.feature,
        "rule": incident.rule,
        "status": incident.status.value,
        "condition": incident.condition.value,
        "severity": incident.severity.value,
        "summary": incident.summary,
        "opened_at_us": incident.opened_at_us,
        "updated_at_us": incident.updated_at_us,
        "last_notified_at_us": incident.last_notified_at_us,
        "resolved_at_us": incident.resolved_at_us,
        "recovery_streak": incident.recovery_streak,
        "checks": incident.checks,
        "last_run_id": incident.last_run_id,
    }
    if new:
        conn.execute(incidents.insert().values(id=incident.id, **values))
    else:
        conn.execute(incidents.update().where(incidents.c.id == incident.id).values(**values))


def _incident(row: Any) -> Incident:
    return Incident(
        id=row["id"],
        feature=row["feature"],
        rule=row["rule"],
        status=IncidentStatus(row["status"]),
        condition=Condition(row["condition"]),
        severity=Severity(row["severity"]),
        summary=row["summary"],
        opened_at_us=row["opened_at_us"],
        updated_at_us=row["updated_at_us"],
        last_notified_at_us=row["last_notified_at_us"],
        resolved_at_us=row["resolved_at_us"],
        recovery_streak=row["recovery_streak"],
        checks=row["checks"],
        last_run_id=row["last_run_id"],
    )


# --- the outbox ------------------------------------------------------------------------------------------


def enqueue(conn: sa.Connection, notification: Notification) -> None:
    conn.execute(
        notifications.insert().values(
            key=notification.key,
            incident_id=notification.incident_id,
            channel=notification.channel.to_json(),
            message=notification.message.to_json(),
            status=notification.status.value,
            created_at_us=notification.created_at_us,
            sent_at_us=notification.sent_at_us,
        )
    )


def list_notifications(
    conn: sa.Connection, status: NotificationStatus | None = None, keys: list[str] | None = None
) -> list[Notification]:
    """Notifications in the order they were queued (the order they are delivered in)."""
    query = sa.select(notifications).order_by(notifications.c.id)
    if status is not None:
        query = query.where(notifications.c.status == status.value)
    if keys is not None:
        query = query.where(notifications.c.key.in_(keys))
    return [
        Notification(
            key=row.key,
            incident_id=row.incident_id,
            channel=Channel.from_json(dict(row.channel)),
            message=Message.from_json(dict(row.message)),
            status=NotificationStatus(row.status),
            created_at_us=row.created_at_us,
            sent_at_us=row.sent_at_us,
        )
        for row in conn.execute(query)
    ]


def claim(
    engine: sa.Engine, key: str, claimant: Claimant, now_us: int, expires_at_us: int,
    dead: Callable[[Claimant], bool],
) -> Claimed | None:
    """Claim pending notification `key` for delivery, in its own transaction; None when it is not to be sent now.

    None when another claimant holds a live claim (not expired, holder not `dead`), when a concurrent claimant
    won the race, or when the notification is no longer pending. An abandoned claim is taken over, and the
    attempts its holder left unfinished are closed as `interrupted`. The insert comes before the status is read:
    on both databases it waits for, or collides with, any other claimant's write, so the status read after it
    is current.
    """
    try:
        with engine.begin() as conn:
            held = conn.execute(sa.select(claims).where(claims.c.notification_key == key)).first()
            if held is not None:
                holder = Claimant(held.token, held.host, held.pid, held.pid_started)
                if held.expires_at_us > now_us and not dead(holder):
                    return None
                taken = conn.execute(claims.delete().where(claims.c.notification_key == key,
                                                           claims.c.token == held.token))
                if taken.rowcount != 1:
                    return None
            conn.execute(claims.insert().values(
                notification_key=key, token=claimant.token, host=claimant.host, pid=claimant.pid,
                pid_started=claimant.pid_started, claimed_at_us=now_us, expires_at_us=expires_at_us))
            status = conn.execute(sa.select(notifications.c.status).where(notifications.c.key == key)).scalar_one()
            if status != NotificationStatus.PENDING.value:
                conn.execute(claims.delete().where(claims.c.notification_key == key))
                return None
            interrupted = conn.execute(
                attempts.update()
                .where(attempts.c.notification_key == key, attempts.c.finished_at_us.is_(None))
                .values(
                    finished_at_us=now_us,
                    outcome="interrupted",
                    detail="the process stopped during this attempt; outcome unknown, sent again under the same key",
                )
            ).rowcount
            made = conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(attempts.c.number), 0)).where(attempts.c.notification_key == key)
            ).scalar_one()
            return Claimed(int(interrupted or 0), int(made))
    except sa.exc.IntegrityError:  # another claimant inserted the claim first
        return None


def release(conn: sa.Connection, key: str, claimant: Claimant) -> None:
    """Give up the claim on `key` (only if this claimant still holds it)."""
    conn.execute(claims.delete().where(claims.c.notification_key == key, claims.c.token == claimant.token))


def begin_attempt(conn: sa.Connection, key: str, number: int, now_us: int) -> None:
    """Record attempt `number` about to be made. Only the claim's holder calls it, so numbers do not race (and the
    table's unique (key, number) would refuse a repeat)."""
    conn.execute(attempts.insert().values(notification_key=key, number=number, started_at_us=now_us))


def finish_attempt(
    conn: sa.Connection, key: str, number: int, now_us: int, detail: str | None, final: NotificationStatus | None
) -> None:
    """Close an attempt (`detail` None means it succeeded); `final` also settles the notification's status."""
    conn.execute(
        attempts.update()
        .where(attempts.c.notification_key == key, attempts.c.number == number)
        .values(finished_at_us=now_us, outcome="ok" if detail is None else "error", detail=detail)
    )
    if final is not None:
        sent_at = now_us if final is NotificationStatus.SENT else None
        conn.execute(
            notifications.update().where(notifications.c.key == key).values(status=final.value, sent_at_us=sent_at)
        )


def list_attempts(conn: sa.Connection, key: str | None = None) -> list[Attempt]:
    query = sa.select(attempts).order_by(attempts.c.id)
    if key is not None:
        query = query.where(attempts.c.notification_key == key)
    return [
        Attempt(row.notification_key, row.number, row.started_at_us, row.finished_at_us, row.outcome, row.detail)
        for row in conn.execute(query)
    ]
