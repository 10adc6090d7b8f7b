"""A database that is not there when the engine starts: the engine waits for it, the health check says so."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.servers import (
    ServerProcess,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    require_postgres,
    wait_for_prices,
    wait_until,
)

pytestmark = pytest.mark.e2e


def health(server: ServerProcess) -> requests.Response:
    return server.get("/healthz", timeout=10)


def test_prices_flow_once_a_database_missing_at_the_engine_s_start_appears(tmp_path: Path) -> None:
    require_postgres()
    url = postgres_url()  # named, not created yet
    server = ServerProcess(tmp_path, database_url=url)
    try:
        server.start(healthy=False)  # this first request starts the engine
        down = health(server)
        assert down.status_code == 503
        assert down.json()["status"] == "unhealthy"
        assert down.json()["database"]["status"] == "unhealthy"
        head = requests.head(server.url + "/healthz", timeout=10)
        assert (head.status_code, head.content) == (503, b"")
        # Every worker has tried its first read and is waiting to retry.
        wait_until(
            lambda: server.log().count("restarts in") >= 6, timeout=60, what="the engine's workers retrying"
        )
        assert health(server).json()["engine"]["status"] == "unhealthy"

        create_postgres_database(url)

        prices = wait_for_prices(server, timeout=90)
        assert {entry["symbol"] for entry in prices["prices"]} == {"BTC", "TCSG", "META"}
        up = wait_until(
            lambda: (response := health(server)).status_code == 200 and response,
            timeout=30,
            what=f"/healthz turning 200 ({health(server).text})",
        )
        body = up.json()
        assert body["status"] == "ok"
        assert body["database"]["status"] == "ok"
        assert body["engine"]["status"] == "ok"
        assert {asset["status"] for asset in body["prices"]["assets"].values()} == {"ok"}
        head = requests.head(server.url + "/healthz", timeout=10)
        assert (head.status_code, head.content) == (200, b"")
        assert "crashed" not in server.log()
    finally:
        server.kill()
        drop_postgres_database(url)
