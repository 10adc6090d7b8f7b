"""The stream reader drops an event cut off by a dropped connection instead of dispatching its start."""

from __future__ import annotations

from collections.abc import Iterator

import sseclient

from streams.client import complete_events


def events_of(chunks: list[bytes]) -> list[tuple[str, str | None, str]]:
    return [(e.event, e.id, e.data) for e in sseclient.SSEClient(complete_events(iter(chunks))).events()]


def test_an_event_cut_mid_way_at_the_end_of_the_stream_is_dropped() -> None:
    whole = b'event: price\nid: market-BTC:4\ndata: {"seq": 4}\n\n'
    assert events_of([whole, b"event: price\nid: market-BT"]) == [("price", "market-BTC:4", '{"seq": 4}')]


def test_events_split_across_chunks_are_put_together() -> None:
    raw = b"event: price\nid: a:1\ndata: 1\n\nevent: price\nid: a:2\ndata: 2\n\n"
    chunks: Iterator[bytes] = (raw[i : i + 7] for i in range(0, len(raw), 7))
    assert events_of(list(chunks)) == [("price", "a:1", "1"), ("price", "a:2", "2")]


def test_crlf_events_pass_whole() -> None:
    assert events_of([b"event: x\r\nid: b:1\r\ndata: 1\r\n\r\n"]) == [("x", "b:1", "1")]
