"""The corrections to django-eventstream's stream reads (see ``streams.serving``)."""

from __future__ import annotations

import json

import pytest
from django_eventstream import eventstream, send_event
from django_eventstream.eventrequest import EventRequest

pytestmark = pytest.mark.django_db(transaction=True)


def request_for(channel: str, last_id: str | None) -> EventRequest:
    request = EventRequest()
    request.channels = {channel}
    request.channel_last_ids = {channel: last_id} if last_id is not None else {}
    request.is_next = False
    return request


def test_a_second_read_continues_after_what_the_first_returned() -> None:
    for n in range(3):
        send_event("t", "tick", {"n": n})
    request = request_for("t", "0")
    first = eventstream.get_events(request)
    assert [json.loads(e.data)["n"] for e in first.channel_items["t"]] == [0, 1, 2]
    send_event("t", "tick", {"n": 3})
    second = eventstream.get_events(request)
    assert [json.loads(e.data)["n"] for e in second.channel_items["t"]] == [3]


def test_a_client_without_a_cursor_keeps_what_arrived_after_its_first_read() -> None:
    send_event("u", "tick", {"n": 0})
    request = request_for("u", None)
    assert eventstream.get_events(request).channel_items["u"] == []
    send_event("u", "tick", {"n": 1})
    assert [json.loads(e.data)["n"] for e in eventstream.get_events(request).channel_items["u"]] == [1]


def test_a_proxy_s_follow_up_names_its_reader_only_when_its_es_meta_verifies() -> None:
    import time
    from types import SimpleNamespace

    import jwt
    from django.conf import settings
    from django.test import RequestFactory

    from streams.serving import proxied_reader

    def meta(key: bytes, *, expires_in: float = 60) -> str:
        claims = {"iss": "es", "exp": int(time.time() + expires_in), "user": "account-5"}
        return jwt.encode(claims, key)

    def follow_up(es_meta: str, *, proxied: bool = True) -> object:
        request = RequestFactory().get("/api/accounts/me/stream/", {"es-meta": es_meta, "link": "next"})
        request.grip = SimpleNamespace(proxied=proxied)  # type: ignore[attr-defined]
        return request

    ours = settings.SECRET_KEY.encode("utf-8")
    assert proxied_reader(follow_up(meta(ours))) == "account-5"  # type: ignore[arg-type]
    assert proxied_reader(follow_up(meta(ours), proxied=False)) is None  # type: ignore[arg-type]
    assert proxied_reader(follow_up(meta(b"somebody else's key, just as long as ours"))) is None  # type: ignore[arg-type]
    assert proxied_reader(follow_up(meta(ours, expires_in=-10))) is None  # type: ignore[arg-type]
    assert proxied_reader(follow_up("not-a-jwt")) is None  # type: ignore[arg-type]
