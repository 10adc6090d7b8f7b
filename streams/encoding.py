"""An event in SSE format, byte for byte as django-eventstream 5.3.4 encodes it, but once per event.

The library's ``sse_encode_event`` encodes an event again for every listener
it goes to (three regular expressions and a split of its data into lines),
and ``make_id`` quotes every channel of a cursor again for every event. A
live event is one object shared by every listener it is queued to
(``ListenerManager.add_to_queues``), so its type and data lines are encoded
the first time and kept on it; only the ``id:`` line, which is each
client's own cursor, is written per listener. ``tests/streams/test_encoding.py``
holds the output equal to the library's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import quote

_UNSAFE = re.compile(r"[\r\n\0]")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# The attribute an event keeps its encoded type and data lines in.
_CACHE = "_sse_parts"


def _parts(event_type: Any, data: Any) -> tuple[str, str]:
    head = f"event: {_UNSAFE.sub('', str(event_type))}\n"
    lines = "".join(f"data: {line}\n" for line in _LINE_BREAK.split(str(data)))
    return head, lines + "\n"


def encode_event(item: Any, event_id: str | None) -> str:
    """``item`` (with ``type`` and ``data``) as ``sse_encode_event(item.type, item.data, event_id)``."""
    parts = getattr(item, _CACHE, None)
    if parts is None:
        parts = _parts(item.type, item.data)
        setattr(item, _CACHE, parts)
    head, lines = parts
    if event_id and ("\r" in event_id or "\n" in event_id or "\0" in event_id):
        event_id = _UNSAFE.sub("", event_id)
    if event_id:
        return f"{head}id: {event_id}\n{lines}"
    return head + lines


@lru_cache(maxsize=4096)
def _quoted(channel: str) -> str:
    return quote(channel)


def make_id(cursor: dict[str, Any]) -> str:
    """The cursor as an event id, as the library's ``make_id`` writes it (``channel:id,...``)."""
    return ",".join(f"{_quoted(channel)}:{value}" for channel, value in cursor.items())
