"""Where background work runs, and that it stops cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.servers import (
    ROOT,
    base_env,
    free_port,
    manage,
    process_group_alive,
    sqlite_database,
    wait_until,
)

pytestmark = pytest.mark.e2e

# Bounds for a loaded 2-core machine; a healthy run takes a few seconds of each.
STARTUP_TIMEOUT = 120
STOP_TIMEOUT = 60


def test_runserver_runs_the_engine_once_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = base_env(DATABASE_URL=sqlite_database(tmp_path))
    del env["DJANGO_DEBUG"]  # runserver turns DEBUG on by itself for local use
    log_path = tmp_path / "runserver.log"
    with log_path.open("w") as log:
        # With the autoreloader: a parent that watches files and a child that serves.
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def prices() -> bool:
        assert process.poll() is None, log_path.read_text()
        return bool(requests.get(f"http://127.0.0.1:{port}/api/prices", timeout=5).json()["prices"])

    try:
        # Two interpreters start (the reloader and the server), then the first
        # request starts the engine: slow on a busy machine, so the bound is generous.
        wait_until(prices, timeout=STARTUP_TIMEOUT, what=f"prices from runserver:\n{log_path.read_text()}")
        with requests.get(f"http://127.0.0.1:{port}/market/stream/", stream=True, timeout=30):
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl+C sends to the terminal's process group
            code = process.wait(STOP_TIMEOUT)
        # The reloader may exit before the server child it watches has finished
        # stopping the engine: wait for every process of the group, not the first.
        wait_until(
            lambda: not process_group_alive(process.pid),
            timeout=STOP_TIMEOUT,
            what=f"runserver's processes exiting:\n{log_path.read_text()}",
        )
    finally:
        if process_group_alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
    log = log_path.read_text()
    assert code == 0, log
    assert log.count("engine started") == 1, log
    assert "engine stopped" in log
    assert "Traceback" not in log
    assert "Error" not in log


def test_management_commands_start_no_background_threads(tmp_path: Path) -> None:
    env = base_env(DATABASE_URL=sqlite_database(tmp_path), DJANGO_DEBUG="true")
    code = "import threading, time; time.sleep(0.3); print(sorted(t.name for t in threading.enumerate()))"
    result = manage("shell", "-c", code, env=env)
    assert result.stdout.strip().splitlines()[-1] == "['MainThread']"
    migrated = manage("migrate", "--no-input", env=env)
    assert "engine" not in migrated.stdout + migrated.stderr


def test_manage_py_test_runs_the_pytest_suite() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "test", "tests/sources/test_walk.py"],
        cwd=ROOT,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=3 * STARTUP_TIMEOUT,  # a whole pytest session in a child, on a busy machine
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout


def test_manage_py_test_runs_the_suite_with_the_test_settings_whatever_the_local_env_file(
    tmp_path: Path,
) -> None:
    # A developer's .env as `make install` writes it: DEBUG on, which the real settings would load.
    local_env = tmp_path / "developer.env"
    local_env.write_text("DJANGO_DEBUG=true\nDJANGO_SECRET_KEY=" + "k" * 60 + "\nEXCHANGE_TICK_INTERVAL=7\n")
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "test",
            "tests/exchange_site/test_settings.py::test_the_suite_and_its_servers_never_read_a_local_env_file",
        ],
        cwd=ROOT,
        env=base_env(EXCHANGE_ENV_FILE=str(local_env)),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
