"""Schemathesis generates requests from the served OpenAPI schema: none may produce a 5xx.

Valid and invalid inputs both (about 30 requests per operation, 6 per stream), with a real token so
the authenticated paths run to the ledger; responses must also match their
documented status codes and schemas, and afterwards the audit must find the
books whole.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.servers import ServerProcess, create_bot, wait_for_prices

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # No rate limit, so the generated orders reach the ledger instead of a 429.
    server = ServerProcess(tmp_path_factory.mktemp("fuzz"), EXCHANGE_ORDER_RATE="0")
    server.start()
    wait_for_prices(server)
    yield server
    server.kill()


@pytest.fixture(scope="module")
def fuzz_token(fuzz_server: ServerProcess) -> str:
    return create_bot(fuzz_server, "fuzzer")


@pytest.fixture(scope="module")
def api_schema(fuzz_server: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(fuzz_server.url + "/api/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@schema.exclude(tag="streams").parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case, fuzz_token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, checks=CHECKS, timeout=30)


@schema.include(tag="streams").parametrize()
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_stream_request_gets_a_server_error(case: schemathesis.Case, fuzz_token: str) -> None:
    # A stream never ends: the client reads until its timeout, or until the stream is silent
    # that long (the fuzzer's own account stream has nothing to say). A few seconds show the
    # status, the headers and the first events, which is what the checks look at.
    case.call_and_validate(headers={"Authorization": f"Bearer {fuzz_token}"}, checks=CHECKS, timeout=2)


def test_the_books_stay_whole_whatever_was_tried(fuzz_server: ServerProcess, fuzz_token: str) -> None:
    # Valid in any order: before, during or after the fuzzing, the trades must explain every balance.
    result = fuzz_server.manage(
        "shell", "-v", "0", "-c", "from market.selectors import audit_ledger; print(audit_ledger())"
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
