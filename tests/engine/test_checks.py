"""System checks of the engine's settings and of what ``runengine`` needs."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import CommandError, call_command

from engine import checks


def ids(messages: list[Any]) -> list[str]:
    return [message.id for message in messages]


@pytest.mark.parametrize("mode", ["of", "", "Embedded", "on"])
def test_it_refuses_an_engine_mode_that_is_not_a_choice(settings: Any, mode: str) -> None:
    settings.EXCHANGE_ENGINE = mode
    assert ids(checks.check_engine_mode()) == ["engine.E001"]


@pytest.mark.parametrize("mode", ["embedded", "off"])
def test_it_accepts_both_engine_modes(settings: Any, mode: str) -> None:
    settings.EXCHANGE_ENGINE = mode
    assert checks.check_engine_mode() == []


def test_it_refuses_a_source_for_an_unknown_symbol_or_without_an_http_url(settings: Any) -> None:
    settings.EXCHANGE_SOURCES = {"BTC": "http://127.0.0.1:9000/sources/BTC/stream/", "DOGE": "ftp://x/"}
    assert ids(checks.check_source_urls()) == ["engine.E002", "engine.E003"]


def test_it_accepts_http_and_https_source_urls(settings: Any) -> None:
    settings.EXCHANGE_SOURCES = {"BTC": "http://127.0.0.1:9000/s/", "META": "https://example.org/s/"}
    assert checks.check_source_urls() == []


def test_it_warns_a_web_worker_without_the_engine_that_hears_no_engine_events(settings: Any) -> None:
    settings.EXCHANGE_ENGINE, settings.REDIS_URL, settings.GRIP_URL = "off", "", ""
    assert ids(checks.check_engine_events_reach_this_process()) == ["engine.W001"]
    settings.REDIS_URL = "redis://127.0.0.1:6379/0"
    assert checks.check_engine_events_reach_this_process() == []
    settings.EXCHANGE_ENGINE, settings.REDIS_URL = "embedded", ""
    assert checks.check_engine_events_reach_this_process() == []


def test_runengine_refuses_to_start_without_redis_or_grip(settings: Any) -> None:
    settings.REDIS_URL, settings.GRIP_URL = "", ""
    with pytest.raises(CommandError, match="runengine needs REDIS_URL or GRIP_URL"):
        call_command("runengine", skip_checks=True)
