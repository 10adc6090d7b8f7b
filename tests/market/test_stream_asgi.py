"""The market stream in-process, read by Django's AsyncClient in the test's own task.

This is the shape of test that broke the original (sse-starlette's cancel
scope); here several streams open, deliver and close in one event loop.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient

from market.events import stream_cursor
from market.services import record_price
from sources.ticks import Tick

pytestmark = pytest.mark.django_db(transaction=True)


def tick(symbol: str, seq: int) -> Tick:
    return Tick(symbol=symbol, price=Decimal("100.00") + seq, seq=seq, ts=datetime.now(UTC))


async def read_prices(response, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    seen: list[str] = []
    buffer = ""
    async for chunk in response.streaming_content:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            block, buffer = buffer.split("\n\n", 1)
            if block.startswith("event: price"):
                seen.append(block)
                if len(seen) >= count:
                    return seen
    return seen


def test_streams_read_in_the_tests_own_task_deliver_and_close() -> None:
    async def scenario() -> list[list[str]]:
        client = AsyncClient()
        cursor = await sync_to_async(stream_cursor)(["BTC", "META"])
        responses = [
            await client.get("/market/stream/", {"symbols": "BTC,META"}, headers={"Last-Event-ID": cursor})
            for _ in range(3)
        ]
        for seq in (1, 2):
            await sync_to_async(record_price)(tick=tick("BTC", seq), cursor=None)
            await sync_to_async(record_price)(tick=tick("META", seq), cursor=None)
        results = await asyncio.wait_for(asyncio.gather(*(read_prices(r, 4) for r in responses)), timeout=15)
        for response in responses:
            await response.streaming_content.aclose()
        return results

    results = async_to_sync(scenario)()
    assert [len(blocks) for blocks in results] == [4, 4, 4]
    assert all('"seq": 2' in blocks[-1] for blocks in results)


def test_a_narrowed_stream_carries_only_its_symbols() -> None:
    async def scenario() -> list[str]:
        client = AsyncClient()
        cursor = await sync_to_async(stream_cursor)(["META"])
        response = await client.get("/market/stream/", {"symbols": "META"}, headers={"Last-Event-ID": cursor})
        await sync_to_async(record_price)(tick=tick("BTC", 1), cursor=None)
        await sync_to_async(record_price)(tick=tick("META", 1), cursor=None)
        blocks = await asyncio.wait_for(read_prices(response, 1), timeout=15)
        await response.streaming_content.aclose()
        return blocks

    blocks = async_to_sync(scenario)()
    assert '"symbol": "META"' in blocks[0]
