"""The channel manager: market channels are public, an account's channel is its reader's only."""

from __future__ import annotations

from types import SimpleNamespace

from market.channels import READER_ATTRIBUTE, ExchangeChannelManager, StreamReader


def test_an_account_channel_is_readable_by_its_reader_only() -> None:
    manager = ExchangeChannelManager()
    assert manager.can_read_channel(StreamReader(7), "account-7")
    assert not manager.can_read_channel(StreamReader(8), "account-7")
    assert not manager.can_read_channel(None, "account-7")
    assert not manager.can_read_channel(SimpleNamespace(pk=7), "account-7")  # a user who is not its reader
    assert manager.can_read_channel(SimpleNamespace(**{READER_ATTRIBUTE: 7}), "account-7")
    assert not manager.can_read_channel(StreamReader(7), "account-7x")


def test_market_channels_are_public() -> None:
    manager = ExchangeChannelManager()
    assert manager.can_read_channel(None, "market-BTC")
