"""Prometheus metrics from the ledger and the incidents (`parity metrics`), in the text exposition format.

Per feature, of its newest checked hour: agreement, cells compared, divergent cells per cause, whether it passed
and which hour it was; the time of its last check; and its open incidents. Written to a file for node_exporter's
textfile collector, or served on 127.0.0.1 for a scrape (`MetricsServer`: one thread, a timeout and a cap per
connection).
"""

from __future__ import annotations

import contextlib
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from parity.alerts.incidents import Incident
from parity.ledger import HourRecord
from parity.result import Cause, Verdict
from parity.units import US

_log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name, type, help, value of a feature's newest hour
_GAUGES: tuple[tuple[str, str, Callable[[HourRecord], float]], ...] = (
    ("parity_agreement", "Share of compared cells that agree, newest checked hour.", lambda r: r.agreement),
    ("parity_cells_compared", "Cells compared, newest checked hour.", lambda r: float(r.compared)),
    ("parity_passed", "1 when the newest checked hour passed its threshold, else 0.",
     lambda r: 1.0 if r.verdict is Verdict.PASSED else 0.0),
    ("parity_checked_hour_start_timestamp_seconds", "Start of the newest checked hour.", lambda r: r.start_us / US),
)

# name, figure of the ledger's served block, help: the served check of a feature's newest hour, when it ran
_SERVED_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("parity_served_agreement", "served_agreement",
     "Share of the tap's reads of the online store that served what offline says, newest checked hour."),
    ("parity_served_reads", "reads", "Reads of the online store checked, newest checked hour."),
    ("parity_served_freshness_p50_seconds", "freshness_p50_s", "Median age of the values served, newest checked hour."),
    ("parity_served_freshness_p95_seconds", "freshness_p95_s", "95th percentile age of the values served."),
    ("parity_served_freshness_p99_seconds", "freshness_p99_s", "99th percentile age of the values served."),
    ("parity_served_within_sla", "within_sla", "Share of the values served within the freshness SLA."),
)


def render(records: list[HourRecord], incidents: list[Incident]) -> str:
    """The exposition text for the ledger `records` (every row) and the open `incidents`."""
    newest: dict[str, HourRecord] = {}
    last_check: dict[str, int] = {}
    for r in records:
        if r.feature not in newest or (r.start_us, r.recorded_at_us) >= (newest[r.feature].start_us,
                                                                           newest[r.feature].recorded_at_us):
            newest[r.feature] = r
        last_check[r.feature] = max(last_check.get(r.feature, 0), r.recorded_at_us)
    open_count: dict[str, int] = {}
    for incident in incidents:
        open_count[incident.feature] = open_count.get(incident.feature, 0) + 1
    features = sorted(set(newest) | set(open_count))
    lines: list[str] = []
    for name, help_text, value in _GAUGES:
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{{feature=\"{_label(f)}\"}} {value(newest[f])!r}" for f in sorted(newest)]
    lines += ["# HELP parity_cells Divergent cells by cause, newest checked hour.", "# TYPE parity_cells gauge"]
    for f in sorted(newest):
        lines += [f"parity_cells{{feature=\"{_label(f)}\",cause=\"{cause.value}\"}} "
                  f"{float(newest[f].causes.get(cause, 0))!r}" for cause in Cause]
    served: dict[str, dict[str, Any]] = {f: block for f in sorted(newest) if (block := newest[f].served) is not None}
    for name, figure, help_text in _SERVED_GAUGES:
        shown = {f: block[figure] for f, block in served.items() if isinstance(block.get(figure), (int, float))}
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        lines += [f"{name}{{feature=\"{_label(f)}\",clock=\"{_label(str(served[f].get('clock')))}\"}} "
                  f"{float(value)!r}" for f, value in shown.items()]
    lines += ["# HELP parity_last_check_timestamp_seconds When the feature was last checked.",
              "# TYPE parity_last_check_timestamp_seconds gauge"]
    lines += [f"parity_last_check_timestamp_seconds{{feature=\"{_label(f)}\"}} {last_check[f] / US!r}"
              for f in sorted(last_check)]
    lines += ["# HELP parity_open_incidents Open incidents.", "# TYPE parity_open_incidents gauge"]
    lines += [f"parity_open_incidents{{feature=\"{_label(f)}\"}} {float(open_count.get(f, 0))!r}" for f in features]
    return "\n".join(lines) + "\n"


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def write(text: str, path: Path) -> None:
    """Atomically (a textfile collector must never read half a file)."""
    from parity.publish import publish_text

    path.parent.mkdir(parents=True, exist_ok=True)
    publish_text(path, text)


def serve(port: int, scrape: Callable[[], str], *, timeout_s: float = 5.0, max_connections: int = 64) -> MetricsServer:
    """A server on 127.0.0.1:`port` answering `/metrics` with a fresh `scrape()`; the caller runs it
    (`serve_forever`, then `server_close`)."""
    return MetricsServer(port, scrape, timeout_s=timeout_s, max_connections=max_connections)


@dataclass(slots=True)
class _Client:
    since: float
    request: bytearray = field(default_factory=bytearray)


class MetricsServer:
    """HTTP/1.0-style `/metrics` on one thread: connections wait in a selector, not in threads.

    A connection gets `timeout_s` to send its request and is closed after its answer; past `max_connections`
    open at once, the one waiting longest is closed to make room, so idle or slow clients can neither pile up
    nor keep a scrape out. A request over 16 KiB is refused."""

    _LIMIT = 16 * 1024

    def __init__(self, port: int, scrape: Callable[[], str], *, timeout_s: float, max_connections: int) -> None:
        self._scrape, self._timeout_s, self._max = scrape, timeout_s, max(1, max_connections)
        self._listener = socket.create_server(("127.0.0.1", port), backlog=128)
        self._listener.setblocking(False)
        self.server_port: int = self._listener.getsockname()[1]
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._clients: dict[socket.socket, _Client] = {}  # in arrival order: the first waited longest
        self._stopping = threading.Event()

    @property
    def open_connections(self) -> int:
        return len(self._clients)

    def serve_forever(self) -> None:
        while not self._stopping.is_set():
            for key, _ in self._selector.select(timeout=min(self._timeout_s, 0.5)):
                if key.fileobj is self._listener:
                    self._accept()
                elif key.fileobj is not self._wake_read:
                    self._read(cast(socket.socket, key.fileobj))
            expired = time.monotonic() - self._timeout_s
            for client in [c for c, state in self._clients.items() if state.since < expired]:
                self._close(client)

    def shutdown(self) -> None:
        """Stop `serve_forever` (from another thread)."""
        self._stopping.set()
        self._wake_write.send(b"x")

    def server_close(self) -> None:
        for client in list(self._clients):
            self._close(client)
        self._selector.close()
        for end in (self._listener, self._wake_read, self._wake_write):
            end.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            if len(self._clients) >= self._max:
                self._close(next(iter(self._clients)))
            client.setblocking(False)
            self._clients[client] = _Client(time.monotonic())
            self._selector.register(client, selectors.EVENT_READ)

    def _read(self, client: socket.socket) -> None:
        state = self._clients[client]
        try:
            chunk = client.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        state.request += chunk
        if not chunk or len(state.request) > self._LIMIT:
            self._close(client)
        elif b"\r\n\r\n" in state.request or b"\n\n" in state.request:
            self._answer(client, bytes(state.request))

    def _answer(self, client: socket.socket, request: bytes) -> None:
        method, _, rest = request.partition(b" ")
        path = rest.split(b" ", 1)[0].split(b"?", 1)[0]
        if method != b"GET":
            status, body, kind = "405 Method Not Allowed", b"only GET is served\n", "text/plain"
        elif path not in (b"/metrics", b"/"):
            status, body, kind = "404 Not Found", b"only /metrics is served\n", "text/plain"
        else:
            try:
                status, body, kind = "200 OK", self._scrape().encode(), CONTENT_TYPE
            except Exception as exc:  # noqa: BLE001 - a failed scrape is an answer (500), never a dead server
                _log.warning("metrics_scrape_failed: %s", type(exc).__name__)
                status, body, kind = "500 Internal Server Error", b"scrape failed; see the server's log\n", "text/plain"
        head = f"HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        try:
            client.settimeout(self._timeout_s)
            client.sendall(head.encode() + body)
        except OSError:
            pass
        self._close(client)

    def _close(self, client: socket.socket) -> None:
        self._clients.pop(client, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(client)
        client.close()
