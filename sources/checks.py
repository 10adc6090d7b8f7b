"""System checks of the walk's settings: a typo in a mode or a scenario name fails at start, not silently."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from sources.scenarios import SCENARIOS

STEP_MODES = ("absolute", "relative")


@register()
def check_walk_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.EXCHANGE_STEP_MODE not in STEP_MODES:
        problems.append(
            Error(
                f"EXCHANGE_STEP_MODE is {settings.EXCHANGE_STEP_MODE!r}.",
                hint=f"Set it to one of: {', '.join(STEP_MODES)}.",
                id="sources.E001",
            )
        )
    if settings.EXCHANGE_SCENARIO and settings.EXCHANGE_SCENARIO not in SCENARIOS:
        problems.append(
            Error(
                f"EXCHANGE_SCENARIO is {settings.EXCHANGE_SCENARIO!r}.",
                hint=f"Leave it empty or set it to one of: {', '.join(SCENARIOS)}.",
                id="sources.E002",
            )
        )
    return problems
