"""What the browser tests share: the browser's settings and the console watcher."""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import ConsoleMessage, Page

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Ticks slow enough to look like a market and to leave CPU for the browser.
TICK_INTERVAL = "0.2"
VIEWPORT = {"width": 1280, "height": 800}

# The browser logs every non-2xx response and every broken connection as a
# console error. A test that causes one on purpose announces it.
REFUSED_ORDER = re.compile(
    r"^Failed to load resource: the server responded with a status of 4\d\d .*/trade/\)$"
)
BROKEN_STREAM = re.compile(
    r"^Failed to load resource: net::ERR_[A-Z_]+ \(.*/(market/stream|api/accounts/me/stream)/.*\)$"
)
# While the server is down, a read the page makes meanwhile (the leaderboard's refresh) is refused.
SERVER_DOWN = re.compile(
    r"^Failed to load resource: net::ERR_CONNECTION_(REFUSED|RESET) \(http://127\.0\.0\.1:"
)


class ConsoleErrors:
    """Errors and uncaught exceptions a page logs, less those a test announced."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        self.refusals_expected = 0
        self.broken_streams_expected = False
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        line = f"{message.text} ({message.location.get('url', '')})"
        if self.refusals_expected and REFUSED_ORDER.match(line):
            self.refusals_expected -= 1
        elif not (self.broken_streams_expected and (BROKEN_STREAM.match(line) or SERVER_DOWN.match(line))):
            self.errors.append(line)

    def expect_refusal(self) -> None:
        """The next 4xx answer of the order endpoint is part of the test."""
        self.refusals_expected += 1

    def expect_broken_streams(self) -> None:
        """The test stops the server: its streams break (maybe more than once), reads meanwhile fail."""
        self.broken_streams_expected = True
