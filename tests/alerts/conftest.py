"""Fixtures for the alert tests: a project with alert rules, its results store, and a real webhook receiver.

- `database`: every test that takes it runs twice, on a SQLite file and on the PostgreSQL server named by
  PARITY_TEST_POSTGRES_URL (`.ci/run` installs and starts one on loopback); without that variable the
  PostgreSQL half is skipped. Each PostgreSQL test gets its own schema, dropped afterwards.
- `receiver`: an http.server on 127.0.0.1 in a thread, standing in for Slack, PagerDuty and a generic webhook.
  It records every request and can be `stop()`ped (connection refused), made to `hang` or to answer 500.
- Planted facts: `SLACK_SECRET_PATH` and `PAGERDUTY_KEY` are secrets that must never reach the store, logs or errors.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
from alert_fixtures import PAGERDUTY_KEY, SLACK_SECRET_PATH, Receiver

from parity.settings import Settings, load_settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'parity.db'}"
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
def settings(tmp_path: Path, database: str) -> Settings:
    project = tmp_path / "project"
    (project / "alerts").mkdir(parents=True)
    return replace(load_settings(project), database=database)


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch, receiver: Receiver) -> None:
    monkeypatch.setenv("TEST_SLACK_URL", receiver.url(SLACK_SECRET_PATH))
    monkeypatch.setenv("TEST_PAGERDUTY_KEY", PAGERDUTY_KEY)


