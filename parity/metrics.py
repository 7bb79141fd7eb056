"""Prometheus metrics from the ledger and the incidents (`parity metrics`), in the text exposition format.

Per feature, of its newest checked hour: agreement, cells compared, divergent cells per cause, whether it passed
and which hour it was; the time of its last check; and its open incidents. Written to a file for node_exporter's
textfile collector, or served on 127.0.0.1 for a scrape.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from parity.alerts.incidents import Incident
from parity.ledger import HourRecord
from parity.result import Cause, Verdict
from parity.units import US

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# name, type, help, value of a feature's newest hour
_GAUGES: tuple[tuple[str, str, Callable[[HourRecord], float]], ...] = (
    ("parity_agreement", "Share of compared cells that agree, newest checked hour.", lambda r: r.agreement),
    ("parity_cells_compared", "Cells compared, newest checked hour.", lambda r: float(r.compared)),
    ("parity_passed", "1 when the newest checked hour passed its threshold, else 0.",
     lambda r: 1.0 if r.verdict is Verdict.PASSED else 0.0),
    ("parity_checked_hour_start_timestamp_seconds", "Start of the newest checked hour.", lambda r: r.start_us / US),
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
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        out.write(text)
        temporary = Path(out.name)
    os.replace(temporary, path)


def serve(port: int, scrape: Callable[[], str]) -> ThreadingHTTPServer:
    """An HTTP server on 127.0.0.1:`port` answering `/metrics` with a fresh `scrape()`; the caller runs it."""

    class Metrics(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics is served")
                return
            body = scrape().encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return ThreadingHTTPServer(("127.0.0.1", port), Metrics)
