"""The OpenAPI schema documents the whole public contract: the streams and ``/sources/`` too."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def events_of(schema: dict[str, Any], path: str) -> dict[str, dict[str, Any]]:
    content = schema["paths"][path]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/event-stream"]
    items = content["text/event-stream"]["itemSchema"]["oneOf"]
    return {item["properties"]["event"]["const"]: item for item in items}


CONTROL = {"stream-open", "stream-reset", "stream-error", "keep-alive"}


def test_the_market_stream_is_documented_as_an_event_stream_with_every_event(schema: dict[str, Any]) -> None:
    events = events_of(schema, "/market/stream/")
    assert set(events) == {"price", "trade", "book", "clock"} | CONTROL
    for name, component in (
        ("price", "PriceOut"),
        ("trade", "TradeOut"),
        ("book", "BookLevelsOut"),
        ("clock", "ClockEventOut"),
    ):
        data = events[name]["properties"]["data"]
        assert (data["type"], data["contentMediaType"]) == ("string", "application/json")
        assert data["contentSchema"] == {"$ref": f"#/components/schemas/{component}"}
    parameters = {p["name"] for p in schema["paths"]["/market/stream/"]["get"]["parameters"]}
    assert parameters == {"symbols", "Last-Event-ID", "lastEventId"}


def test_the_private_stream_is_documented_with_its_order_and_balance_events(schema: dict[str, Any]) -> None:
    events = events_of(schema, "/api/accounts/me/stream/")
    assert set(events) == {"order", "balance"} | CONTROL
    for name, component in (("order", "OrderOut"), ("balance", "BalanceOut")):
        assert events[name]["properties"]["data"]["contentSchema"] == {
            "$ref": f"#/components/schemas/{component}"
        }
        assert component in schema["components"]["schemas"]


def test_each_source_stream_is_documented_with_its_tick_event(schema: dict[str, Any]) -> None:
    operation = schema["paths"]["/sources/{symbol}/stream/"]["get"]
    assert set(events_of(schema, "/sources/{symbol}/stream/")) == {"tick"} | CONTROL
    symbol = next(p for p in operation["parameters"] if p["name"] == "symbol")
    assert symbol["schema"]["enum"] == ["BTC", "TCSG", "META"]


def test_the_sources_list_is_documented(schema: dict[str, Any]) -> None:
    response = schema["paths"]["/sources/"]["get"]["responses"]["200"]
    ref = response["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]["sources"]["items"]
    assert set(fields["required"]) == {"symbol", "name", "stream", "cursor"}


def test_every_reference_in_the_schema_resolves(schema: dict[str, Any]) -> None:
    names = set(schema["components"]["schemas"])
    for ref in refs(schema):
        assert ref.startswith("#/components/schemas/")
        assert ref.rsplit("/", 1)[1] in names, ref


@pytest.mark.django_db
def test_the_documented_sources_list_is_what_the_server_answers(schema: dict[str, Any]) -> None:
    required = set(
        schema["components"]["schemas"]["SourcesOut"]["properties"]["sources"]["items"]["required"]
    )
    body = Client().get("/sources/").json()
    assert body["sources"]
    for source in body["sources"]:
        assert set(source) == required
