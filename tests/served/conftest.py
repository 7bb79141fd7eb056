"""Fixtures of the served tests: ONE real Redis server for the directory (`parity.online_store.server`, as in
tests/online_store), and a store on it emptied before each test. Without a `redis-server` the Redis tests skip,
saying so; the other tests here need no server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parity.errors import OnlineStoreError
from parity.online_store.server import LocalServer, server_binary


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalServer]:
    try:
        server_binary()
    except OnlineStoreError as exc:
        pytest.skip(f"no Redis server to test against: {exc}")
    with LocalServer() as server:
        yield server
