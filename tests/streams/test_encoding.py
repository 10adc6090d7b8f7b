"""Our SSE encoding is django-eventstream's, byte for byte, and encodes a shared event once."""

from __future__ import annotations

from typing import Any
from unittest import mock

from django_eventstream import utils as library
from django_eventstream.event import Event
from hypothesis import given
from hypothesis import strategies as st

from streams import encoding

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@given(event_type=TEXT, data=TEXT, event_id=st.none() | TEXT)
def test_an_event_is_encoded_as_the_library_encodes_it(
    event_type: str, data: str, event_id: str | None
) -> None:
    item = Event("market-BTC", event_type, data, id=1)  # type: ignore[arg-type]
    expected = library.sse_encode_event(event_type, data, event_id=event_id)
    assert encoding.encode_event(item, event_id) == expected
    assert encoding.encode_event(item, event_id) == expected  # and again, from what it kept


@given(cursor=st.dictionaries(TEXT, st.integers(min_value=0) | st.text(max_size=5), max_size=4))
def test_a_cursor_is_written_as_the_library_writes_it(cursor: dict[str, Any]) -> None:
    assert encoding.make_id(cursor) == library.make_id(cursor)


def test_an_event_shared_by_many_listeners_is_split_into_lines_once() -> None:
    item = Event("market-BTC", "price", '{"symbol": "BTC", "price": "30000.00"}', id=7)  # type: ignore[arg-type]
    with mock.patch.object(encoding, "_parts", wraps=encoding._parts) as parts:
        bodies = {encoding.encode_event(item, f"market-BTC:{n}") for n in range(1000)}
    assert parts.call_count == 1
    assert len(bodies) == 1000
