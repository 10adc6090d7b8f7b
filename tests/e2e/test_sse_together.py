"""The original's failure: SSE tests that passed alone died together with
``CancelledError: Cancelled by cancel scope``. Here they run together, and
abruptly abandoned streams leave the server healthy and its log clean."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from tests.servers import ROOT, ServerProcess, base_env, read_events

pytestmark = pytest.mark.e2e


def test_the_suites_sse_tests_pass_together_in_one_run() -> None:
    env = base_env()
    del env["DJANGO_SETTINGS_MODULE"]  # the suite's own test settings, as in `make test`
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/market/test_stream_asgi.py",
            "tests/e2e/test_streams.py",
            "-k",
            "not restarts and not signal",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "CancelledError" not in output
    assert " passed" in output


def test_streams_dropped_mid_read_leave_the_server_healthy(exchange_server: ServerProcess) -> None:
    request = (
        f"GET /market/stream/ HTTP/1.1\r\nHost: 127.0.0.1:{exchange_server.port}\r\n"
        "Accept: text/event-stream\r\n\r\n"
    ).encode()
    sockets = []
    for _ in range(30):
        sock = socket.create_connection(("127.0.0.1", exchange_server.port), timeout=5)
        sock.sendall(request)
        sockets.append(sock)
    for sock in sockets:
        assert b"200 OK" in sock.recv(4096)
    for sock in sockets:
        # A reset, not a polite close: the rudest way a client can leave.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()
    events = read_events(exchange_server.url + "/market/stream/", count=6, types=("price",))
    assert len(events) == 6
    assert exchange_server.get("/healthz").status_code == 200
    log = exchange_server.log()
    assert "CancelledError" not in log
    assert "Traceback" not in log
