"""The results store: every check result, incident, queued notification and delivery attempt, through SQLAlchemy.

A SQLite file inside the project by default (`[tool.parity] database = "sqlite:///data/parity.db"`), PostgreSQL
when the setting is a `postgresql://` URL. Tables are created on first use.

Crash safety is the outbox pattern: a check result, the incident change it causes and the notifications that
change must send are written in ONE transaction (the caller's `engine.begin()` block), so a process killed
mid-check leaves either all of them or none. Delivery happens afterwards, row by row. A deliverer first claims the row (`claim`: one
row in `parity_delivery_claims` per notification, unique by key, so of two processes delivering at once only
one holds it); under the claim an attempt is recorded before the send and finished after it, and the
notification is marked sent in the same transaction that finishes its successful attempt. A process killed
mid-delivery leaves the notification pending, its attempt unfinished and its claim behind; the claim counts as
abandoned once its holder is known dead or its lease has run out, the next claimant marks the attempt
`interrupted` and sends again under the same key, so nothing is lost and receivers can drop the repeat
(delivery is at-least-once with stable idempotency keys). Claims are plain rows and statements, the same on
SQLite and PostgreSQL.

All times are integer microseconds UTC.
"""

from __future__ import annotations

import contextlib
import enum
import json
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from parity.alerts.channels import Message
from parity.alerts.incidents import Incident, IncidentStatus
from parity.alerts.rules import Channel, Condition, Severity
from parity.errors import StoreError
from parity.result import CheckFailure, CheckResult

metadata = sa.MetaData()
_Json = sa.JSON().with_variant(JSONB(), "postgresql")

check_results = sa.Table(
    "parity_check_results",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("feature", sa.String(200), nullable=False),
    sa.Column("outcome", sa.String(20), nullable=False),  # the verdict, or "failed" for a check that could not run
    sa.Column("range_start", sa.String(40), nullable=False),
    sa.Column("range_end", sa.String(40), nullable=False),
    sa.Column("compared", sa.BigInteger),
    sa.Column("matched", sa.BigInteger),
    sa.Column("agreement", sa.Float),
    sa.Column("ci_low", sa.Float),
    sa.Column("ci_high", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("recorded_at_us", sa.BigInteger, nullable=False),
    sa.Column("body", _Json, nullable=False),
    sa.UniqueConstraint("run_id", "feature", name="uq_parity_check_results_run_feature"),
)

incidents = sa.Table(
    "parity_incidents",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("feature", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("condition", sa.String(10), nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("opened_at_us", sa.BigInteger, nullable=False),
    sa.Column("updated_at_us", sa.BigInteger, nullable=False),
    sa.Column("last_notified_at_us", sa.BigInteger, nullable=False),
    sa.Column("resolved_at_us", sa.BigInteger),
    sa.Column("recovery_streak", sa.Integer, nullable=False),
    sa.Column("checks", sa.Integer, nullable=False),
    sa.Column("last_run_id", sa.String(64), nullable=False),
)
# One open incident per (feature, rule), enforced by the database itself.
sa.Index(
    "uq_parity_incidents_open",
    incidents.c.feature,
    incidents.c.rule,
    unique=True,
    sqlite_where=incidents.c.status == "open",
    postgresql_where=incidents.c.status == "open",
)


class NotificationStatus(enum.StrEnum):
    PENDING = "pending"  # queued, or every attempt so far failed: retried on the next run
    SENT = "sent"
    FAILED = "failed"  # test notifications only: not retried


notifications = sa.Table(
    "parity_notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # delivery order
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("incident_id", sa.String(32), nullable=True),
    sa.Column("channel", _Json, nullable=False),  # the Channel: env var names, never secret values
    sa.Column("message", _Json, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at_us", sa.BigInteger, nullable=False),
    sa.Column("sent_at_us", sa.BigInteger),
)

attempts = sa.Table(
    "parity_delivery_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("notification_key", sa.String(32), sa.ForeignKey("parity_notifications.key"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("started_at_us", sa.BigInteger, nullable=False),
    sa.Column("finished_at_us", sa.BigInteger),
    sa.Column("outcome", sa.String(12)),  # ok | error | interrupted; NULL while in flight
    sa.Column("detail", sa.Text),
    sa.UniqueConstraint("notification_key", "number", name="uq_parity_delivery_attempts_number"),
)

claims = sa.Table(
    "parity_delivery_claims",
    metadata,
    sa.Column("notification_key", sa.String(32), sa.ForeignKey("parity_notifications.key"), primary_key=True),
    sa.Column("token", sa.String(32), nullable=False),  # the claiming run
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("pid_started", sa.String(32), nullable=False),  # the process's start time, so a reused pid is not it
    sa.Column("claimed_at_us", sa.BigInteger, nullable=False),
    sa.Column("expires_at_us", sa.BigInteger, nullable=False),
)


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


CREATE_ATTEMPTS = 3  # creating the tables, see `connect`


def connect(database: str, tables: sa.MetaData | None = None) -> sa.Engine:
    """An engine on `database` (a SQLAlchemy URL) with parity's tables (and `tables`) created. Dispose it when done.

    Two processes starting at once on a new store both create the tables; on PostgreSQL the slower one fails on the
    catalogue's unique index (`pg_type_typname_nsp_index`). It tries again and finds them made."""
    url = sa.make_url(database)
    if url.drivername == "postgresql":  # SQLAlchemy 2.1 would pick psycopg 3; parity ships psycopg2
        url = url.set(drivername="postgresql+psycopg2")
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, json_serializer=_to_json)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    for attempt in range(CREATE_ATTEMPTS):
        try:
            for each in (metadata, tables) if tables is not None else (metadata,):
                each.create_all(engine)
            return engine
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError):
            if attempt == CREATE_ATTEMPTS - 1:
                engine.dispose()
                raise
            time.sleep(0.2 * (attempt + 1))
        except BaseException:
            engine.dispose()
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def opened(database: str) -> Iterator[sa.Engine]:
    """`connect`, disposed on exit; any database failure inside becomes one `StoreError` naming the database."""
    try:
        engine = connect(database)
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(display_name(database), _problem(exc)) from None
    try:
        yield engine
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(display_name(database), _problem(exc)) from None
    finally:
        engine.dispose()


def validate(database: str) -> None:
    """Open the store, check its integrity and that it takes a write (rolled back); raise `StoreError` if not.

    A command that will write to the store calls this before its long work, so a corrupt or read-only store
    stops it before it has produced anything, not after.
    """
    with opened(database) as engine, engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            verdict = conn.exec_driver_sql("PRAGMA quick_check(1)").scalar_one()
            if verdict != "ok":
                raise StoreError(display_name(database), f"failed its integrity check ({verdict}); {_FIX}")
        for table in metadata.sorted_tables:
            conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        conn.execute(check_results.delete().where(check_results.c.id == -1))  # a write, rolled back below
        conn.rollback()


_FIX = "move the file aside to start an empty store, or restore it from a backup"


def display_name(database: str) -> str:
    """The database as an error names it: a SQLite file's path, otherwise the URL without its password."""
    url = sa.make_url(database)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def _problem(exc: sa.exc.SQLAlchemyError) -> str:
    cause = getattr(exc, "orig", None) or exc
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    corrupt = ("file is not a database", "malformed", "corrupt")
    return f"{first}; {_FIX}" if any(word in first for word in corrupt) else first


def _to_json(value: Any) -> str:
    """Strict JSON (PostgreSQL's JSONB rejects NaN): non-finite floats become null, unknown types their str()."""
    return json.dumps(_finite(value), default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")  # wait for a concurrent writer instead of failing
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


# --- check results ---------------------------------------------------------------------------------------


def result_recorded(conn: sa.Connection, run_id: str, feature: str) -> bool:
    query = sa.select(check_results.c.id).where(check_results.c.run_id == run_id, check_results.c.feature == feature)
    return conn.execute(query).first() is not None


def record_result(conn: sa.Connection, result: CheckResult | CheckFailure, now_us: int) -> None:
    if isinstance(result, CheckFailure):
        row: dict[str, Any] = {"outcome": "failed", "body": {"kind": "failure", **_failure_json(result)}}
    else:
        row = {
            "outcome": str(result.verdict),
            "compared": result.compared,
            "matched": result.matched,
            "agreement": result.agreement,
            "ci_low": result.ci_low,
            "ci_high": result.ci_high,
            "threshold": result.threshold,
            "body": {"kind": "result", **result.to_json()},
        }
    conn.execute(
        check_results.insert().values(
            run_id=result.run_id,
            feature=result.feature,
            range_start=result.start,
            range_end=result.end,
            recorded_at_us=now_us,
            **row,
        )
    )


def newest_result_start(conn: sa.Connection, feature: str) -> str | None:
    """The latest `range_start` (ISO-8601) of any result or failure recorded for `feature`."""
    query = sa.select(sa.func.max(check_results.c.range_start)).where(check_results.c.feature == feature)
    newest = conn.execute(query).scalar_one()
    return None if newest is None else str(newest)


def recorded_results(conn: sa.Connection, feature: str | None = None) -> list[dict[str, Any]]:
    """Recorded results, oldest first, as the JSON they were stored with (plus `recorded_at_us`)."""
    query = sa.select(check_results.c.body, check_results.c.recorded_at_us).order_by(check_results.c.id)
    if feature is not None:
        query = query.where(check_results.c.feature == feature)
    return [{**row.body, "recorded_at_us": row.recorded_at_us} for row in conn.execute(query)]


def _failure_json(failure: CheckFailure) -> dict[str, Any]:
    return {
        "feature": failure.feature,
        "run_id": failure.run_id,
        "start": failure.start,
        "end": failure.end,
        "error": failure.error,
        "exit_code": failure.exit_code,
    }


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
