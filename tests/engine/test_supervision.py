"""The engine supervises its workers: a failing one is logged and restarted, never lost."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest
from django.db import OperationalError

from engine.engine import DEAD, RESTARTING, RUNNING, STOPPED, Engine
from streams.client import Backoff

WAIT = 10.0


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = Engine(run_sources=False, run_feeds=False, backoff=lambda: Backoff(initial=0.01, cap=0.05))
    yield engine
    engine.stop()


def failing(
    times: int, error: Callable[[], Exception], *, stop: threading.Event
) -> tuple[Callable[[], None], threading.Event, list[int]]:
    """A worker that raises ``times`` times, then runs until ``stop``; and an event set once it runs."""
    calls: list[int] = []
    running = threading.Event()

    def target() -> None:
        calls.append(1)
        if len(calls) <= times:
            raise error()
        running.set()
        stop.wait()

    return target, running, calls


def test_it_retries_a_worker_whose_first_read_finds_no_database(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="engine.engine")
    target, running, calls = failing(
        3, lambda: OperationalError("connection refused\nIs the server running?"), stop=engine.stopping
    )
    worker = engine.spawn("source-BTC", target)
    assert running.wait(WAIT)
    assert len(calls) == 4
    assert worker.failures == 3
    assert engine.worker_states() == {"source-BTC": RUNNING}
    retries = [r.getMessage() for r in caplog.records if "restarts in" in r.getMessage()]
    assert len(retries) == 3
    assert retries[0].startswith(
        "engine thread source-BTC: the database failed: connection refused; restarts in"
    )
    assert not any(record.exc_info for record in caplog.records)  # one line each, no traceback


def test_it_logs_a_crash_with_its_traceback_and_restarts_the_worker(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    target, running, _ = failing(1, lambda: ValueError("bad tick"), stop=engine.stopping)
    engine.spawn("feed-META", target)
    assert running.wait(WAIT)
    crashes = [r for r in caplog.records if r.getMessage() == "engine thread feed-META crashed"]
    assert len(crashes) == 1
    assert crashes[0].exc_info is not None


def test_a_worker_that_returns_while_the_engine_runs_is_restarted(engine: Engine) -> None:
    runs: list[int] = []
    again = threading.Event()

    def target() -> None:
        runs.append(1)
        if len(runs) > 1:
            again.set()
            engine.stopping.wait()

    engine.spawn("janitor", target)
    assert again.wait(WAIT)


def test_a_worker_waiting_to_restart_shows_as_restarting(caplog: pytest.LogCaptureFixture) -> None:
    engine = Engine(run_sources=False, run_feeds=False, backoff=lambda: Backoff(initial=60, cap=60))
    failed = threading.Event()

    def target() -> None:
        failed.set()
        raise OperationalError("down")

    worker = engine.spawn("feed-BTC", target)
    try:
        assert failed.wait(WAIT)
        wait_for(lambda: worker.state == RESTARTING)
        assert engine.worker_states() == {"feed-BTC": RESTARTING}
        assert worker.last_error == "the database failed: down"
    finally:
        engine.stop()
    assert engine.worker_states() == {"feed-BTC": STOPPED}
    assert worker.thread is not None
    assert not worker.thread.is_alive()


def test_a_thread_that_is_gone_shows_as_dead(engine: Engine) -> None:
    worker = engine.spawn("source-TCSG", engine.stopping.wait)
    gone = threading.Thread(target=lambda: None)  # stands in for a thread that ended
    gone.start()
    gone.join()
    worker.thread = gone
    assert engine.worker_states()["source-TCSG"] == DEAD


def wait_for(condition: Callable[[], bool]) -> None:
    done = threading.Event()
    for _ in range(int(WAIT / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError("condition not met in time")
