"""Running the engine inside the serving process: started on its first request.

Only a process that serves receives requests, so nothing starts in migrations,
management commands or the autoreloader's parent. Ending open streams on
SIGINT/SIGTERM is ``streams.shutdown``'s job; this only starts and stops the
engine.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings

from engine.engine import Engine
from streams.shutdown import on_stop_signals


def base_url_of(scope: dict[str, Any]) -> str | None:
    """The loopback URL of the server that received ``scope``, if it listens on TCP."""
    server = scope.get("server")
    if not server or server[1] is None:
        return None
    host, port = server
    if host in ("0.0.0.0", "", None):  # noqa: S104  (a listening address, mapped to loopback)
        host = "127.0.0.1"
    elif host in ("::", "::0"):
        host = "[::1]"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


class EngineLauncher:
    """ASGI middleware that owns the embedded engine's life in a serving process.

    It starts the engine on the first HTTP request (with ``EXCHANGE_ENGINE=embedded``),
    asks it to stop on SIGINT/SIGTERM, and stops it on ASGI lifespan shutdown
    and at interpreter exit, for servers that exit otherwise.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.engine: Engine | None = None
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "lifespan":
            return await self._lifespan(receive, send)
        if scope["type"] == "http" and self.engine is None and settings.EXCHANGE_ENGINE == "embedded":
            self._start_engine(scope)
        return await self.app(scope, receive, send)

    def _start_engine(self, scope: dict[str, Any]) -> None:
        with self._lock:
            if self.engine is None:
                engine = self.engine = Engine(base_url=base_url_of(scope))
                on_stop_signals(engine.request_stop)
                engine.start()
                atexit.register(engine.stop)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.engine is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.engine.stop)
                await send({"type": "lifespan.shutdown.complete"})
                return
