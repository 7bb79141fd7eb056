"""The lock per feature in the results store (SQLite and PostgreSQL): one holder at a time; a holder killed on this
host, or whose lease ended, gives it up to the next run; a holder that lost it cannot renew it."""

from __future__ import annotations

import socket
import subprocess
import sys

from parity import ledger


def dead_owner() -> str:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    return f"{socket.gethostname()}:{child.stdout.strip()}:deadbeef"


def test_one_holder_at_a_time_until_released(store_url: str) -> None:
    engine = ledger.connect(store_url)
    first, second = ledger.owner_name(), ledger.owner_name()
    assert ledger.try_lock(engine, "f", first, 0) is None
    assert ledger.try_lock(engine, "f", second, 1) == first
    assert ledger.try_lock(engine, "g", second, 1) is None  # locks are per feature
    ledger.release_lock(engine, "f", first)
    assert ledger.try_lock(engine, "f", second, 2) is None
    engine.dispose()


def test_a_dead_holder_on_this_host_or_an_ended_lease_frees_the_lock(store_url: str) -> None:
    engine = ledger.connect(store_url)
    mine = ledger.owner_name()
    assert ledger.try_lock(engine, "f", dead_owner(), 0) is None
    assert ledger.try_lock(engine, "f", mine, 1) is None  # the holder's process is gone: its lock is taken over
    elsewhere = "another-host:1:cafe"
    assert ledger.try_lock(engine, "g", elsewhere, 0) is None
    assert ledger.try_lock(engine, "g", mine, ledger.LEASE_US - 1) == elsewhere  # alive as far as we can tell
    assert ledger.try_lock(engine, "g", mine, ledger.LEASE_US) is None  # its lease ended
    assert not ledger.renew_lock(engine, "g", elsewhere, ledger.LEASE_US + 1)
    assert ledger.renew_lock(engine, "g", mine, ledger.LEASE_US + 1)
    engine.dispose()
