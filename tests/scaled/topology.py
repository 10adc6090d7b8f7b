"""The scaled topology on one machine, for tests and benchmarks.

``ScaledTopology`` starts what ``make scale`` starts, on free ports so that
runs never collide: its own redis-server (so a test may restart it without
touching the machine's), a new PostgreSQL database, web workers with
``EXCHANGE_ENGINE=off``, Pushpin in front of them (deploy/pushpin.py), and
``manage.py runengine`` once, reading the sources through Pushpin.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import requests

from tests.servers import (
    PYTHON,
    ROOT,
    ServerProcess,
    base_env,
    drop_postgres_database,
    free_port,
    postgres_available,
    postgres_database,
)

# The default assets (settings.EXCHANGE_ASSETS), without importing Django.
SYMBOLS = ("BTC", "TCSG", "META")


def missing_services() -> list[str]:
    """What the scaled mode needs and this machine lacks."""
    missing = []
    if shutil.which("pushpin") is None:
        missing.append("pushpin (apt-get install -y pushpin)")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if not postgres_available():
        missing.append("PostgreSQL at 127.0.0.1:5432")
    return missing


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port_block(size: int) -> int:
    """The first of ``size`` consecutive free loopback ports."""
    for _ in range(200):
        first = free_port()
        if first + size < 65535 and all(port_is_free(first + i) for i in range(size)):
            return first
    raise RuntimeError(f"no {size} consecutive free ports")


def wait_until(predicate: Any, *, timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            result = predicate()
            if result:
                return result
        time.sleep(step)
    raise TimeoutError(f"{what} within {timeout}s")


class Process:
    """A child process in its own process group, logging to a file."""

    def __init__(self, name: str, command: list[str], *, directory: Path, env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.log_path = directory / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        if not self.alive():
            return
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class RedisServer(Process):
    """A private redis-server that keeps nothing on disk, as the machine's does."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ]
        super().__init__(f"redis-{self.port}", command, directory=directory, env=dict(os.environ))
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        super().start()
        import redis

        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        wait_until(client.ping, timeout=10, what=f"redis-server on {self.port} did not answer")
        client.close()

    def restart(self, *, down_for: float = 0.5) -> None:
        """Stop Redis as ``redis-cli shutdown nosave`` does, then start it on the same port."""
        self.stop(signal.SIGTERM)
        time.sleep(down_for)
        self.start()


class ScaledTopology:
    """Redis, PostgreSQL, N web workers, Pushpin and one engine, started together."""

    def __init__(
        self,
        directory: Path,
        *,
        workers: int = 2,
        # 5 ticks/s per asset. runengine's feeds, each tick's price and book in one PostgreSQL
        # transaction and published to Pushpin, kept up with about 7/s per asset on this 2-core
        # machine beside the rest of the topology: at 0.05 s a price aged by a second every few
        # seconds, until orders were refused as stale (measured on 2026-12-02, before and after
        # the hot-path changes alike).
        tick_interval: float = 0.2,
        database_url: str | None = None,
        worker_env: dict[str, str] | None = None,
        engine_env: dict[str, str] | None = None,
        pushpin_log_level: int = 1,
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.worker_count = workers
        self.tick_interval = tick_interval
        self.own_database = database_url is None
        self.database_url = database_url
        self.worker_env = worker_env or {}
        self.engine_env = engine_env or {}
        self.pushpin_log_level = pushpin_log_level
        self.redis = RedisServer(directory)
        self.control_port = free_port_block(4) + 1
        self.grip_url = f"http://127.0.0.1:{self.control_port}/?iss=pushpin&key={secrets.token_hex(32)}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers: list[ServerProcess] = []
        self.pushpin: Process | None = None
        self.engine: Process | None = None

    def env(self, **overrides: str) -> dict[str, str]:
        assert self.database_url is not None
        return base_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            GRIP_URL=self.grip_url,
            EXCHANGE_TICK_INTERVAL=str(self.tick_interval),
            **overrides,
        )

    def start(self, timeout: float = 60) -> ScaledTopology:
        try:
            self.redis.start()
            if self.database_url is None:
                self.database_url = postgres_database()
            for index in range(self.worker_count):
                worker = ServerProcess(
                    self.directory / f"worker{index + 1}",
                    database_url=self.database_url,
                    EXCHANGE_ENGINE="off",
                    REDIS_URL=self.redis.url,
                    GRIP_URL=self.grip_url,
                    EXCHANGE_TICK_INTERVAL=str(self.tick_interval),
                    **self.worker_env,
                )
                self.workers.append(worker)
                worker.start(timeout=timeout)
            self.start_pushpin()
            self.start_engine()
            wait_until(self.prices_flow, timeout=timeout, what="no price reached the market through Pushpin")
        except BaseException:
            self.stop()
            raise
        return self

    def start_pushpin(self) -> None:
        targets = ",".join(f"127.0.0.1:{worker.port}" for worker in self.workers)
        command = [
            PYTHON,
            str(ROOT / "deploy" / "pushpin.py"),
            "--port",
            str(self.port),
            "--workers",
            targets,
            "--run-dir",
            str(self.directory / "pushpin"),
            "--grip-url",
            self.grip_url,
            "--log-level",
            str(self.pushpin_log_level),
        ]
        self.pushpin = Process("pushpin", command, directory=self.directory, env=dict(os.environ))
        self.pushpin.start()
        wait_until(
            # A worker's health answer, 200 or 503: before runengine starts, prices may be missing.
            lambda: "database" in requests.get(self.url + "/healthz", timeout=2).json(),
            timeout=30,
            what=f"Pushpin did not proxy /healthz:\n{self.pushpin.log()}",
        )

    def start_engine(self) -> None:
        command = [PYTHON, "manage.py", "runengine", "--base-url", self.url]
        self.engine = Process("engine", command, directory=self.directory, env=self.env(**self.engine_env))
        self.engine.start()

    def prices_flow(self) -> bool:
        prices = requests.get(self.url + "/api/prices", timeout=2).json()["prices"]
        return {entry["symbol"] for entry in prices} == set(SYMBOLS)

    def worker_url(self, index: int) -> str:
        return self.workers[index].url

    def stop(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        if self.pushpin is not None:
            self.pushpin.stop()
        for worker in self.workers:
            worker.kill()
        self.redis.stop()
        if self.own_database and self.database_url is not None:
            with contextlib.suppress(Exception):
                drop_postgres_database(self.database_url)

    def logs(self) -> str:
        parts = [f"--- {worker.log_path.name}\n{worker.log()}" for worker in self.workers]
        for process in (self.engine, self.pushpin, self.redis):
            if process is not None:
                parts.append(f"--- {process.name}\n{process.log()[-5000:]}")
        return "\n".join(parts)
