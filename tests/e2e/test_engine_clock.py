"""``runengine`` on its own obeys the clock that another process sets, through the database.

The engine runs without a web server (its feeds retry a port where nothing
listens); the clock is changed by ``manage.py clock`` in another process; the
sources' last seqs are read from the database file. A check that nothing
ticks watches for the time forty ticks would take: an engine that ticked
would fail it. A tick holds the clock's row from its check to its commit
(``sources.services.emit_tick``), so the seqs read after ``clock pause``
returns are final.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from sources.catalog import source_specs
from tests.scaled.topology import Process, RedisServer
from tests.servers import LOADED_TIMEOUT, PYTHON, base_env, free_port, manage, sqlite_database, wait_until

pytestmark = pytest.mark.e2e

SYMBOLS = set(source_specs())
TICK = 0.05  # EXCHANGE_TICK_INTERVAL of the tests' servers (tests.servers.base_env)


def seqs(database: Path) -> dict[str, int]:
    with sqlite3.connect(database, timeout=10) as connection:
        rows = connection.execute("SELECT symbol, seq FROM sources_sourcestate").fetchall()
    return {symbol: seq for symbol, seq in rows}


def assert_no_ticks_for(database: Path, expected: dict[str, int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert seqs(database) == expected
        time.sleep(TICK)


def test_runengine_pauses_steps_and_resumes_as_the_clock_command_says(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None:
        pytest.skip("runengine publishes through Redis here, and redis-server is not installed")
    url = sqlite_database(tmp_path)
    database = Path(url.removeprefix("sqlite:///"))
    redis = RedisServer(tmp_path)
    redis.start()
    env = base_env(DATABASE_URL=url, REDIS_URL=redis.url)
    command = [PYTHON, "manage.py", "runengine", "--base-url", f"http://127.0.0.1:{free_port()}"]
    engine = Process("engine", command, directory=tmp_path, env=env)
    engine.start()
    try:
        wait_until(
            lambda: set(seqs(database)) == SYMBOLS and min(seqs(database).values()) > 0,
            timeout=LOADED_TIMEOUT,
            what=f"every source ticking:\n{engine.log()[-3000:]}",
        )
        manage("clock", "pause", env=env)
        paused = seqs(database)
        assert_no_ticks_for(database, paused, TICK * 40)

        manage("clock", "step", "5", env=env)
        stepped = {symbol: seq + 5 for symbol, seq in paused.items()}
        wait_until(lambda: seqs(database) == stepped, timeout=LOADED_TIMEOUT, what=f"5 ticks each: {stepped}")
        assert_no_ticks_for(database, stepped, TICK * 40)
        status = manage("clock", "status", env=env).stdout
        assert status.startswith("clock: paused"), status

        manage("clock", "resume", env=env)
        wait_until(
            lambda: all(seq > stepped[symbol] for symbol, seq in seqs(database).items()),
            timeout=LOADED_TIMEOUT,
            what="the sources ticking again",
        )
        assert engine.alive()
        assert "crashed" not in engine.log()
    finally:
        engine.stop()
        redis.stop()
