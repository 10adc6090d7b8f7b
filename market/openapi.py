"""The parts of the OpenAPI schema that django-ninja does not generate: the SSE streams and ``/sources/``.

Those endpoints stay plain Django views (``sources.views``, ``market.views``):
django-eventstream serves the streams. ``ExchangeAPI`` adds them to the
schema that ninja builds, with ``text/event-stream`` as the media type and
every event a stream can send, so ``/api/openapi.json`` and ``/api/docs``
describe the whole public contract.
"""

from __future__ import annotations

from typing import Any

from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from market.wire import BalanceOut, BookLevelsOut, ClockEventOut
from sources.catalog import symbols as all_symbols

EVENT_STREAM = "text/event-stream"
SCHEMAS = "#/components/schemas/"

# Events every stream can send besides its data events (django-eventstream 5.3.4).
CONTROL_EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "stream-open": ("First event of every connection, after a padding comment; empty data.", {}),
    "stream-reset": (
        "The cursor for these channels is no longer kept (or was never valid): events were "
        "missed. Reload the REST snapshot; the event's id is the stream's current position.",
        {
            "type": "object",
            "properties": {"channels": {"type": "array", "items": {"type": "string"}}},
            "required": ["channels"],
        },
    ),
    "stream-error": (
        "The stream refuses the request and closes; its id is `error`. Do not reconnect with "
        "that id: fix the request (`condition` is `bad-request`, `forbidden` or `internal-error`).",
        {
            "type": "object",
            "properties": {"condition": {"type": "string"}, "text": {"type": "string"}},
            "required": ["condition", "text"],
        },
    ),
    "keep-alive": ("Sent after 20 s without another event; empty data. Keep read timeouts above 20 s.", {}),
}

CURSOR_PARAMETERS = [
    {
        "name": "Last-Event-ID",
        "in": "header",
        "required": False,
        "description": "Resume after this event id (a cursor such as `market-BTC:41,market-META:40`).",
        "schema": {"type": "string"},
    },
    {
        "name": "lastEventId",
        "in": "query",
        "required": False,
        "description": "The same cursor, for clients that cannot set headers (a browser's EventSource).",
        "schema": {"type": "string"},
    },
]


def _event(name: str, description: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": name,
        "description": description,
        "properties": {
            "event": {"const": name},
            "id": {"type": "string", "description": "The cursor after this event: resume from it."},
            # SSE data is text: JSON for the data events and stream-reset/-error, empty otherwise.
            "data": (
                {"type": "string", "contentMediaType": "application/json", "contentSchema": data}
                if data
                else {"type": "string", "maxLength": 0}
            ),
        },
        "required": ["event", "data"],
    }


def stream_response(description: str, data_events: dict[str, tuple[str, str]]) -> dict[str, Any]:
    """A 200 ``text/event-stream`` response whose items are the named events (name: description, schema)."""
    events = [
        _event(name, text, {"$ref": SCHEMAS + schema}) for name, (text, schema) in data_events.items()
    ] + [_event(name, text, data) for name, (text, data) in CONTROL_EVENTS.items()]
    return {
        "description": description,
        "content": {
            EVENT_STREAM: {
                # OpenAPI 3.2's way to describe each event of a sequential media type
                # (tools that know only 3.1 see a response without a schema).
                "itemSchema": {"oneOf": events},
            }
        },
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": SCHEMAS + "ErrorOut"}}},
    }


BAD_CURSOR = _error("A cursor that is not `channel:id,…` (`invalid_cursor`).")

SOURCES_SCHEMA = {
    "title": "SourcesOut",
    "type": "object",
    "properties": {
        "sources": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "symbol": {"type": "string", "examples": ["BTC"]},
                    "name": {"type": "string", "examples": ["Bitcoin"]},
                    "stream": {"type": "string", "format": "uri"},
                    "cursor": {
                        "type": "string",
                        "description": "The stream's current Last-Event-ID: connect with it to miss nothing.",
                    },
                },
                "required": ["symbol", "name", "stream", "cursor"],
            },
        }
    },
    "required": ["sources"],
}


def stream_paths() -> dict[str, Any]:
    """The OpenAPI path items of ``/sources/``, ``/sources/{symbol}/stream/`` and ``/market/stream/``."""
    symbol = {"type": "string", "enum": all_symbols()}
    return {
        "/sources/": {
            "get": {
                "operationId": "sources_list",
                "tags": ["streams"],
                "summary": "The price sources, each with its stream URL and current cursor",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": {"$ref": SCHEMAS + "SourcesOut"}}},
                    }
                },
            }
        },
        "/sources/{symbol}/stream/": {
            "get": {
                "operationId": "sources_stream",
                "tags": ["streams"],
                "summary": "SSE: one source's ticks",
                "parameters": [
                    {"name": "symbol", "in": "path", "required": True, "schema": symbol},
                    *CURSOR_PARAMETERS,
                ],
                "responses": {
                    "200": stream_response(
                        "Every tick of the source, resumable by cursor.",
                        {"tick": ("One step of the source's random walk; `seq` counts from 1.", "PriceOut")},
                    ),
                    "400": BAD_CURSOR,
                    "404": _error("Unknown symbol (`unknown_symbol`)."),
                },
            }
        },
        "/market/stream/": {
            "get": {
                "operationId": "market_stream",
                "tags": ["streams"],
                "summary": "SSE: the market's prices, trades and books",
                "parameters": [
                    {
                        "name": "symbols",
                        "in": "query",
                        "required": False,
                        "description": "Comma-separated assets to follow, e.g. `BTC,META` (default: all).",
                        "schema": {"type": "string"},
                    },
                    *CURSOR_PARAMETERS,
                ],
                "responses": {
                    "200": stream_response(
                        "Each asset's prices, trades and books, one channel per asset, resumable by cursor.",
                        {
                            "price": ("The market's latest price of one asset.", "PriceOut"),
                            "trade": ("A trade: who bought from whom (the house is `exchange`).", "TradeOut"),
                            "book": (
                                "The accounts' top 10 levels per side, after a tick that changed them.",
                                "BookLevelsOut",
                            ),
                            "clock": (
                                "The clock's state and speed and the asset's scenario, after a change.",
                                "ClockEventOut",
                            ),
                        },
                    ),
                    "400": _error(
                        "Unknown symbol in `symbols` (`unknown_symbol`), or a cursor that is not"
                        " `channel:id,…` (`invalid_cursor`)."
                    ),
                },
            }
        },
        "/api/accounts/me/stream/": {
            "get": {
                "operationId": "account_stream",
                "tags": ["streams"],
                "summary": "SSE: the caller's orders and balances (bearer token, or the dashboard's session)",
                "parameters": [*CURSOR_PARAMETERS],
                "security": [{"TokenAuth": []}],
                "responses": {
                    "200": stream_response(
                        "The owner's private channel, resumable by cursor (`cursor` of `/api/accounts/me`).",
                        {
                            "order": (
                                "One of the caller's orders, at every change, placement included.",
                                "OrderOut",
                            ),
                            "balance": ("The caller's balances after a change of them.", "BalanceOut"),
                        },
                    ),
                    "400": BAD_CURSOR,
                    "401": _error("No token, or a wrong one (`unauthorized`)."),
                },
            }
        },
    }


# Shapes the streams send that no JSON answer of the API uses, added to the schema's components.
STREAM_ONLY_MODELS = (BookLevelsOut, BalanceOut, ClockEventOut)


class ExchangeAPI(NinjaAPI):
    """The REST API, whose schema also documents the streams and ``/sources/``."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema["paths"].update(stream_paths())
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["SourcesOut"] = SOURCES_SCHEMA
        for model in STREAM_ONLY_MODELS:
            model_schema = model.model_json_schema(ref_template=SCHEMAS + "{model}")
            components.update(model_schema.pop("$defs", {}))
            components[model.__name__] = model_schema
        return schema
