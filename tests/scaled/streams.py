"""A market-stream client for the scaled tests that notices gaps and recovers.

Every market event's SSE id carries a counter per channel
(``market-BTC:17,market-TCSG:9,...``), and django-eventstream's counters are
consecutive. So a client knows it missed something when one counter jumps by
more than one, and knows it sees a repeat when one does not move. On a gap it
reconnects from the last id it trusts (``Last-Event-ID``); storage fills the
gap. The collector records what it accepted, the gaps it saw and its
reconnections, so a test can check that nothing was lost for good.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import requests
import sseclient


def parse_event_id(event_id: str) -> dict[str, int]:
    counters = {}
    for part in event_id.split(","):
        channel, _, value = part.rpartition(":")
        counters[unquote(channel)] = int(value)
    return counters


@dataclass
class Received:
    channel: str
    eid: int
    event: str
    data: dict[str, Any]
    event_id: str


@dataclass
class StreamCollector:
    """Reads the market stream from ``urls`` (tried in turn) in a thread."""

    urls: list[str]
    cursor: str
    name: str = "client"
    events: list[Received] = field(default_factory=list)
    gaps: int = 0
    repeats: int = 0
    connections: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.counters = parse_event_id(self.cursor)
        self.stopping = threading.Event()
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._response: requests.Response | None = None

    def start(self) -> StreamCollector:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        response = self._response
        if response is not None:
            raw = getattr(getattr(response.raw, "connection", None), "sock", None)
            if raw is not None:
                with contextlib.suppress(OSError):
                    raw.shutdown(socket.SHUT_RDWR)
        self.thread.join(10)

    def counter(self, channel: str) -> int:
        return self.counters.get(channel, 0)

    def wait_for(self, channel_targets: dict[str, int], *, timeout: float) -> None:
        """Wait until every named channel's counter reached its target."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not all(self.counter(channel) >= target for channel, target in channel_targets.items()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{self.name} reached {self.counters} of {channel_targets} in {timeout}s "
                        f"(connections {self.connections}, gaps {self.gaps}, errors {self.errors[-3:]})"
                    )
                self.changed.wait(min(left, 0.5))

    def _run(self) -> None:
        attempt = 0
        while not self.stopping.is_set():
            url = self.urls[attempt % len(self.urls)]
            attempt += 1
            try:
                self._read(url)
            except (requests.RequestException, OSError, ValueError) as exc:
                if not self.stopping.is_set():
                    self.errors.append(f"{url}: {exc.__class__.__name__}")
            if not self.stopping.is_set():
                time.sleep(0.1)

    def _read(self, url: str) -> None:
        cursor = ",".join(f"{channel}:{value}" for channel, value in self.counters.items())
        with requests.get(
            url,
            headers={"Accept": "text/event-stream", "Last-Event-ID": cursor},
            stream=True,
            timeout=(5, 30),
        ) as response:
            response.raise_for_status()
            self._response = response
            self.connections += 1
            for raw in sseclient.SSEClient(response.iter_content(chunk_size=None)).events():
                if self.stopping.is_set():
                    return
                if raw.event == "stream-reset":
                    raise ValueError("stream-reset: the cursor is no longer stored")
                if not raw.id or raw.event not in ("price", "trade"):
                    continue
                if not self._accept(raw.event, raw.id, raw.data):
                    # A gap: reconnect from the last id we trust.
                    return

    def _accept(self, event: str, event_id: str, data: str) -> bool:
        counters = parse_event_id(event_id)
        moved = {
            channel: value
            for channel, value in counters.items()
            if value != self.counters.get(channel, value)
        }
        with self.changed:
            if not moved:
                self.repeats += 1
                return True
            if len(moved) > 1 or any(value != self.counters[ch] + 1 for ch, value in moved.items()):
                if all(value <= self.counters[ch] for ch, value in moved.items()):
                    self.repeats += 1
                    return True
                self.gaps += 1
                return False
            ((channel, eid),) = moved.items()
            self.events.append(Received(channel, eid, event, json.loads(data), event_id))
            self.counters[channel] = eid
            self.changed.notify_all()
            return True
