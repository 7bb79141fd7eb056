"""The ledger: which hour of which feature was checked under which configuration, and the lock per feature.

Kept in the results store (`parity.results_store.connect`: SQLite by default, PostgreSQL supported), in tables of
its own:

- `parity_ledger`: one row per check of one hour of one feature (window starts in [start_us, end_us)), with the
  configuration hash it ran under, its run id, counts, agreement, verdict, causes and report path. An hour is
  done when a row with the feature's current `config_hash` exists; a spec, SQL, job code or semantics change
  gives a new hash and makes every earlier row stale. A row is written only after the hour's result is in the
  store, so a process killed mid-hour leaves no row and the hour is checked again (under the same run id:
  `hour_run_id`), never recorded twice. A row also keeps what the check read (`inputs`: the event files and
  the online files, each with its size and modification time); `parity run` checks an hour again when they
  changed since (late events, late online rows), as a new row: the ledger keeps both verdicts.
- `parity_locks`: one row per feature naming the run that holds it and when its lease ends. It is taken with
  an atomic insert, or an update of a row whose lease ended or whose owner (on this host) is dead, guarded by
  the previous owner's name (compare-and-set), so two runs never hold it at once on SQLite or PostgreSQL.

All times are integer microseconds UTC.
"""

from __future__ import annotations

import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from parity import results_store as store
from parity.result import Cause, CheckResult, Verdict
from parity.spec import FeatureSpec

# Bump when what a check computes changes meaning (a new cause, a different agreement): every hour is stale then.
SEMANTICS_VERSION = 1
LEASE_US = 15 * 60 * 1_000_000  # renewed after every hour; a run killed on another host frees its features then

metadata = sa.MetaData()
_Json = sa.JSON().with_variant(JSONB(), "postgresql")

ledger = sa.Table(
    "parity_ledger",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("feature", sa.String(200), nullable=False),
    sa.Column("start_us", sa.BigInteger, nullable=False),
    sa.Column("end_us", sa.BigInteger, nullable=False),
    sa.Column("config_hash", sa.String(16), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("verdict", sa.String(20), nullable=False),
    sa.Column("compared", sa.BigInteger, nullable=False),
    sa.Column("matched", sa.BigInteger, nullable=False),
    sa.Column("agreement", sa.Float, nullable=False),
    sa.Column("causes", _Json, nullable=False),
    sa.Column("report", sa.Text, nullable=False),
    sa.Column("recorded_at_us", sa.BigInteger, nullable=False),
    # What the check read (`Inputs`): added after the first release, so NULL in rows recorded before it.
    sa.Column("inputs", _Json, nullable=True),
    sa.Column("served", _Json, nullable=True),  # the served check's figures (`SERVED_FIGURES`), when it ran
    sa.UniqueConstraint("feature", "run_id", name="uq_parity_ledger_feature_run"),
)
sa.Index("ix_parity_ledger_hours", ledger.c.feature, ledger.c.config_hash, ledger.c.start_us)

locks = sa.Table(
    "parity_locks",
    metadata,
    sa.Column("feature", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),  # host:pid:random, see `owner_name`
    sa.Column("expires_us", sa.BigInteger, nullable=False),
)


# What one check of an hour read: {"events": {file: [size, mtime_ns]}, "online": {file: [size, mtime_ns]}}, file
# names relative to the source's (the feature's) folder.
Inputs = dict[str, dict[str, list[int]]]
INPUT_KINDS = {"events": "event file", "online": "online file"}


@dataclass(frozen=True, slots=True)
class HourRecord:
    """One ledger row: a check of one feature's windows starting in [start_us, end_us)."""

    feature: str
    start_us: int
    end_us: int
    config_hash: str
    run_id: str
    verdict: Verdict
    compared: int
    matched: int
    agreement: float
    causes: dict[Cause, int]
    report: str
    recorded_at_us: int
    inputs: Inputs | None = None  # None: recorded before the ledger kept inputs
    served: dict[str, Any] | None = None  # `SERVED_FIGURES` of the hour's served check, when `--served` ran


# What the ledger keeps of a served check (`CheckResult.served`): history and metrics show these.
SERVED_FIGURES = ("clock", "reads", "served_agreement", "freshness_p50_s", "freshness_p95_s", "freshness_p99_s",
                  "within_sla", "freshness_sla_s", "causes", "passed")
ADDED_COLUMNS = ("inputs", "served")  # nullable columns added after the first release


def connect(database: str) -> sa.Engine:
    """The results store (`parity.results_store.connect`) with the ledger's tables created too, and a ledger made
    by an earlier version given the columns added since (`ADDED_COLUMNS`)."""
    engine = store.connect(database, metadata)
    try:
        for column in ADDED_COLUMNS:
            _add_column(engine, column)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _add_column(engine: sa.Engine, name: str) -> None:
    """ALTER TABLE parity_ledger ADD COLUMN <name>, once; two processes upgrading at once both succeed."""
    if name in {column["name"] for column in sa.inspect(engine).get_columns(ledger.name)}:
        return
    kind = ledger.c[name].type.compile(dialect=engine.dialect)
    exists = " IF NOT EXISTS" if engine.dialect.name == "postgresql" else ""
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"ALTER TABLE {ledger.name} ADD COLUMN{exists} {name} {kind}"))
    except (sa.exc.OperationalError, sa.exc.ProgrammingError):
        if name not in {column["name"] for column in sa.inspect(engine).get_columns(ledger.name)}:
            raise  # not the other process's upgrade: a real failure


def config_hash(spec: FeatureSpec) -> str:
    """What a check's result depends on besides the data: the spec file, the offline SQL, the job's Python module
    (for a `transform_ref`) and `SEMANTICS_VERSION`. 16 hex digits."""
    digest = hashlib.sha256(f"parity-semantics:{SEMANTICS_VERSION}\n".encode())
    files = [spec.path, spec.offline_query]
    if spec.transform_ref is not None:
        files.append(spec.path.parent.parent / spec.transform_ref.split(":")[0])
    for file in files:
        digest.update(file.name.encode() + b"\0")
        digest.update(file.read_bytes() if file.is_file() else b"(missing)")
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def hour_run_id(feature: str, start_us: int, config: str, earlier_checks: int) -> str:
    """The run id of a check of one hour: the same for a retry after a kill (nothing was recorded), new for a
    recheck (`earlier_checks` counts the ledger rows of that hour, any configuration)."""
    from parity.units import iso

    digest = hashlib.sha1(f"{feature}:{start_us}:{config}:{earlier_checks}".encode()).hexdigest()[:6]
    return f"{iso(start_us).replace('-', '').replace(':', '')}-{digest}"


def done_hours(conn: sa.Connection, feature: str, config: str) -> dict[int, Inputs | None]:
    """Every hour of `feature` checked under `config` (its start), with what its newest check read."""
    query = (sa.select(ledger.c.start_us, ledger.c.inputs)
             .where(ledger.c.feature == feature, ledger.c.config_hash == config).order_by(ledger.c.id))
    return {int(start): inputs for start, inputs in conn.execute(query)}


def input_changes(before: Inputs | None, now: Inputs) -> str | None:
    """What changed between two checks' inputs, as `parity run` says it ("1 new event file, 1 changed online
    file"); None when nothing did, or when `before` is unknown (a row from before the ledger kept inputs)."""
    if before is None:
        return None
    said = []
    for kind, noun in INPUT_KINDS.items():
        old, new = before.get(kind, {}), now.get(kind, {})
        counts = {"new": sum(name not in old for name in new),
                  "changed": sum(name in old and list(old[name]) != list(version) for name, version in new.items()),
                  "removed": sum(name not in new for name in old)}
        said += [f"{count} {change} {noun}{'s' * (count != 1)}" for change, count in counts.items() if count]
    return ", ".join(said) or None


def checks_of_hour(conn: sa.Connection, feature: str, start_us: int) -> int:
    query = sa.select(sa.func.count()).select_from(ledger).where(
        ledger.c.feature == feature, ledger.c.start_us == start_us)
    return int(conn.execute(query).scalar_one())


def record_hour(conn: sa.Connection, result: CheckResult, start_us: int, end_us: int, config: str, report: str,
                now_us: int, inputs: Inputs | None = None) -> None:
    conn.execute(ledger.insert().values(
        inputs=inputs,
        feature=result.feature, start_us=start_us, end_us=end_us, config_hash=config, run_id=result.run_id,
        verdict=result.verdict.value, compared=result.compared, matched=result.matched, agreement=result.agreement,
        causes={cause.value: count for cause, count in result.causes.items()}, report=report, recorded_at_us=now_us,
        served=None if result.served is None else {name: result.served.get(name) for name in SERVED_FIGURES},
    ))


def hours(conn: sa.Connection, feature: str | None = None, since_us: int | None = None) -> list[HourRecord]:
    """Ledger rows, by feature, then hour, then the order they were recorded in."""
    query = sa.select(ledger).order_by(ledger.c.feature, ledger.c.start_us, ledger.c.id)
    if feature is not None:
        query = query.where(ledger.c.feature == feature)
    if since_us is not None:
        query = query.where(ledger.c.start_us >= since_us)
    return [_record(row._mapping) for row in conn.execute(query)]


def _record(row: Any) -> HourRecord:
    return HourRecord(
        feature=row["feature"], start_us=int(row["start_us"]), end_us=int(row["end_us"]),
        config_hash=row["config_hash"], run_id=row["run_id"], verdict=Verdict(row["verdict"]),
        compared=int(row["compared"]), matched=int(row["matched"]), agreement=float(row["agreement"]),
        causes={Cause(name): int(count) for name, count in dict(row["causes"]).items()}, report=row["report"],
        recorded_at_us=int(row["recorded_at_us"]), inputs=row["inputs"], served=row["served"],
    )


# --- the lock per feature --------------------------------------------------------------------------------


def owner_name() -> str:
    """Who holds a lock: this host, this process and a random tag (a pid is reused, the tag is not)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def try_lock(engine: sa.Engine, feature: str, owner: str, now_us: int) -> str | None:
    """Take the lock of `feature` for `owner`; None when taken, else who holds it (the caller skips the feature)."""
    expires = now_us + LEASE_US
    try:
        with engine.begin() as conn:
            conn.execute(locks.insert().values(feature=feature, owner=owner, expires_us=expires))
        return None
    except sa.exc.IntegrityError:
        pass
    with engine.begin() as conn:
        row = conn.execute(sa.select(locks).where(locks.c.feature == feature)).first()
        if row is None:  # released between our insert and this read: try once more from the start
            return try_lock(engine, feature, owner, now_us)
        if row.expires_us > now_us and _alive(row.owner):
            return str(row.owner)
        taken = conn.execute(
            locks.update().where(locks.c.feature == feature, locks.c.owner == row.owner)
            .values(owner=owner, expires_us=expires)
        )
        return None if taken.rowcount == 1 else "another run"


def renew_lock(engine: sa.Engine, feature: str, owner: str, now_us: int) -> bool:
    """Extend the lease; False when `owner` no longer holds the lock (it expired and another run took it)."""
    with engine.begin() as conn:
        renewed = conn.execute(locks.update().where(locks.c.feature == feature, locks.c.owner == owner)
                               .values(expires_us=now_us + LEASE_US))
    return renewed.rowcount == 1


def release_lock(engine: sa.Engine, feature: str, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(locks.delete().where(locks.c.feature == feature, locks.c.owner == owner))


@contextmanager
def feature_lock(engine: sa.Engine, feature: str, owner: str, now_us: int) -> Iterator[str | None]:
    """`try_lock` for a `with` block, released at its end: yields None when held, else the holder's name."""
    holder = try_lock(engine, feature, owner, now_us)
    try:
        yield holder
    finally:
        if holder is None:
            release_lock(engine, feature, owner)


def _alive(owner: str) -> bool:
    """False only when `owner` ran on this host and its process is gone (killed): its lock can be taken now."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
