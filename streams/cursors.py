"""Stream cursors: the ``Last-Event-ID`` a client resumes from, read and checked before a stream starts.

A cursor is django-eventstream's event id, ``channel:id`` pairs joined by
commas (``market-BTC:41,market-META:40``), channel names percent-encoded.
django-eventstream 5.3.4 accepts any text as the id and fails only once the
stream has begun (``int("abc")``, or an integer too large for the database),
which a client sees as an empty 200 and retries for ever. Here a cursor is
checked whole before anything is sent: ids are non-negative decimal integers
that fit the database's 64-bit event ids; a malformed cursor is refused once,
with a 400 the client can read.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from django.http import HttpRequest

# Stored event ids are 64-bit integers (BigIntegerField); 18 digits always fit.
_ID = re.compile(r"[0-9]{1,18}")
# Far above any real cursor (a few channels), far below what would cost time to parse.
MAX_CURSOR_LENGTH = 4096
# The id django-eventstream gives a stream-error event: resuming from it is refused.
ERROR_ID = "error"


class MalformedCursor(ValueError):
    """The client's ``Last-Event-ID`` (or ``lastEventId``) cannot be resumed from."""


def requested_cursor(request: HttpRequest) -> str | None:
    """The cursor the client asks to resume from, as django-eventstream reads it.

    The ``Last-Event-ID`` header, else the last non-empty ``lastEventId`` query
    parameter (browsers' EventSource cannot set headers on a first connection).
    """
    header = request.headers.get("Last-Event-ID")
    if header:
        return header
    for value in reversed(request.GET.getlist("lastEventId")):
        if value:
            return value
    return None


def parse_cursor(raw: str, *, channels: set[str]) -> dict[str, str]:
    """``market-BTC:41,market-META:40`` -> ``{"market-BTC": "41", ...}``, for ``channels`` only.

    Channels a cursor names that the stream does not carry are ignored (a
    cursor of the whole market resumes a narrowed stream). Raises
    ``MalformedCursor`` naming what is wrong.
    """
    if len(raw) > MAX_CURSOR_LENGTH:
        raise MalformedCursor(f"the cursor is longer than {MAX_CURSOR_LENGTH} characters")
    if raw == ERROR_ID:
        raise MalformedCursor("a stream cannot resume after a stream-error event; connect without a cursor")
    last_ids: dict[str, str] = {}
    for part in raw.split(","):
        channel, colon, last_id = part.partition(":")
        if not colon or not channel or ":" in last_id:
            raise MalformedCursor(f"{part[:40]!r} is not channel:id")
        if not _ID.fullmatch(last_id):
            raise MalformedCursor(f"the id of {part[:40]!r} is not a whole number of at most 18 digits")
        channel = unquote(channel)
        if channel in channels:
            last_ids[channel] = str(int(last_id))
    return last_ids
