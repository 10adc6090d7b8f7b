"""Request heads and bodies over their limits are refused before they are read, over real sockets.

Each test speaks raw HTTP/1.1 to a real server, because what matters is what
the server reads: a refusal must come while the client is still sending.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import ServerProcess, create_bot

pytestmark = pytest.mark.e2e

TIMEOUT = 1.0
LOTS = 32 * 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(
        Path(tmp_path_factory.mktemp("limits")),
        EXCHANGE_ENGINE="off",
        EXCHANGE_REQUEST_TIMEOUT=str(TIMEOUT),
    )
    process.start()
    yield process
    process.kill()


def connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def send_quietly(sock: socket.socket, data: bytes) -> bool:
    """Send ``data``; False once the server has closed the connection (it refused us)."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], Any]:
    """The status, headers and JSON body of one answer (read until the server closes)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body) if body else None


def test_a_too_large_content_length_is_413_before_the_body_or_token_is_read(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 209715200\r\n\r\n"
        )
        # Not one byte of the 200 MiB is sent: the answer comes anyway.
        status, headers, body = read_answer(sock)
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert headers["connection"] == "close"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(server: ServerProcess) -> None:
    chunk = b"x" * 4096
    sent = 0
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        # Up to 32 MiB, but the server answers after the first 16 KiB and
        # closes; what the client gets sent meanwhile is what the kernel's
        # socket buffers take (a few MiB on loopback).
        while sent < LOTS and send_quietly(sock, b"1000\r\n" + chunk + b"\r\n"):
            sent += len(chunk)
            sock.settimeout(0)
            try:
                if sock.recv(1, socket.MSG_PEEK):
                    break
            except BlockingIOError:
                pass
            finally:
                sock.settimeout(10)
        status, _, body = read_answer(sock)
    assert status == 413
    assert body["error"]["code"] == "payload_too_large"
    assert sent < LOTS


def test_an_8_mib_authorization_header_is_refused_with_431(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /api/accounts/me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ")
        sent = 0
        while sent < 8 * 1024 * 1024 and send_quietly(sock, b"a" * 65536):
            sent += 65536
        send_quietly(sock, b"\r\n\r\n")
        status, _, body = read_answer(sock)
    assert status == 431
    assert body["error"]["code"] == "headers_too_large"


def test_a_half_sent_head_times_out_with_408(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        started = time.monotonic()
        status, _, body = read_answer(sock)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"
    assert time.monotonic() - started < TIMEOUT + 5


def test_a_connection_that_sends_nothing_is_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        status, _, _ = read_answer(sock)
    assert status == 408


def test_a_half_sent_body_times_out_with_408(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(
            b"POST /api/orders HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"sym'
        )
        status, _, body = read_answer(sock)
    assert status == 408
    assert body["error"]["code"] == "request_timeout"


def test_an_over_large_body_on_the_dashboard_is_413_in_json(server: ServerProcess) -> None:
    response = server.post("/trade/", data={"symbol": "BTC", "note": "x" * 100_000})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_requests_within_the_limits_pass_unchanged(server: ServerProcess) -> None:
    response = server.post("/api/orders", json={"symbol": "BTC", "side": "buy", "quantity": 1})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert server.get("/healthz", headers={"X-Padding": "p" * 8000}).status_code == 200


def test_a_chunked_body_within_the_limit_reaches_the_api(server: ServerProcess) -> None:
    token = create_bot(server, "chunky")
    body = (part for part in (b'{"symbol": "BTC", ', b'"side": "buy", "quantity": 1}'))
    response = server.post(
        "/api/orders",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    # Parsed and validated: the order is refused only because this server runs no engine.
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_price"
