"""Counting open streams per process and per client (``streams.admission``)."""

from __future__ import annotations

from streams.admission import StreamCounts, client_of, internal_stream_headers, is_internal


def scope(ip: str = "10.0.0.1", authorization: str | None = None) -> dict:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    return {"client": (ip, 1234), "headers": headers}


def test_a_client_is_its_token_else_its_ip_address() -> None:
    assert client_of(scope()) == "ip:10.0.0.1"
    token = client_of(scope(authorization="Bearer abc"))
    assert token.startswith("token:")
    assert "abc" not in token
    assert client_of(scope(ip="10.0.0.2", authorization="Bearer abc")) == token
    assert client_of(scope(authorization="Basic abc")) == "ip:10.0.0.1"


def test_streams_over_a_limit_are_refused_and_released_ones_free_their_place() -> None:
    counts = StreamCounts()
    assert counts.acquire("a", total_limit=3, client_limit=2) is None
    assert counts.acquire("a", total_limit=3, client_limit=2) is None
    assert "per client" in (counts.acquire("a", total_limit=3, client_limit=2) or "")
    assert counts.acquire("b", total_limit=3, client_limit=2) is None
    assert "this server" in (counts.acquire("c", total_limit=3, client_limit=2) or "")
    counts.release("a")
    assert counts.acquire("c", total_limit=3, client_limit=2) is None
    assert counts.total == 3
    assert counts.by_client == {"a": 1, "b": 1, "c": 1}


def test_zero_lifts_a_limit() -> None:
    counts = StreamCounts()
    for _ in range(500):
        assert counts.acquire("a", total_limit=0, client_limit=0) is None


def test_the_servers_own_streams_are_marked_only_towards_loopback() -> None:
    headers = internal_stream_headers("http://127.0.0.1:8000/sources/BTC/stream/")
    assert headers
    assert internal_stream_headers("http://example.com/sources/BTC/stream/") == {}
    marked = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    assert is_internal({"client": ("127.0.0.1", 1), "headers": marked})
    assert not is_internal({"client": ("10.0.0.1", 1), "headers": marked})
    assert not is_internal({"client": ("127.0.0.1", 1), "headers": [(marked[0][0], b"guess")]})
