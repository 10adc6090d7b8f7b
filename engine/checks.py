"""System checks of the engine's settings, and of what ``runengine`` needs.

``EXCHANGE_ENGINE`` and ``EXCHANGE_SOURCES`` are plain strings in the
environment: a typo there would otherwise silently run no engine, or feed the
market from the wrong place.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from sources.catalog import symbols as all_symbols

# "embedded": the serving process runs the engine from its first request on;
# "off": a web worker of the scaled mode, where `manage.py runengine` runs it.
ENGINE_MODES = ("embedded", "off")


@register()
def check_engine_mode(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    mode = settings.EXCHANGE_ENGINE
    if mode in ENGINE_MODES:
        return []
    return [
        Error(
            f"EXCHANGE_ENGINE is {mode!r}.",
            hint=f"Set it to one of: {', '.join(ENGINE_MODES)}.",
            id="engine.E001",
        )
    ]


@register()
def check_source_urls(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    known = all_symbols()
    for symbol, url in settings.EXCHANGE_SOURCES.items():
        if symbol not in known:
            problems.append(
                Error(
                    f"EXCHANGE_SOURCES names unknown symbol {symbol!r}.",
                    hint=f"Known symbols: {', '.join(known)}.",
                    id="engine.E002",
                )
            )
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(
                Error(
                    f"EXCHANGE_SOURCES gives {symbol} the stream URL {url!r}.",
                    hint="Each source's stream is an http:// or https:// URL.",
                    id="engine.E003",
                )
            )
    return problems


@register()
def check_engine_events_reach_this_process(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A web worker without the engine hears the engine's events only through Redis or Pushpin."""
    if settings.EXCHANGE_ENGINE != "off" or settings.REDIS_URL or settings.GRIP_URL:
        return []
    return [
        Warning(
            "EXCHANGE_ENGINE is off and neither REDIS_URL nor GRIP_URL is set: events that "
            "`manage.py runengine` publishes reach no live client of this process.",
            hint="Set REDIS_URL (and GRIP_URL behind Pushpin) for the scaled mode, or leave "
            "EXCHANGE_ENGINE unset to run the engine in this process.",
            id="engine.W001",
        )
    ]


def runengine_problems() -> list[CheckMessage]:
    """What ``runengine`` needs beyond the registered checks.

    ``send_event`` from a process that does not serve reaches no live client
    unless Redis or a GRIP proxy carries it, and fails silently (see
    ``docs/streams.md``): refuse to start rather than tick for nobody.
    """
    if settings.REDIS_URL or settings.GRIP_URL:
        return []
    return [
        Error(
            "runengine needs REDIS_URL or GRIP_URL, or its events reach no live client",
            id="engine.E004",
        )
    ]
