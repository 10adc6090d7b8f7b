"""The server's HTTP protocol: uvicorn's httptools parser with a bounded request head.

uvicorn (0.54, httptools) has no limit on the size of a request's head and no
time limit on receiving it: a client may send an 8 MiB ``Authorization``
header, which is held in memory whole, or open a connection and send one
header line a minute for ever. This subclass, chosen with
``uvicorn --http web.http_protocol:BoundedHttpToolsProtocol`` (the
Procfiles and the test servers do), counts a head's bytes as they arrive and
answers 431 once they pass ``EXCHANGE_MAX_HEADER_BYTES``, and answers 408 when a
head is not complete ``EXCHANGE_REQUEST_TIMEOUT`` seconds after its connection
opened or its first byte arrived. Either way it closes the connection, so at
most the limit plus one read of the socket is ever held. Bodies are bounded
after the head, in ``web.request_limits``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from django.conf import settings
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol


def error_bytes(status: int, code: str, message: str) -> bytes:
    """A complete HTTP/1.1 answer in the JSON error format, closing the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        b"content-type: application/json\r\n"
        b"content-length: " + str(len(body)).encode() + b"\r\n"
        b"connection: close\r\n\r\n"
    )
    return STATUS_LINE[status] + head + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that refuses request heads that are too large or too slow."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head = int(settings.EXCHANGE_MAX_HEADER_BYTES)
        self.head_timeout = float(settings.EXCHANGE_REQUEST_TIMEOUT)
        self.in_head = True
        self.head_bytes = 0
        self.head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing: a chunk that completes the head is let through
        # whole (its body part is not head), so at most one socket read is
        # held beyond the limit.
        if self.in_head and not self.transport.is_closing():
            self.head_bytes += len(data)
            if self.head_bytes > self.max_head:
                self._refuse(
                    431, "headers_too_large", f"the request's headers are larger than {self.max_head} bytes"
                )

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.in_head:
            self.in_head = True
            self.head_bytes = 0
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self.in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self.head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None

    def _head_timed_out(self) -> None:
        self.head_timer = None
        if self.in_head and not self.transport.is_closing():
            self._refuse(
                408, "request_timeout", f"the request's headers did not arrive within {self.head_timeout:g}s"
            )

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._cancel_head_timer()
        self.transport.write(error_bytes(status, code, message))
        self.transport.close()
