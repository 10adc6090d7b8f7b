"""Who may read which stream channel: the market's channels are public, an account's only its owner's.

Configured as django-eventstream's channel manager (``EVENTSTREAM_CHANNELMANAGER_CLASS``),
so the library itself refuses a private channel to anyone else, whatever view asked
for it; the private stream's view also answers 401 before any stream starts.
"""

from __future__ import annotations

from typing import Any

from django_eventstream.channelmanager import DefaultChannelManager

from market.events import account_of_channel

# The attribute the private stream's view sets on the request's user: the account it reads as.
READER_ATTRIBUTE = "exchange_account_id"
# How a reader names itself in a GRIP answer's ``es-meta``: ``account-<id>``.
READER_PREFIX = "account-"


class ExchangeChannelManager(DefaultChannelManager):
    """The market's channels for everyone; ``account-<id>`` for that account's reader only."""

    def can_read_channel(self, user: Any, channel: str) -> bool:
        owner = account_of_channel(channel)
        if owner is None:
            return True
        return owner >= 0 and getattr(user, READER_ATTRIBUTE, None) == owner


class StreamReader:
    """The user of a private stream opened with a bearer token (a bot has no Django user)."""

    is_authenticated = True

    def __init__(self, account_id: int) -> None:
        # ``pk`` names the listener, ``id`` the reader in a GRIP answer's ``es-meta``.
        self.pk = self.id = f"{READER_PREFIX}{account_id}"
        setattr(self, READER_ATTRIBUTE, account_id)
