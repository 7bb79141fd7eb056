"""Fixtures of the scheduled-run tests: one generated event log, streamed once on Beam, shared by per-test projects.

`generated_logs`: `parity.generate` rides from 2026-11-26 08:00 UTC for 2 h 10 min at 60 events a minute (the
`parity generate --rate 60` data: a little late data is planted by the generator, so an hour may breach), written
with `parity.events.write_events`, and `ride_requests` streamed over [08:00, 10:00) by its real Beam job
(`parity.realtime.run_stream`, the output `parity stream` writes). The newest arrival is about 10:10, so both
hours (08:00 and 09:00) are settled and 10:00 is not.

`project`: a feature project of its own per test (ride_requests' spec and SQL copied, so a test may edit them),
reading the shared logs, with its own reports folder and results store. Tests that take `store_url` run twice:
on a SQLite file and on the PostgreSQL server named by PARITY_TEST_POSTGRES_URL (skipped without it), each
PostgreSQL test in a schema of its own.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pyspark.sql import SparkSession
from scheduled_project import END, FEATURE, START, Logs, make_project

from parity.cli import parse_time
from parity.events import newest_arrival_us, read_events, write_events
from parity.generate import generate_rides
from parity.offline import event_range
from parity.realtime import run_stream
from parity.settings import Settings, load_settings
from parity.spec import load_feature
from parity.units import parse_duration


@pytest.fixture(scope="package")
def generated_logs(tmp_path_factory: pytest.TempPathFactory, spark: SparkSession) -> Logs:
    root = tmp_path_factory.mktemp("generated")
    project = make_project(root / "project", Logs(root / "events", root / "online"), f"sqlite:///{root / 'p.db'}")
    settings = load_settings(project)
    start_us, end_us = parse_time(START, "start"), parse_time(END, "end")
    write_events(generate_rides(start_us, parse_duration("130m"), 60, seed=11), settings.event_log, "ride_events",
                 settings.quarantine)
    spec = load_feature(FEATURE, project)
    lo, hi = event_range(spec.window, start_us, end_us)
    run_stream(spec, settings, read_events(settings.event_log, spec.source, lo, hi), windows=(start_us, end_us))
    newest_arrival_us(settings.event_log, "ride_events")  # writes the arrival index once, before runs share it
    return Logs(settings.event_log, Path(settings.online_log))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'parity.db'}"
        return
    server = os.environ.get("PARITY_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PARITY_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(sa.make_url(server).set(drivername="postgresql+psycopg2"))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    yield f"{server}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture
def sqlite_project(tmp_path: Path, generated_logs: Logs) -> Settings:
    return load_settings(make_project(tmp_path / "project", generated_logs, f"sqlite:///{tmp_path / 'parity.db'}"))


@pytest.fixture
def project(tmp_path: Path, generated_logs: Logs, store_url: str) -> Settings:
    return load_settings(make_project(tmp_path / "project", generated_logs, store_url))
