"""Sign-up: one transaction that always ends in a login with its own account, never a 500."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from dashboard import views
from market.models import Account
from market.services import issue_token, open_account

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-staple-42"


def sign_up(client: Client, username: str) -> Any:
    return client.post(
        "/accounts/signup/", {"username": username, "password1": PASSWORD, "password2": PASSWORD}
    )


def next_user_id() -> int:
    # Ids are never reused, so the next is above every id handed out so far.
    probe = User.objects.create_user("id-probe")
    taken = probe.pk
    probe.delete()
    return taken + 1


def test_a_squatted_fallback_name_does_not_break_a_person_s_sign_up(client: Client) -> None:
    issue_token(name="bob")
    victim_id = next_user_id()
    # Someone who guessed the victim's id took the name the victim would fall back to.
    open_account(name=f"bob-{victim_id}")
    response = sign_up(client, "bob")
    assert response.status_code == 302
    victim = User.objects.get(username="bob")
    assert victim.pk == victim_id
    account = Account.objects.get(user=victim)
    assert account.name not in ("bob", f"bob-{victim_id}")
    assert account.name.startswith(f"bob-{victim_id}-")
    assert client.get("/").status_code == 200


def test_a_person_named_like_a_bot_gets_their_own_account(client: Client) -> None:
    issue_token(name="bob")
    assert sign_up(client, "Bob.").status_code == 302
    account = Account.objects.get(user__username="Bob.")
    assert account.name == f"Bob.-{account.user_id}"


def test_a_sign_up_whose_account_cannot_be_opened_saves_nothing(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_account(*, user: Any) -> Account:
        raise ValueError("no free account name")

    monkeypatch.setattr(views, "account_for_user", no_account)
    response = sign_up(client, "carol")
    assert response.status_code == 200
    assert "No trading account could be opened" in response.content.decode()
    assert not User.objects.filter(username="carol").exists()
    assert "_auth_user_id" not in client.session
