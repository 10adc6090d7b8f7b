"""The streams under a hostile client, a failing database and a shutdown (issue "Hardening").

Each test talks to a real server process over raw sockets, so that what is
asserted is what a client receives: a status line, a complete chunked body.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import requests

from tests.servers import (
    POSTGRES_ADMIN_URL,
    ServerProcess,
    drop_postgres_database,
    postgres_database,
    read_events,
    require_postgres,
    wait_for_prices,
)

pytestmark = pytest.mark.e2e


class Stream:
    """One SSE request on its own socket, read as raw bytes."""

    def __init__(self, server: ServerProcess, path: str = "/market/stream/", headers: str = "") -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nAccept: text/event-stream\r\n"
            f"{headers}\r\n".encode()
        )
        self.data = b""

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.data:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError(f"closed before {marker!r}: {self.data[-300:]!r}")
            self.data += chunk
        return self.data

    def read_to_end(self) -> bytes:
        while chunk := self.sock.recv(65536):
            self.data += chunk
        return self.data

    @property
    def status(self) -> int:
        return int(self.read_until(b"\r\n").split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()


@contextmanager
def open_streams(server: ServerProcess, count: int, **kwargs: str) -> Iterator[list[Stream]]:
    streams = []
    try:
        for _ in range(count):
            streams.append(Stream(server, **kwargs))
        for stream in streams:
            stream.read_until(b"stream-open")
        yield streams
    finally:
        for stream in streams:
            stream.close()


def threads_of(server: ServerProcess) -> int:
    assert server.process is not None
    return int(psutil.Process(server.process.pid).num_threads())


def pg_connections(database_url: str) -> int:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "select count(*) from pg_stat_activity where datname = %s", (database_url.rsplit("/", 1)[1],)
        ).fetchone()
    return int(row[0]) if row else 0


def test_threads_do_not_grow_with_open_streams(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        with open_streams(server, 5):
            few = threads_of(server)
        with open_streams(server, 120):
            many = threads_of(server)
        # Each stream used to hold a thread of its own for its whole life.
        assert many <= few + 5, (few, many)
    finally:
        server.kill()


def test_database_connections_do_not_grow_with_open_streams(tmp_path: Path) -> None:
    require_postgres()
    database_url = postgres_database()
    server = ServerProcess(tmp_path, database_url=database_url)
    try:
        server.start()
        with open_streams(server, 60):
            held = pg_connections(database_url)
            # Each stream used to hold a PostgreSQL connection: 60 streams, 63 connections.
            assert held <= 25, held
            assert server.get("/healthz").status_code == 200
    finally:
        server.kill()
        drop_postgres_database(database_url)


def test_streams_over_their_limits_are_refused_with_503_before_they_start(tmp_path: Path) -> None:
    # The embedded engine's three feeds are streams of this server too, exempt from the limits.
    server = ServerProcess(tmp_path, EXCHANGE_STREAMS_MAX="3", EXCHANGE_STREAMS_PER_CLIENT="2").start()
    try:
        wait_for_prices(server)
        with open_streams(server, 2, headers="Authorization: Bearer a\r\n"):
            refused = server.get("/market/stream/", stream=True, headers={"Authorization": "Bearer a"})
            assert refused.status_code == 503
            assert refused.headers["Retry-After"]
            assert refused.json()["error"]["code"] == "too_many_streams"
            assert "per client" in refused.json()["error"]["message"]
            # Another client (a token counts as the client) is admitted, up to the total.
            with open_streams(server, 1, headers="Authorization: Bearer b\r\n"):
                over = server.get("/market/stream/", stream=True, headers={"Authorization": "Bearer c"})
                assert over.status_code == 503
                assert over.json()["error"]["code"] == "too_many_streams"
        # Closed streams free their places, once the server notices they left.
        deadline = time.monotonic() + 20
        while True:
            with requests.get(
                server.url + "/market/stream/", headers={"Authorization": "Bearer c"}, stream=True, timeout=10
            ) as response:
                if response.status_code == 200:
                    break
            assert time.monotonic() < deadline, "closed streams still counted after 20 s"
            time.sleep(0.1)
    finally:
        server.kill()


@pytest.mark.parametrize(
    "cursor",
    [
        "market-BTC:abc",
        "market-BTC:1.5",
        "market-BTC:%00",
        pytest.param("market-BTC:" + "9" * 5000, id="5000-digits"),
        "error",
    ],
)
@pytest.mark.parametrize("how", ["header", "query"])
def test_a_malformed_cursor_is_a_json_400(exchange_server: ServerProcess, cursor: str, how: str) -> None:
    if how == "header":
        response = exchange_server.get("/market/stream/", headers={"Last-Event-ID": cursor}, stream=True)
    else:
        response = exchange_server.get("/market/stream/", params={"lastEventId": cursor}, stream=True)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "invalid_cursor"


def test_recover_without_a_grip_proxy_is_an_ordinary_stream(exchange_server: ServerProcess) -> None:
    events = read_events(exchange_server.url + "/market/stream/", count=3, params={"recover": "true"})
    assert len(events) == 3


def test_a_stream_is_503_while_the_database_is_down(tmp_path: Path) -> None:
    require_postgres()
    import psycopg

    database_url = postgres_database()
    name = database_url.rsplit("/", 1)[1]
    server = ServerProcess(tmp_path, database_url=database_url)
    try:
        server.start()
        read_events(server.url + "/market/stream/", count=1)
        # The database goes down: its connections end and no new one is allowed.
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (name,)
            )
        response = server.get("/market/stream/", stream=True)
        assert response.status_code == 503
        assert response.headers["Retry-After"]
        assert response.json()["error"]["code"] == "unavailable"
    finally:
        server.kill()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        drop_postgres_database(database_url)


def test_shutdown_ends_every_open_stream_with_a_complete_response(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path).start()
    try:
        dashboard = server.get("/")
        assert server.get("/static/dashboard/dashboard.css").status_code == 200, dashboard.status_code
        with open_streams(server, 3) as streams:
            assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
            for stream in streams:
                # The last chunk of a chunked body: the response ended, it was not cut.
                assert stream.read_to_end().endswith(b"\r\n0\r\n\r\n"), stream.data[-200:]
    finally:
        server.kill()
    log = server.log()
    assert "ASGI callable returned without completing response" not in log
    assert "StreamingHttpResponse must consume synchronous iterators" not in log
    assert "Traceback" not in log
