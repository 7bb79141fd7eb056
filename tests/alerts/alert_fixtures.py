"""Builders and the webhook receiver the alert tests share (fixtures wrapping them are in conftest.py)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from parity.result import CheckFailure, CheckResult, Verdict
from parity.settings import Settings

SLACK_SECRET_PATH = "/services/T0SECRET/B0SECRET/xoxsecretwebhooktoken"
PAGERDUTY_KEY = "R0UT1NGKEY0SECRET0000000000000000"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    answered: int | None  # HTTP status sent back; None if the client went away first


class Receiver:
    """A real HTTP server that records what it receives. `mode`: ok (202), error (500) or hang (never answers);
    `delay_s`: how long it takes to answer."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.mode = "ok"
        self.delay_s = 0.0
        self.release = threading.Event()
        self.arrived = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                entry = Received(self.path, dict(self.headers), json.loads(self.rfile.read(length)), None)
                receiver.received.append(entry)
                receiver.arrived.set()
                if receiver.mode == "hang":
                    receiver.release.wait(60)
                    return
                time.sleep(receiver.delay_s)
                status = 202 if receiver.mode == "ok" else 500
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(b'{"status": "success"}' if status == 202 else b'{"status": "broken"}')
                    entry.answered = status
                except OSError:
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def delivered(self, path: str) -> list[dict[str, Any]]:
        """Bodies of requests to `path` the server accepted (answered 2xx)."""
        return [r.body for r in self.received if r.path == path and r.answered == 202]

    def accepted_keys(self, path: str) -> Counter[str]:
        """How many times each notification key (the `Idempotency-Key` header) was accepted at `path`: a receiver
        that dedupes by key acts on each once; a count above 1 is a repeat it had to drop."""
        return Counter(r.headers["Idempotency-Key"] for r in self.received if r.path == path and r.answered == 202)

    def close(self) -> None:
        self.release.set()
        if self._server is not None:
            self.stop()


def write_rule(settings: Settings, name: str, text: str) -> Path:
    path = settings.alerts / f"{name}.yaml"
    path.write_text(text)
    return path


def oncall_rule(receiver: Receiver, when: str = "{breach: critical, failed: error}", extra: str = "") -> str:
    """Slack + PagerDuty to the receiver, with short timeouts and backoff."""
    return f"""
features: [ride_requests]
when: {when}
resolve_after: 2
renotify_after: 4h
{extra}
channels:
  - {{type: slack, url_env: TEST_SLACK_URL, timeout: 2s, retries: 1, backoff: 10ms}}
  - {{type: pagerduty, routing_key_env: TEST_PAGERDUTY_KEY, url: "{receiver.url('/v2/enqueue')}",
      timeout: 2s, retries: 1, backoff: 10ms}}
"""


def check_result(
    compared: int = 10_000,
    matched: int | None = None,
    *,
    feature: str = "ride_requests",
    run_id: str | None = None,
    threshold: float = 0.999,
    net_matched: int | None = None,
    verdict: Verdict | None = None,
) -> CheckResult:
    """A CheckResult as the check would build it: `matched` of `compared` cells agree (default: all)."""
    matched = compared if matched is None else matched
    agreement = matched / compared if compared else 1.0
    net = (net_matched if net_matched is not None else matched) / compared if compared else 1.0
    mismatched = compared - matched
    return CheckResult(
        feature=feature,
        run_id=run_id or uuid.uuid4().hex,
        start="2026-03-01T00:00:00Z",
        end="2026-03-01T01:00:00Z",
        sample_rate=1.0,
        compared=compared,
        matched=matched,
        value_mismatch=mismatched,
        missing_online=0,
        missing_offline=0,
        duplicate_online=0,
        agreement=agreement,
        threshold=threshold,
        passed=agreement >= threshold,
        causes={"unexplained": mismatched} if mismatched else {},
        agreement_net_of_explained=net,
        verdict=verdict or (Verdict.PASSED if agreement >= threshold else Verdict.BREACHED),
    )


def check_failure(feature: str = "ride_requests", run_id: str | None = None) -> CheckFailure:
    return CheckFailure(
        feature=feature,
        run_id=run_id or uuid.uuid4().hex,
        start="2026-03-01T00:00:00Z",
        end="2026-03-01T01:00:00Z",
        error="realtime job of ride_requests: Beam pipeline stalled",
        exit_code=2,
    )
