"""HEAD over real sockets: the streams answer their headers and end, they never start."""

from __future__ import annotations

import pytest
import requests

from tests.servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("path", ["/healthz", "/api/prices", "/market/stream/", "/sources/BTC/stream/"])
def test_head_answers_at_once_with_get_s_status_and_no_body(
    exchange_server: ServerProcess, path: str
) -> None:
    response = requests.head(exchange_server.url + path, timeout=5)
    assert response.status_code == 200
    assert response.content == b""


def test_post_to_the_health_check_is_a_json_405(exchange_server: ServerProcess) -> None:
    response = exchange_server.post("/healthz")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
