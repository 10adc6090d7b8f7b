"""The peer for the fan-out benchmark: a bare sse-starlette broadcaster.

    python -m uvicorn benchmarks.peer_app:app --port 8100    (PEER_TICK_INTERVAL=0.3)

It streams the same events as the exchange's market stream (``price`` with
``{"symbol","price","seq","ts"}``, one per asset every ``PEER_TICK_INTERVAL``
seconds, in bursts of three as the exchange's sources tick: 10 events/s at
0.3) to every client from one in-memory broadcaster:
no database, no storage, no resume. What the exchange does beyond this (stored,
resumable events, a feed, a database) is what the ratio of the two measures.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

INTERVAL = float(os.environ.get("PEER_TICK_INTERVAL", "0.3"))
SYMBOLS = (("BTC", 30000), ("TCSG", 3000), ("META", 500))
QUEUE_LIMIT = 100

subscribers: set[asyncio.Queue[ServerSentEvent]] = set()


async def broadcast() -> None:
    seq = 0
    loop = asyncio.get_running_loop()
    next_at = loop.time()
    while True:
        # The exchange's three sources tick on one schedule, so their events
        # come in bursts of three every INTERVAL: the peer does the same.
        next_at += INTERVAL
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        seq += 1
        for symbol, price in SYMBOLS:
            data = {
                "symbol": symbol,
                "price": f"{price + seq % 10}.00",
                "seq": seq,
                "ts": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            }
            # "\n" line ends, as django-eventstream writes them (sse-starlette's default is "\r\n").
            event = ServerSentEvent(data=json.dumps(data), event="price", id=f"{symbol}:{seq}", sep="\n")
            for queue in list(subscribers):
                if queue.qsize() < QUEUE_LIMIT:
                    queue.put_nowait(event)


async def stream(request: Request) -> EventSourceResponse:
    queue: asyncio.Queue[ServerSentEvent] = asyncio.Queue()
    subscribers.add(queue)

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            while True:
                yield await queue.get()
        finally:
            subscribers.discard(queue)

    return EventSourceResponse(events(), ping=20, sep="\n")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    task = asyncio.create_task(broadcast())
    yield
    task.cancel()


app = Starlette(routes=[Route("/market/stream/", stream)], lifespan=lifespan)
