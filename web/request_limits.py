"""ASGI middleware: request heads and bodies over their limits are refused before Django reads them.

Django's ASGI handler reads a whole request body (to a temporary file past
2.5 MB) before any view, authentication or size check runs, so without this a
200 MiB upload without a token is read to the end and only then answered 401.
Here, in front of Django:

- a head (request line and headers) over ``EXCHANGE_MAX_HEADER_BYTES`` is 431;
- a ``Content-Length`` over ``EXCHANGE_MAX_BODY_BYTES`` is 413 before one byte
  of the body is read, and a chunked body is counted as it arrives and refused
  with 413 once it passes the limit;
- a body that does not arrive within ``EXCHANGE_REQUEST_TIMEOUT`` seconds is 408.

A body within the limit is buffered here (at most the limit, in memory) and
handed to Django unchanged. Every refusal is in the exchange's JSON error
format and closes the connection, since the rest of the body is never read.
The server's socket layer (``web.http_protocol``) bounds what
arrives before this runs: the head's size and the time it takes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from django.conf import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]


def head_size(scope: Scope) -> int:
    """Bytes of a request's head as sent: request line and headers (each ``name: value\\r\\n``)."""
    line = len(scope.get("method", "")) + len(scope.get("raw_path") or b"")
    fields = sum(len(name) + len(value) + 4 for name, value in scope.get("headers", ()))
    return line + len(scope.get("query_string", b"")) + fields


class RequestLimits:
    """Wraps an ASGI application; see the module's docstring for what it refuses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_body = int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if head_size(scope) > settings.EXCHANGE_MAX_HEADER_BYTES:
            await refuse(
                send,
                431,
                "headers_too_large",
                f"the request's headers are larger than {settings.EXCHANGE_MAX_HEADER_BYTES} bytes",
            )
            return
        headers = {name.lower(): value for name, value in scope.get("headers", ())}
        length = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if length is None and not chunked:
            # No body (every GET and every stream): nothing to read or hold.
            await self.app(scope, receive, send)
            return
        if length is not None:
            if not length.strip().isdigit():
                await refuse(send, 400, "invalid_request", "Content-Length is not a number")
                return
            if int(length) > max_body:
                await too_large(send, max_body)
                return
        body = await self._read_body(receive, send, max_body)
        if body is None:
            return
        await self.app(scope, replay(body, receive), send)

    async def _read_body(self, receive: Receive, send: Send, max_body: int) -> bytes | None:
        """The whole body within the limit and the time, or ``None`` once refused (or the client left)."""
        timeout = float(settings.EXCHANGE_REQUEST_TIMEOUT)
        parts: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                await refuse(
                    send, 408, "request_timeout", f"the request body did not arrive within {timeout:g}s"
                )
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_body:
                await too_large(send, max_body)
                return None
            parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then the real channel (for disconnects)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


async def too_large(send: Send, max_body: int) -> None:
    await refuse(send, 413, "payload_too_large", f"the request body is larger than {max_body} bytes")


async def refuse(send: Send, status: int, code: str, message: str) -> None:
    """Answer in the JSON error format and close the connection: the rest of the request is unread."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
