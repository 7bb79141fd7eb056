"""A project of its own copy of the generated logs (tests/schedule/conftest.py), for tests that add to them:
late events, late online rows, clock-skewed rows, a second feature."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from scheduled_project import FEATURE, REPO, Logs, make_project

from parity.events import TIMESTAMP
from parity.publish import published
from parity.settings import Settings, load_settings

HOUR_08 = Path("ride_events") / "date=2026-11-26" / "hour=08"


def copied_project(root: Path, logs: Logs, database: str | None = None) -> Settings:
    own = Logs(root / "events", root / "online")
    shutil.copytree(logs.event_log, own.event_log)
    shutil.copytree(logs.online_log, own.online_log)
    return load_settings(make_project(root / "project", own, database or f"sqlite:///{root / 'parity.db'}"))


def plant_events(settings: Settings, name: str, count: int, *, ingest_us: int | None = None,
                 event_us: int | None = None, partition: Path = HOUR_08) -> Path:
    """`count` new events (copies of 08:00's first rows with new ids), written as another system would: straight
    into `partition` as `name`, with the given ingest or event time, bypassing parity's writer."""
    source = settings.event_log / HOUR_08
    table = pq.read_table(published(source, ".parquet")[0]).slice(0, count)
    table = table.set_column(table.schema.get_field_index("event_id"), "event_id",
                             pa.array([f"{name}-{i}" for i in range(count)]))
    for column, value in (("ingest_time", ingest_us), ("event_time", event_us)):
        if value is not None:
            table = table.set_column(table.schema.get_field_index(column), column,
                                     pc.cast(pa.array([value] * count, pa.int64()), TIMESTAMP))
    target = settings.event_log / partition / f"{name}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, target)
    return target


def add_twin(settings: Settings, twin: str) -> None:
    """A second feature, `twin`: ride_requests under another name, with its own copy of the online output."""
    spec = (REPO / "realtime_jobs" / f"{FEATURE}.yaml").read_text().replace(f"feature: {FEATURE}", f"feature: {twin}")
    (settings.realtime_jobs / f"{twin}.yaml").write_text(spec)
    shutil.copy(REPO / "offline_queries" / f"{FEATURE}.sql", settings.offline_queries / f"{twin}.sql")
    shutil.copytree(settings.online_log / FEATURE, settings.online_log / twin)
