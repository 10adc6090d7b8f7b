"""Tokens of bots and people never cross, and a token in use is never rotated by accident."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from market.errors import AccountInUse, PersonsAccount
from market.models import Account
from market.services import account_for_user, hash_token, issue_token

pytestmark = pytest.mark.django_db


def person(name: str) -> Account:
    user = get_user_model().objects.create_user(name, password="pw-long-enough-1")
    return account_for_user(user=user)


def test_no_token_is_issued_for_a_persons_account() -> None:
    assert person("carol").name == "carol"
    with pytest.raises(PersonsAccount, match="carol"):
        issue_token(name="carol")
    assert Account.objects.get(name="carol").token_hash is None


def test_without_replace_a_token_in_use_is_kept() -> None:
    first = issue_token(name="bot")
    with pytest.raises(AccountInUse, match="bot"):
        issue_token(name="bot", replace=False)
    assert Account.objects.get(name="bot").token_hash == hash_token(first)


def test_without_replace_an_account_without_a_token_gets_one() -> None:
    token = issue_token(name="fresh", replace=False)
    assert Account.objects.get(name="fresh").token_hash == hash_token(token)
