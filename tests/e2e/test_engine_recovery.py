"""A database that is not there when the engine starts: the engine waits for it, the health check says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import requests

from tests.scaled.topology import Process, RedisServer
from tests.servers import (
    LOADED_TIMEOUT,
    PYTHON,
    ServerProcess,
    base_env,
    create_postgres_database,
    drop_postgres_database,
    free_port,
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
            lambda: server.log().count("restarts in") >= 6,
            timeout=LOADED_TIMEOUT,
            what="the engine's workers retrying",
        )
        assert health(server).json()["engine"]["status"] == "unhealthy"

        create_postgres_database(url)

        prices = wait_for_prices(server)
        assert {entry["symbol"] for entry in prices["prices"]} == {"BTC", "TCSG", "META"}
        up = wait_until(
            lambda: (response := health(server)).status_code == 200 and response,
            timeout=LOADED_TIMEOUT,
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


def ticked_symbols(url: str) -> set[str]:
    import psycopg

    with psycopg.connect(url, connect_timeout=2) as conn:
        rows = conn.execute("SELECT symbol FROM sources_sourcestate WHERE seq > 0").fetchall()
    return {row[0] for row in rows}


def test_runengine_ticks_once_a_database_missing_at_its_start_appears(tmp_path: Path) -> None:
    require_postgres()
    if shutil.which("redis-server") is None:
        pytest.skip("runengine publishes through Redis here, and redis-server is not installed")
    url = postgres_url()
    redis = RedisServer(tmp_path)
    redis.start()
    # The feeds read from a port where nothing listens: they retry on their own.
    command = [PYTHON, "manage.py", "runengine", "--base-url", f"http://127.0.0.1:{free_port()}"]
    engine = Process(
        "engine", command, directory=tmp_path, env=base_env(DATABASE_URL=url, REDIS_URL=redis.url)
    )
    engine.start()
    try:
        wait_until(
            lambda: engine.log().count("the database failed") >= 3,
            timeout=LOADED_TIMEOUT,
            what="runengine retrying",
        )
        assert engine.alive()
        create_postgres_database(url)
        wait_until(
            lambda: ticked_symbols(url) == {"BTC", "TCSG", "META"},
            timeout=LOADED_TIMEOUT,
            what=f"every source ticking after the database appeared:\n{engine.log()[-3000:]}",
        )
        assert "crashed" not in engine.log()
    finally:
        engine.stop()
        redis.stop()
        drop_postgres_database(url)
