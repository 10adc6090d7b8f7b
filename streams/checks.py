"""System check: the installed django-eventstream is the version the corrections were written for.

The corrections in this package replace and wrap the library's internals
(``get_events``, its Redis client and subscriber, its listener queues); on
another version they could silently do the wrong thing.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from django.core.checks import CheckMessage, Error, register

SUPPORTED_VERSION = "5.3.4"


def installed_version() -> str | None:
    try:
        return version("django-eventstream")
    except PackageNotFoundError:
        return None


@register()
def check_eventstream_version(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    found = installed_version()
    if found == SUPPORTED_VERSION:
        return []
    return [
        Error(
            f"django-eventstream {found or '(not installed)'} is installed; the stream corrections "
            f"were written for {SUPPORTED_VERSION}.",
            hint=f"Install django-eventstream=={SUPPORTED_VERSION} (requirements.txt), or review "
            "the corrections in streams/ (see docs/streams.md) against the new version.",
            id="streams.E001",
        )
    ]
