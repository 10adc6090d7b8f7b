"""Browser tests: pytest-playwright driving Debian's Chromium against a real exchange server.

Playwright never downloads a browser here: the fixtures below point it at
``/usr/bin/chromium``. Without that browser the tests skip with a clear
message, except in CI (``CI=true``), where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.support import CHROMIUM, CHROMIUM_ARGS, TICK_INTERVAL, VIEWPORT, ConsoleErrors
from tests.servers import ServerProcess

# Playwright's sync API keeps an event loop in the main thread; Django's ORM,
# used in-process by other tests of the same run, would then refuse to work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"no Chromium at {CHROMIUM}: install it with `apt-get install chromium`"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (.ci/run does); CI must run the browser tests")
        pytest.skip(f"{message}; browser tests skipped")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One exchange server for the tests of a module."""
    process = ServerProcess(tmp_path_factory.mktemp("browser"), EXCHANGE_TICK_INTERVAL=TICK_INTERVAL)
    process.start()
    yield process
    process.kill()


@pytest.fixture
def console(page: Page) -> Iterator[ConsoleErrors]:
    """Every browser test ends with a clean console."""
    errors = ConsoleErrors(page)
    yield errors
    assert errors.errors == []
