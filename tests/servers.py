"""Real exchange server processes for end-to-end tests.

Each ``ServerProcess`` is the production entry point (uvicorn serving
``exchange_site.asgi:application``, as ``make run`` does) on a free loopback port, with its own
database, so tests talk to it over real sockets exactly as bots and browsers do.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# The same server command as `make run` (see the Makefile).
SERVE_COMMAND = [
    PYTHON,
    "-m",
    "uvicorn",
    "exchange_site.asgi:application",
    "--http",
    "web.http_protocol:BoundedHttpToolsProtocol",
    "--timeout-graceful-shutdown",
    "1",
    "--no-access-log",
]
TEST_SECRET = "e2e-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
# Bounds of the waits for a server on a loaded 2-core machine (the suite runs
# beside other work): each wait ends as soon as its condition holds, so a
# generous bound costs nothing when all is well.
LOADED_TIMEOUT = 120.0
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def base_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "EXCHANGE_", "DATABASE_URL", "REDIS_URL", "GRIP_URL"))
    }
    env.update(
        # A developer's local .env never reaches the servers and commands of the tests.
        EXCHANGE_ENV_FILE="",
        EXCHANGE_STATE_DIR=str(Path(tempfile.gettempdir()) / f"exchange-tests-state-{os.getpid()}"),
        DJANGO_SETTINGS_MODULE="exchange_site.settings",
        DJANGO_SECRET_KEY=TEST_SECRET,
        DJANGO_DEBUG="false",
        DJANGO_SECURE_COOKIES="false",
        EXCHANGE_SEED="7",
        EXCHANGE_TICK_INTERVAL="0.05",
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


_migrated_template: dict[str, Path] = {}


def sqlite_database(directory: Path) -> str:
    """A migrated SQLite file for one server; migrations run once per session."""
    template = _migrated_template.get("sqlite")
    if template is None:
        template = directory.parent / f"template-{uuid.uuid4().hex}.sqlite3"
        manage("migrate", "--no-input", env=base_env(DATABASE_URL=f"sqlite:///{template}"))
        _migrated_template["sqlite"] = template
    target = directory / "db.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


def postgres_url(name: str | None = None) -> str:
    """The URL of a PostgreSQL database on the test server, by default a new unique name (not created)."""
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + (name or f"exchange_test_{uuid.uuid4().hex[:12]}")


def create_postgres_database(url: str) -> str:
    """Create and migrate the database ``url`` names (dropped by ``drop_postgres_database``)."""
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    manage("migrate", "--no-input", env=base_env(DATABASE_URL=url))
    return url


def postgres_database() -> str:
    """A new, migrated PostgreSQL database (dropped by ``drop_postgres_database``)."""
    return create_postgres_database(postgres_url())


def drop_postgres_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=2):
            return True
    except Exception:
        return False


def manage(
    *args: str, env: dict[str, str], timeout: float = LOADED_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


class ServerProcess:
    """One exchange server process; ``start`` waits until it serves."""

    def __init__(
        self, directory: Path, *, database_url: str | None = None, port: int | None = None, **env: str
    ) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url or sqlite_database(directory)
        self.env = base_env(
            DATABASE_URL=self.database_url, EXCHANGE_STATE_DIR=str(directory / "state"), **env
        )
        self.log_path = directory / f"server-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [*SERVE_COMMAND, "--host", "127.0.0.1", "--port", str(self.port)]

    def start(self, timeout: float = LOADED_TIMEOUT, *, healthy: bool = True) -> ServerProcess:
        """Start the server and wait until it serves: ``/healthz`` says 200, or answers at all
        when not ``healthy`` (for a server whose database or prices are expected to be missing)."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}:\n{self.log()}")
            try:
                # Beyond the pool's wait for a connection (DATABASE_POOL_TIMEOUT) with the database down.
                status = requests.get(self.url + "/healthz", timeout=5).status_code
                if status == 200 or (not healthy and status == 503):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start within {timeout}s:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send ``sig`` to the server's process group and wait; returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        os.killpg(self.process.pid, sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.get(self.url + path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.post(self.url + path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.put(self.url + path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return requests.delete(self.url + path, **kwargs)

    def manage(self, *args: str, timeout: float = LOADED_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """Run a management command against this server's database."""
        return manage(*args, env=self.env, timeout=timeout)


@contextmanager
def running_server(directory: Path, **kwargs: Any) -> Iterator[ServerProcess]:
    server = ServerProcess(directory, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def read_events(
    url: str,
    *,
    count: int,
    types: tuple[str, ...] = ("price", "trade", "tick"),
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    timeout: float = 20,
    until: Callable[[list[dict[str, Any]]], bool] | None = None,
) -> list[dict[str, Any]]:
    """Read ``count`` events of ``types`` from an SSE URL with sseclient-py, bounded in time.

    With ``until``, read on past ``count`` until it holds for what was read: on a
    loaded machine the sources tick in bursts, so the first events may all be
    of one asset.
    """
    import sseclient

    out: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    with requests.get(
        url,
        headers={"Accept": "text/event-stream", **(headers or {})},
        params=params,
        stream=True,
        timeout=(5, timeout),
    ) as response:
        response.raise_for_status()
        for event in sseclient.SSEClient(response.iter_content(chunk_size=None)).events():
            if event.event in types or event.event == "stream-reset":
                out.append({"event": event.event, "id": event.id, "data": json.loads(event.data or "null")})
                if len(out) >= count and (until is None or until(out)):
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {len(out)} of {count} events from {url} in {timeout}s")
    return out


def process_group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` still runs (zombies, which nobody may reap, do not count)."""
    import psutil

    for process in psutil.process_iter(["status"]):
        try:
            if os.getpgid(process.pid) == pgid and process.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False


def wait_until(predicate: Callable[[], Any], *, timeout: float, what: str, step: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something true; bounded.

    Its exceptions count as "not yet" (a server that is starting may refuse or
    fail), except a failed assertion, which ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = predicate()
            if result:
                return result
        except AssertionError:
            raise
        except Exception:  # noqa: S110  (not yet)
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} within {timeout}s")
        time.sleep(step)


def wait_for_prices(
    server: ServerProcess, *, count: int = 3, timeout: float = LOADED_TIMEOUT
) -> dict[str, Any]:
    """Wait, bounded, until the server's engine has a price for ``count`` symbols; returns /api/prices.

    A server that exits meanwhile fails at once; a busy one (503, a slow
    answer) is waited for.
    """

    def prices() -> dict[str, Any] | None:
        assert server.process is None or server.process.poll() is None, f"the server exited:\n{server.log()}"
        response = server.get("/api/prices")
        if response.status_code != 200 or len(response.json()["prices"]) < count:
            return None
        return dict(response.json())

    try:
        return dict(wait_until(prices, timeout=timeout, what=f"prices for {count} symbols"))
    except TimeoutError as exc:
        raise TimeoutError(f"no {exc}:\n{server.log()[-2000:]}") from None


def create_bot(server: ServerProcess, name: str, *args: str) -> str:
    """``manage.py createbot`` against the server's database; returns the new token."""
    return server.manage("createbot", name, *args).stdout.split()[-1]


def create_bots(server: ServerProcess, names: list[str]) -> dict[str, str]:
    """Tokens for several accounts from one management command run (each run costs seconds)."""
    script = (
        "import json; from market.services import issue_token; "
        f"print(json.dumps({{name: issue_token(name=name) for name in {names!r}}}))"
    )
    return dict(json.loads(server.manage("shell", "-v", "0", "-c", script).stdout.splitlines()[-1]))


def ledger_discrepancies(server: ServerProcess) -> list[str]:
    """What the audit from the trades finds wrong in the server's books (empty: none)."""
    script = "import json; from market.selectors import audit_ledger; print(json.dumps(audit_ledger()))"
    return list(json.loads(server.manage("shell", "-v", "0", "-c", script).stdout.splitlines()[-1]))


def require_postgres() -> None:
    """Skip when PostgreSQL is unreachable, except in CI (``CI=true``), where that is a failure."""
    import pytest

    if postgres_available():
        return
    reason = f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (CI=true: PostgreSQL tests must run)")
    pytest.skip(reason)
