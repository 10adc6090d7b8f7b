"""The runbot command's surface: its help and the arguments it refuses before connecting."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from bots.management.commands.runbot import Command
from bots.strategies import STRATEGIES


def test_runbot_help_lists_the_built_in_strategies() -> None:
    text = Command().create_parser("manage.py", "runbot").format_help()
    for name, strategy in STRATEGIES.items():
        assert name in text
        assert strategy.summary in text
    assert "INTERESTED_IN" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["gambler"], "unknown strategy"),
        (["no.such.module:Bot"], "cannot import"),
        (["investor", "--quantity", "0"], "quantity"),
        (["investor", "--symbols", ","], "no symbols"),
    ],
)
def test_runbot_refuses_bad_arguments_before_connecting(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("runbot", *args, "--url", "http://127.0.0.1:9", "--token", "t", stdout=io.StringIO())
