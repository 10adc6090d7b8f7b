"""Database faults over real sockets: PostgreSQL's refusals and a database that is down are never a 500."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.servers import ROOT, ServerProcess, drop_postgres_database, postgres_database, require_postgres

pytestmark = pytest.mark.e2e

# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/exchange"


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    require_postgres()
    url = postgres_database()
    server = ServerProcess(Path(tmp_path_factory.mktemp("nul")), database_url=url, EXCHANGE_ENGINE="off")
    server.start()
    yield server
    server.kill()
    drop_postgres_database(url)


@pytest.mark.postgres
@pytest.mark.parametrize("query", ["account=%00", "symbol=%00", "account=bob%00bob"])
def test_a_nul_character_is_a_400_not_a_500_on_postgresql(postgres_server: ServerProcess, query: str) -> None:
    response = postgres_server.get(f"/api/trades?{query}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


@pytest.fixture
def server_without_database(tmp_path: Path) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path, database_url=UNREACHABLE_DATABASE, EXCHANGE_ENGINE="off")
    # ServerProcess.start waits for a healthy server; this one answers, but unhealthy.
    with (tmp_path / "server.log").open("ab") as log:
        server.process = subprocess.Popen(
            server.command(),
            cwd=ROOT,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            # The pool waits DATABASE_POOL_TIMEOUT (2 s) for a connection before it gives up.
            server.get("/healthz", timeout=10)
            break
        except requests.RequestException:
            time.sleep(0.1)
    yield server
    server.kill()


def test_the_sources_answer_503_unavailable_while_the_database_is_down(
    server_without_database: ServerProcess,
) -> None:
    response = server_without_database.get("/sources/")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1
