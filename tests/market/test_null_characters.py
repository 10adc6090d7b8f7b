"""NUL characters in a path or query parameter are a 400 in the JSON error format, before any query."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/trades?account=%00",
        "/api/trades?symbol=BTC%00",
        "/api/trades?%00=1",
        "/api/prices/BTC%00/history",
        "/market/stream/?symbols=BTC%00",
        "/market/stream/?lastEventId=market-BTC:%00",
        "/sources/BTC%00/stream/",
        "/accounts/login/?next=%00",
    ],
)
def test_a_nul_character_is_refused_with_a_400(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_urls_without_one_pass(client: Client) -> None:
    assert client.get("/api/trades?account=bob").status_code == 200
