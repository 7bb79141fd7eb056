"""The results store: every check result, incident, queued notification and delivery attempt, through SQLAlchemy.

A SQLite file inside the project by default (`[tool.parity] database = "sqlite:///data/parity.db"`), PostgreSQL
when the setting is a `postgresql://` URL. Tables are created on first use (`connect`; the ledger adds its own).

This module holds the schema, the connection and the check results, which history, the ledger and the report
read; `parity.alerts.outbox` maps the incident and notification rows to alert values. Every failure of the
store is one `StoreError` naming it (passwords hidden, `parity.redact`) and saying what to do.

All times are integer microseconds UTC.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from parity.errors import StoreError
from parity.redact import redact, redact_url, url_secrets
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


notifications = sa.Table(
    "parity_notifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # delivery order
    sa.Column("key", sa.String(32), nullable=False, unique=True),
    sa.Column("incident_id", sa.String(32), nullable=True),
    sa.Column("channel", _Json, nullable=False),  # the alert Channel: env var names, never secret values
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



CREATE_ATTEMPTS = 3  # creating the tables, see `connect`


def connect(database: str, tables: sa.MetaData | None = None) -> sa.Engine:
    """An engine on `database` (a SQLAlchemy URL) with parity's tables (and `tables`) created. Dispose it when done.

    Every failure of the store, here or later on the engine, is one `StoreError` naming the store (its
    password hidden) and the fix; only a constraint's `IntegrityError` passes through, for callers that race
    on purpose. Two processes starting at once on a new store both create the tables; on PostgreSQL the
    slower one fails on the catalogue's unique index (`pg_type_typname_nsp_index`). It tries again and finds
    them made."""
    url = _url(database)
    if url.drivername == "postgresql":  # SQLAlchemy 2.1 would pick psycopg 3; parity ships psycopg2
        url = url.set(drivername="postgresql+psycopg2")
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        _make_folder(database, Path(url.database).parent)
    try:
        engine = sa.create_engine(url, json_serializer=_to_json)
    except (sa.exc.NoSuchModuleError, sa.exc.ArgumentError, ImportError):
        raise StoreError(display_name(database), f"no database driver for {url.drivername!r}; parity stores "
                         "results in sqlite:///path or postgresql://user@host:5432/db") from None
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    for attempt in range(CREATE_ATTEMPTS):
        try:
            for each in (metadata, tables) if tables is not None else (metadata,):
                each.create_all(engine)
            break
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError, sa.exc.OperationalError) as exc:
            if attempt == CREATE_ATTEMPTS - 1:
                engine.dispose()
                raise StoreError(display_name(database), _problem(exc, database)) from None
            time.sleep(0.2 * (attempt + 1))
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(display_name(database), _problem(exc, database)) from None
        except BaseException:
            engine.dispose()
            raise

    def translate(context: sa.engine.ExceptionContext) -> None:
        """A store that cannot be used (gone, locked, read-only, corrupt, full) is a StoreError wherever it shows;
        other errors stay SQLAlchemy's, for callers that race on purpose (a constraint, a column added twice)."""
        error = context.sqlalchemy_exception or context.original_exception
        if not isinstance(error, sa.exc.IntegrityError) and _unusable(error):
            raise StoreError(display_name(database), _problem(error, database))

    sa.event.listen(engine, "handle_error", translate)
    return engine


@contextlib.contextmanager
def opened(database: str) -> Iterator[sa.Engine]:
    """`connect`, disposed on exit; any database failure inside becomes one `StoreError` naming the database."""
    engine = connect(database)
    try:
        yield engine
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(display_name(database), _problem(exc, database)) from None
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
_SETTING = "[tool.parity] database in pyproject.toml"
# What a driver's first line says -> what to do about it (the first match wins; lower case).
_FIXES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("file is not a database", "malformed", "corrupt"), _FIX),
    (("password authentication failed", "no password supplied", "authentication failed", "pg_hba.conf"),
     f"check the user and password in {_SETTING} (or PGPASSWORD, ~/.pgpass)"),
    (("connection refused", "could not connect", "could not translate host name", "name or service not known",
      "timeout expired", "no route to host", "server closed the connection", "connection to server"),
     f"check that the database server is running and reachable at that host and port, or fix {_SETTING}"),
    (("unable to open database file",), "check that its folder exists and is writable"),
    (("readonly database", "read-only"), "make the file and its folder writable by this user"),
    (("database is locked",), "another process holds a lock on it; try again"),
    (("no space left", "disk is full", "database or disk is full", "disk i/o error"),
     "free disk space where the store lives"),
)
_MISSING = (("does not exist",), f"create it, or fix the name in {_SETTING}")  # a database, at connect


def display_name(database: str) -> str:
    """The database as an error names it: a SQLite file's path, otherwise the URL with its passwords hidden."""
    try:
        url = sa.make_url(database)
    except (ValueError, sa.exc.ArgumentError):
        return _unparsed(database)
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return redact_url(database)


def _url(database: str) -> sa.URL:
    """`database` parsed; a URL SQLAlchemy cannot read is one `StoreError` that quotes none of it."""
    try:
        return sa.make_url(database)
    except ValueError:  # int() of the port: the text after the host's colon, maybe a piece of the password
        raise StoreError(_unparsed(database), "its port is not a number; write host:5432, and percent-encode any "
                         "'/', ':', '@', '?' or '#' in the password") from None
    except sa.exc.ArgumentError:
        raise StoreError(_unparsed(database), "not a database URL; write sqlite:///path/parity.db or "
                         "postgresql://user@host:5432/db") from None


def _unparsed(database: str) -> str:
    scheme = database.split("://", 1)[0] if "://" in database else ""
    kind = f"a {scheme}:// URL" if scheme.replace("+", "").isalnum() else "a value"
    return f"[tool.parity] database ({kind}, not shown)"


def _make_folder(database: str, folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StoreError(display_name(database), f"cannot create its folder {folder} (a file is in the way); "
                         f"fix {_SETTING} or move that file") from None
    except OSError as exc:
        raise StoreError(display_name(database), f"cannot create its folder {folder} "
                         f"({exc.strerror or type(exc).__name__}); fix {_SETTING} or the folder's permissions") from None


def _unusable(exc: BaseException) -> bool:
    """Whether the driver's error says the store itself cannot be used (one of `_FIXES`)."""
    said = str(getattr(exc, "orig", None) or exc).lower()
    return any(word in said for words, _ in _FIXES for word in words)


def _problem(exc: BaseException, database: str) -> str:
    """The driver's first line, with the URL's passwords scrubbed, and what to do about it."""
    cause = getattr(exc, "orig", None) or exc
    said = str(cause).strip()
    first = redact(said.splitlines()[0] if said else type(cause).__name__, url_secrets(database))
    fix = next((fix for words, fix in (*_FIXES, _MISSING) if any(word in first.lower() for word in words)),
               f"check {_SETTING}")
    if fix.startswith("check that the database server"):
        return f"cannot connect ({first}); {fix}"
    return f"{first}; {fix}"


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
