"""Checking a stream's cursor before the stream starts (``streams.cursors``)."""

from __future__ import annotations

import pytest

from streams.cursors import MalformedCursor, parse_cursor

CHANNELS = {"market-BTC", "market-META"}


def test_it_reads_the_ids_of_the_streams_channels() -> None:
    assert parse_cursor("market-BTC:41,market-META:0", channels=CHANNELS) == {
        "market-BTC": "41",
        "market-META": "0",
    }


def test_channels_the_stream_does_not_carry_are_ignored() -> None:
    assert parse_cursor("market-BTC:41,market-TCSG:7,%00:3", channels=CHANNELS) == {"market-BTC": "41"}


@pytest.mark.parametrize(
    "cursor",
    [
        "market-BTC:abc",
        "market-BTC:1.5",
        "market-BTC:%00",
        "market-BTC:-1",
        "market-BTC:",
        "market-BTC",
        "market-BTC:1:2",
        ":1",
        "market-BTC:1,",
        "market-BTC:" + "9" * 19,
        "market-BTC:" + "9" * 5000,
        "error",
    ],
)
def test_a_malformed_cursor_is_refused(cursor: str) -> None:
    with pytest.raises(MalformedCursor):
        parse_cursor(cursor, channels=CHANNELS)
