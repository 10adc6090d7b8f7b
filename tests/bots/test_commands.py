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


# --- Provisioning without --token, and createbot on an existing account ----------------


def provision(name: str) -> str:
    return Command().provision(name)


def token_of(name: str) -> str | None:
    from market.models import Account

    return Account.objects.get(name=name).token_hash


def createbot(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("createbot", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_runbot_without_a_token_reuses_the_token_it_kept_so_a_running_bot_keeps_working() -> None:
    from market.services import hash_token

    first = provision("manual")
    assert provision("manual") == first
    assert token_of("manual") == hash_token(first)


@pytest.mark.django_db
def test_runbot_keeps_its_token_in_a_private_file_of_the_local_state_dir(settings) -> None:  # type: ignore[no-untyped-def]
    import stat

    token = provision("private")
    kept = [path for path in settings.EXCHANGE_STATE_DIR.rglob("private") if path.is_file()]
    assert len(kept) == 1
    assert kept[0].read_text().strip() == token
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600


@pytest.mark.django_db
def test_runbot_says_the_account_is_in_use_when_its_token_is_held_elsewhere() -> None:
    from market.services import hash_token, issue_token

    elsewhere = issue_token(name="busy")
    with pytest.raises(CommandError, match="in use"):
        provision("busy")
    assert token_of("busy") == hash_token(elsewhere)


@pytest.mark.django_db
def test_runbot_issues_a_new_token_when_the_kept_one_belongs_to_a_database_that_is_gone() -> None:
    from market.models import Account
    from market.services import hash_token

    old = provision("reborn")
    Account.objects.filter(name="reborn").update(token_hash=None)
    new = provision("reborn")
    assert new != old
    assert token_of("reborn") == hash_token(new)


@pytest.mark.django_db
def test_runbot_never_provisions_a_token_for_a_persons_account() -> None:
    from django.contrib.auth import get_user_model

    from market.services import account_for_user

    account_for_user(user=get_user_model().objects.create_user("investor", password="pw-long-enough-1"))
    with pytest.raises(CommandError, match="person"):
        provision("investor")
    assert token_of("investor") is None


@pytest.mark.django_db
def test_createbot_refuses_a_persons_account() -> None:
    from django.contrib.auth import get_user_model

    from market.services import account_for_user

    account_for_user(user=get_user_model().objects.create_user("carol", password="pw-long-enough-1"))
    with pytest.raises(CommandError, match="person"):
        createbot("carol")
    assert token_of("carol") is None


@pytest.mark.django_db
def test_createbot_on_an_existing_account_warns_that_running_bots_stop() -> None:
    from market.services import hash_token

    out, err = createbot("rotor")
    assert err == ""
    first = out.split()[-1]
    out, err = createbot("rotor")
    second = out.split()[-1]
    assert second != first
    assert token_of("rotor") == hash_token(second)
    assert "rotat" in err
    assert "running" in err
    assert "stop" in err


@pytest.mark.django_db
def test_runbot_after_createbot_uses_the_token_createbot_issued() -> None:
    out, _ = createbot("handmade")
    assert provision("handmade") == out.split()[-1]
