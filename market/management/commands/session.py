"""``manage.py session export [--since T] [--until T] [--output FILE]``: a period as JSON lines."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from market.sessions import session_records


def parse_time(text: str | None) -> datetime | None:
    """ISO 8601 (``2026-12-02T07:00:00Z``; without a zone: UTC)."""
    if text is None:
        return None
    moment = parse_datetime(text)
    if moment is None:
        raise CommandError(f"not an ISO 8601 time: {text!r} (e.g. 2026-12-02T07:00:00Z)")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, UTC)


class Command(BaseCommand):
    help = (
        "Export the prices, orders, trades and clock changes of a period as JSON lines (schema: "
        "market/sessions.py and the README), for `backtest STRATEGY --replay FILE`."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["export"])
        parser.add_argument("--since", help="from this time on (ISO 8601, UTC when no zone)")
        parser.add_argument("--until", help="before this time")
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        since, until = parse_time(options["since"]), parse_time(options["until"])
        out = open(options["output"], "w", encoding="utf-8") if options["output"] else sys.stdout  # noqa: SIM115
        count = 0
        try:
            for record in session_records(since=since, until=until):
                out.write(json.dumps(record) + "\n")
                count += 1
        finally:
            if out is not sys.stdout:
                out.close()
        if options["output"]:
            self.stderr.write(f"{count} records written to {options['output']}")
