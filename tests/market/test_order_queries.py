"""What one order costs in queries: the figure the order path is designed around (README, Benchmarks)."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from market import orders
from tests.market.books import make_account, set_prices

pytestmark = pytest.mark.django_db(transaction=True)


def post_market_order(client: Client, token: str) -> CaptureQueriesContext:
    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            "/api/orders",
            data=json.dumps({"symbol": "META", "side": "buy", "quantity": 1}),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 201, response.content
    return queries


def test_the_token_s_account_is_read_once_per_request_for_the_faults_and_the_auth() -> None:
    set_prices()
    account, token = make_account("alice")
    orders.place_order(account=account, symbol="META", side="buy", quantity=1)  # its position row exists
    queries = post_market_order(Client(), token)
    token_reads = [q["sql"] for q in queries.captured_queries if '"token_hash" =' in q["sql"]]
    assert len(token_reads) == 1, token_reads
