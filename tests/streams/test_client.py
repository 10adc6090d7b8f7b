"""The shared SSE reader, with an injected opener instead of a network."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator

import pytest
import requests

from streams.client import Backoff, StreamError, StreamReader


class FakeResponse:
    def __init__(self, body: str, status: int = 200, fail_after: bool = True) -> None:
        self.status_code = status
        self.text = body
        self.body = body.encode()
        self.fail_after = fail_after
        self.raw = None

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise requests.HTTPError(str(self.status_code))

    def iter_content(self, chunk_size: int | None = None) -> Iterator[bytes]:
        # Split mid-event to prove events are stitched across chunks.
        middle = len(self.body) // 2
        yield self.body[:middle]
        yield self.body[middle:]
        if self.fail_after:
            raise requests.ConnectionError("connection dropped")

    def close(self) -> None:
        pass


def sse(*events: tuple[str, str, str]) -> str:
    return "event: stream-open\ndata:\n\n" + "".join(
        f"event: {e}\nid: {i}\ndata: {d}\n\n" for e, i, d in events
    )


class Opener:
    def __init__(self, *responses: FakeResponse) -> None:
        self.responses = list(responses)
        self.seen_headers: list[dict[str, str]] = []

    def __call__(self, url: str, params: dict[str, str], headers: dict[str, str]) -> FakeResponse:
        self.seen_headers.append(headers)
        if not self.responses:
            raise requests.ConnectionError("refused")
        return self.responses.pop(0)


def no_wait_backoff() -> Backoff:
    return Backoff(initial=0.0, cap=0.0, rng=random.Random(1))


def test_it_reconnects_from_the_last_handled_event() -> None:
    opener = Opener(
        FakeResponse(sse(("tick", "c:1", "a"), ("tick", "c:2", "b"))),
        FakeResponse(sse(("tick", "c:3", "c"))),
    )
    stop = threading.Event()
    reader = StreamReader("http://x/", cursor="c:0", stop=stop, opener=opener, backoff=no_wait_backoff())
    got = []
    for event in reader.events():
        got.append(event.data)
        if len(got) == 3:
            stop.set()
    assert got == ["a", "b", "c"]
    assert [h.get("Last-Event-ID") for h in opener.seen_headers] == ["c:0", "c:2"]


def test_an_event_whose_handling_failed_is_read_again() -> None:
    opener = Opener(
        FakeResponse(sse(("tick", "c:1", "a"), ("tick", "c:2", "b"))),
        FakeResponse(sse(("tick", "c:2", "b"))),
    )
    reader = StreamReader("http://x/", opener=opener, backoff=no_wait_backoff())
    events = reader.events()
    assert next(events).data == "a"
    assert next(events).data == "b"
    events.close()  # the consumer failed on "b": it never asked for the next event
    assert reader.cursor == "c:1"
    assert next(reader.events()).data == "b"
    assert opener.seen_headers[-1]["Last-Event-ID"] == "c:1"


def test_a_client_error_is_not_retried() -> None:
    reader = StreamReader(
        "http://x/", opener=Opener(FakeResponse("nope", status=404)), backoff=no_wait_backoff()
    )
    with pytest.raises(StreamError):
        next(reader.events())


def test_backoff_grows_and_is_capped() -> None:
    backoff = Backoff(initial=1.0, cap=8.0, rng=random.Random(3))
    delays = [backoff.next_delay() for _ in range(8)]
    assert all(0.5 <= d <= 1.0 for d in delays[:1])
    assert all(4.0 <= d <= 8.0 for d in delays[4:])
    backoff.reset()
    assert backoff.next_delay() <= 1.0


def test_close_from_another_thread_ends_the_iteration() -> None:
    opener = Opener()  # every connection is refused: the reader waits in backoff
    reader = StreamReader("http://x/", opener=opener, backoff=Backoff(initial=5.0, cap=5.0))
    done = threading.Event()

    def consume() -> None:
        for _ in reader.events():
            pass
        done.set()

    thread = threading.Thread(target=consume)
    thread.start()
    reader.close()
    thread.join(5)
    assert done.is_set()
