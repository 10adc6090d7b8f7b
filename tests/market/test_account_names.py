"""Account names: one pattern, matched whole, and no name that reads like another."""

from __future__ import annotations

import pytest

from market.models import Account
from market.services import house_account, issue_token, open_account

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["Exchange", "exchange.", "EXCHANGE_", "exchange-"])
def test_names_like_the_house_s_are_refused(name: str) -> None:
    house_account()
    with pytest.raises(ValueError, match="account name"):
        issue_token(name=name)
    assert not Account.objects.filter(name=name).exists()


@pytest.mark.parametrize("name", ["bob\n", "bob\r", "bob\n\n"])
def test_a_trailing_newline_is_not_part_of_a_valid_name(name: str) -> None:
    with pytest.raises(ValueError, match="account name"):
        issue_token(name=name)
    assert not Account.objects.exists() or not Account.objects.filter(name=name).exists()


@pytest.mark.parametrize("name", ["Bob", "BOB", "bob.", "bob_", "bob-", "Bob._"])
def test_a_name_like_an_existing_account_is_refused(name: str) -> None:
    issue_token(name="bob")
    with pytest.raises(ValueError, match="too like the existing account 'bob'"):
        issue_token(name=name)
    assert not Account.objects.filter(name=name).exists()


def test_an_existing_account_still_opens_and_different_names_are_free() -> None:
    bob = open_account(name="bob")
    assert open_account(name="bob").pk == bob.pk
    for name in ("bobby", "bob-2", "b.ob", "robert"):
        assert open_account(name=name).name == name
