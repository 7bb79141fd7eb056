"""`parity metrics --serve`'s server over real sockets on 127.0.0.1: idle clients hold no thread and cannot
keep a scrape out; a connection gets a timeout; past the cap the longest-waiting one is closed."""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from parity.metrics import CONTENT_TYPE, MetricsServer, serve

BODY = "parity_agreement{feature=\"f\"} 1.0\n"


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    running = serve(0, lambda: BODY, timeout_s=2.0, max_connections=64)
    thread = threading.Thread(target=running.serve_forever, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    thread.join(timeout=5)
    running.server_close()


def scrape(server: MetricsServer, path: str = "/metrics") -> tuple[int, str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}{path}", timeout=5) as answer:
        return answer.status, answer.headers["Content-Type"], answer.read().decode()


def idle(server: MetricsServer, count: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", server.server_port)) for _ in range(count)]


def test_a_scrape_answers_with_the_exposition(server: MetricsServer) -> None:
    assert scrape(server) == (200, CONTENT_TYPE, BODY)


def test_other_paths_are_not_found(server: MetricsServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        scrape(server, "/admin")
    assert caught.value.code == 404


def test_400_idle_clients_hold_no_threads_and_a_scrape_right_after_is_fast(server: MetricsServer) -> None:
    threads = threading.active_count()
    clients = idle(server, 400)
    try:
        started = time.monotonic()
        assert scrape(server)[2] == BODY
        assert time.monotonic() - started < 0.5
        assert threading.active_count() <= threads + 1
        assert server.open_connections <= 64
    finally:
        for client in clients:
            client.close()


def test_past_the_cap_the_longest_waiting_connection_is_closed(server: MetricsServer) -> None:
    clients = idle(server, 65)
    try:
        clients[0].settimeout(1.0)
        assert clients[0].recv(1) == b""  # closed by the server to make room for the 65th
    finally:
        for client in clients:
            client.close()


def test_an_idle_connection_is_closed_after_the_timeout(server: MetricsServer) -> None:
    (client,) = idle(server, 1)
    with client:
        client.sendall(b"GET /metr")  # half a request, then nothing
        client.settimeout(4.0)
        started = time.monotonic()
        assert client.recv(1) == b""
        assert 1.5 < time.monotonic() - started < 4.0
