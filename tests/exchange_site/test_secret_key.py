"""A production server refuses to start with a weak secret key, by Django's own rule (security.W009)."""

from __future__ import annotations

import pytest

from tests.exchange_site.test_settings import settings_of


@pytest.mark.parametrize(
    "key",
    [
        "abc",
        "x" * 49 + "q",  # 50 characters, 2 different ones
        "abcd" * 20,  # long, but 4 different characters
        "django-insecure-" + "q7Z!x9" * 10,
        "q7Z!x9" * 8,  # 48 characters
    ],
)
def test_a_weak_secret_key_stops_a_production_server(key: str) -> None:
    result = settings_of(DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak for production" in result.stderr


def test_a_strong_key_starts_and_debug_accepts_any_key() -> None:
    assert settings_of(DJANGO_SECRET_KEY="q7Z!x9" * 9).returncode == 0
    assert settings_of(DJANGO_SECRET_KEY="abc", DJANGO_DEBUG="true").returncode == 0
