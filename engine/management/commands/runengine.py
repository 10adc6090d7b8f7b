"""``manage.py runengine``: the engine on its own, once, for the scaled mode.

The web workers run with ``EXCHANGE_ENGINE=off``; this process ticks the
sources, runs the market's feeds and the janitor. Its events reach clients the
way every event does in the scaled mode: through Redis (``REDIS_URL``) to the
workers' own streams and through Pushpin (``GRIP_URL``). The feeds read the
sources' streams at ``--base-url`` (Pushpin's address), like any other client.
"""

from __future__ import annotations

import signal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.checks import runengine_problems
from engine.engine import Engine

# How often the main thread wakes to notice a stop (signals interrupt it anyway).
WAIT_STEP = 1.0


class Command(BaseCommand):
    help = "Run the engine (sources, market feeds, janitor) as its own process: the scaled mode."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            help="where the feeds read the sources' streams, e.g. Pushpin's http://127.0.0.1:8000 "
            "(default: EXCHANGE_SOURCES)",
        )

    def handle(self, *args: Any, base_url: str | None, **options: Any) -> None:
        problems = runengine_problems()
        if problems:
            raise CommandError(problems[0].msg)
        # The Redis supervision (streams.install) is in place since the app registry loaded.
        engine = Engine(base_url=base_url)
        try:
            engine.start()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        def stop(signum: int, frame: Any) -> None:
            engine.request_stop()

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        self.stdout.write(f"engine running (feeds read {base_url or 'EXCHANGE_SOURCES'}); Ctrl+C stops it")
        while not engine.stopping.wait(WAIT_STEP):
            pass
        engine.stop()
        flush_grip_publishes()


def flush_grip_publishes() -> None:
    """Send what django-grip still queues for Pushpin before the process exits."""
    if not settings.GRIP_URL:
        return
    from django_grip import get_pubcontrol

    get_pubcontrol().wait_all_sent()
