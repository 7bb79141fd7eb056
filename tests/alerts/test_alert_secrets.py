"""Secrets never reach the terminal, the log or the results store, in any form; a store error names the store.

- A receiver (or a proxy before it) that quotes the request path in its HTTP reason phrase, raw, percent-encoded
  or decoded, would put a webhook's or Slack's token in the delivery's detail: a real http.server on 127.0.0.1
  answers 404 with such a phrase.
- A store URL's passwords (userinfo and `?password=` / `?sslpassword=`) are printed as *** by every command that
  opens the store (check, alerts, metrics, history, run), and an unreachable store is one line naming it (redacted)
  and the fix, never a bare `OperationalError`; a port that is not a number is one line too.

The delivery tests run on SQLite and, with PARITY_TEST_POSTGRES_URL, on PostgreSQL (conftest.py).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from alert_fixtures import check_result, write_rule

from parity import results_store as alert_store
from parity.alerts import evaluate_alerts, outbox
from parity.errors import StoreError
from parity.generate import SCHEMA
from parity.settings import Settings

REPO = Path(__file__).resolve().parents[2]
T0 = 1_772_323_200_000_000  # 2026-03-01T00:00:00Z
TOKEN_PATH = "/services/T0LEAKSECRET/B0LEAKSECRET/xox%2Bleak%2Fsecrettoken"  # percent-encoded bytes in the token
PIECES = ("T0LEAKSECRET", "B0LEAKSECRET", "leak", "secrettoken")

QUOTERS: dict[str, Callable[[str], str]] = {
    "raw": lambda path: path,
    "percent-encoded": lambda path: urllib.parse.quote(path, safe=""),
    "decoded": urllib.parse.unquote,
    "token-only": lambda path: urllib.parse.unquote(path.rsplit("/", 1)[1]),
}


class QuotingReceiver:
    """A real HTTP server answering every POST `404 Not Found: <the request path, as `quote` renders it>`."""

    def __init__(self, quote: Callable[[str], str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.send_response(404, f"Not Found: {quote(self.path)}")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def everything_stored(database: str) -> str:
    engine = alert_store.connect(database)
    with engine.connect() as conn:
        text = json.dumps([[repr(n) for n in outbox.list_notifications(conn)],
                           [repr(a) for a in outbox.list_attempts(conn)]])
    engine.dispose()
    return text


@pytest.mark.parametrize("form", sorted(QUOTERS))
@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_a_reason_phrase_quoting_the_secret_path_never_reaches_output_log_or_store(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str], kind: str, form: str,
) -> None:
    receiver = QuotingReceiver(QUOTERS[form])
    try:
        monkeypatch.setenv("TEST_HOOK_URL", receiver.url(TOKEN_PATH))
        write_rule(settings, "oncall", f"when: {{breach: critical}}\nchannels:\n"
                                       f"  - {{type: {kind}, url_env: TEST_HOOK_URL, timeout: 2s, retries: 0}}\n")
        caplog.set_level(logging.DEBUG)
        [change] = evaluate_alerts([check_result(compared=10_000, matched=9_900)], settings, at_us=T0)
    finally:
        receiver.close()
    [delivery] = change.deliveries
    assert (delivery.sent, delivery.detail) == (False, "HTTP 404 Not Found")  # the status code is kept
    out, err = capsys.readouterr()
    seen = (out + err + caplog.text + str(change) + everything_stored(settings.database)).lower()
    for piece in PIECES:
        assert piece.lower() not in seen


SECRET_URL = "https://user:pw0secret@hooks.example.com/services/T0/B0/tok%2Ben0secret?sig=qs0secret&x=1"


@pytest.mark.parametrize("shown", [
    SECRET_URL, "/services/T0/B0/tok%2Ben0secret", "/services/T0/B0/tok+en0secret", "tok+en0secret",
    "tok%2Ben0secret", "tok%2ben0secret", "%2Fservices%2FT0%2FB0%2Ftok%252Ben0secret", "sig=qs0secret", "qs0secret",
    "user:pw0secret@", "TOK%2BEN0SECRET",
], ids=["whole", "path", "path-decoded", "token-decoded", "token", "lowercase-hex", "path-quoted", "query",
        "query-value", "userinfo", "upper-case"])
def test_redact_scrubs_every_form_of_a_secret_url(shown: str) -> None:
    from parity.redact import redact

    said = redact(f"HTTP 404 Not Found: {shown} (retry later)", [SECRET_URL])
    assert said.startswith("HTTP 404 Not Found: ") and said.endswith(" (retry later)")
    assert "0secret" not in said.lower()


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://parity:pw1secret@db.example:5432/parity", "postgresql://parity:***@db.example:5432/parity"),
    ("postgresql://parity@db.example/parity?password=pw2secret&sslmode=require",
     "postgresql://parity@db.example/parity?password=***&sslmode=require"),
    ("postgresql://parity:pw1secret@db/parity?sslpassword=pw3secret&options=-csearch_path%3Dx",
     "postgresql://parity:***@db/parity?sslpassword=***&options=-csearch_path%3Dx"),
    ("postgresql://parity:p%40ss0secret@db/parity?PASSWORD=pw4secret", "postgresql://parity:***@db/parity?PASSWORD=***"),
    ("sqlite:///data/parity.db", "sqlite:///data/parity.db"),
])
def test_redact_url_hides_passwords_in_userinfo_and_query(url: str, shown: str) -> None:
    from parity.redact import redact_url

    assert redact_url(url) == shown


# --- store URLs through the commands that open the store ---------------------------------------------------


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


COMMANDS = {
    "check": ["check", "ride_requests", "--start", "2026-11-26T08:00:00Z", "--end", "2026-11-26T09:00:00Z"],
    "alerts": ["alerts"],
    "metrics": ["metrics"],
    "history": ["history", "ride_requests"],
    "run": ["run", "ride_requests"],
}


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    """A project with the ride_requests spec and one event file (so `run` gets as far as the store)."""
    root = tmp_path / "project"
    for folder, suffix in (("realtime_jobs", "yaml"), ("offline_queries", "sql")):
        (root / folder).mkdir(parents=True)
        shutil.copy(REPO / folder / f"ride_requests.{suffix}", root / folder)
    hour = root / "events" / "ride_events" / "date=2026-11-26" / "hour=08"
    hour.mkdir(parents=True)
    moment = dt.datetime(2026, 11, 26, 8, 30, tzinfo=dt.UTC)
    row = {"event_id": "e1", "event_time": moment, "ingest_time": moment, "event_type": "ride_requested",
           "city": "nairobi", "lat": -1.2864, "lon": 36.8172}
    pq.write_table(pa.Table.from_pylist([row], SCHEMA), hour / "part.parquet")
    yield root


def parity_with(project: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    (project / "pyproject.toml").write_text(f'[tool.parity]\nevent_log = "events"\ndatabase = "{database}"\n')
    return subprocess.run([sys.executable, "-m", "parity.cli", *args, "--project", str(project)], capture_output=True,
                          text=True, timeout=120, check=False, env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unreachable_store_is_one_line_naming_it_with_every_password_hidden(project: Path, command: str) -> None:
    port = closed_port()
    database = f"postgresql://parity:user0secret@127.0.0.1:{port}/parity_test?password=query0secret&sslpassword=ssl0secret"
    done = parity_with(project, database, *COMMANDS[command])
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: results store postgresql://parity:***@127.0.0.1:{port}/parity_test"
                           "?password=***&sslpassword=***: cannot connect"), line
    assert "check that the database server is running" in line
    assert "0secret" not in done.stdout + done.stderr and "OperationalError" not in line


@pytest.mark.parametrize("command", ["alerts", "metrics", "history"])
def test_a_sqlite_store_that_cannot_be_created_names_its_path_and_the_fix(project: Path, command: str) -> None:
    (project / "data").write_text("a file where the store's folder should be\n")
    done = parity_with(project, "sqlite:///data/parity.db", *COMMANDS[command])
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        (f"error: results store {project / 'data' / 'parity.db'}: cannot create its folder {project / 'data'} "
        "(a file is in the way); fix [tool.parity] database in pyproject.toml or move that file")]


@pytest.mark.parametrize("command", ["alerts", "metrics"])
def test_a_port_that_is_not_a_number_is_one_line_that_quotes_nothing_of_the_url(project: Path, command: str) -> None:
    done = parity_with(project, "postgresql://parity:port0secret@127.0.0.1:54x2/parity_test", *COMMANDS[command])
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        ("error: results store [tool.parity] database (a postgresql:// URL, not shown): its port is not a number; "
        "write host:5432, and percent-encode any '/', ':', '@', '?' or '#' in the password")]


def test_a_wrong_postgresql_password_names_the_store_redacted_and_the_fix(project: Path) -> None:
    server = os.environ.get("PARITY_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PARITY_TEST_POSTGRES_URL is not set (.ci/run starts a PostgreSQL server and sets it)")
    url = sa.make_url(server).set(password="wrong0secret")
    database = url.render_as_string(hide_password=False)
    done = parity_with(project, database, "alerts")
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"error: results store {url.render_as_string(hide_password=True)}: ")
    assert "check the user and password" in line and "0secret" not in line


def test_a_store_that_breaks_after_it_opened_is_one_store_error_naming_it(tmp_path: Path) -> None:
    database = tmp_path / "parity.db"
    engine = alert_store.connect(f"sqlite:///{database}")
    engine.dispose()  # the next statement opens the file again
    database.write_bytes(b"\0garbage" * 512)
    try:
        with pytest.raises(StoreError) as failed, engine.connect() as conn:
            alert_store.recorded_results(conn)
    finally:
        engine.dispose()
    assert str(failed.value) == (f"results store {database}: file is not a database; move the file aside to start an "
                                 "empty store, or restore it from a backup")
