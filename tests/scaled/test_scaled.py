"""The scaled mode on real engines: two web workers behind Pushpin, events through
Redis, the ledger on PostgreSQL, the engine once as ``manage.py runengine``.

Clients read the market stream three ways: through Pushpin (GRIP), and
directly from each worker (django-eventstream's listeners, woken through
Redis). Every client starts from the same cursor, so all of them must accept
exactly the same events, each channel's ids consecutive (see ``streams.py``).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from tests.scaled.streams import StreamCollector, parse_event_id
from tests.scaled.topology import ScaledTopology, wait_until
from tests.servers import manage, read_events

pytestmark = [pytest.mark.scaled, pytest.mark.postgres]

STREAM = "/market/stream/"
# Enough ticks to span a fault (at 0.05 s per tick on each of three sources).
SETTLE = 1.0
# Longer than redis-py's own reconnection retries (10, capped backoff, about
# 5 s at most), which hide shorter outages.
REDIS_DOWN = 6.0


def market_cursor(topology: ScaledTopology) -> str:
    return requests.get(topology.url + "/api/prices", timeout=5).json()["cursor"]


@contextmanager
def clients(
    topology: ScaledTopology, cursor: str, **named_urls: list[str]
) -> Iterator[dict[str, StreamCollector]]:
    started = {
        name: StreamCollector(urls=urls, cursor=cursor, name=name).start()
        for name, urls in named_urls.items()
    }
    try:
        yield started
    finally:
        for collector in started.values():
            collector.stop()


def wait_all(collectors: dict[str, StreamCollector], target: str, *, timeout: float = 45) -> None:
    goal = parse_event_id(target)
    for collector in collectors.values():
        collector.wait_for(goal, timeout=timeout)


def accepted_until(collector: StreamCollector, target: str) -> list[tuple[str, int, str, str]]:
    """What ``collector`` accepted up to ``target``, channel by channel (channels are
    independent, so their interleaving may differ between clients)."""
    goal = parse_event_id(target)
    return sorted(
        (event.channel, event.eid, event.event, json.dumps(event.data, sort_keys=True))
        for event in collector.events
        if event.eid <= goal.get(event.channel, 0)
    )


def assert_same_complete_stream(collectors: dict[str, StreamCollector], cursor: str, target: str) -> None:
    streams = {name: accepted_until(collector, target) for name, collector in collectors.items()}
    first_name, first = next(iter(streams.items()))
    start, goal = parse_event_id(cursor), parse_event_id(target)
    expected_count = sum(goal[channel] - start.get(channel, 0) for channel in goal)
    assert len(first) == expected_count, f"{first_name} accepted {len(first)} of {expected_count} events"
    for name, stream in streams.items():
        assert stream == first, f"{name} did not receive what {first_name} received"
    last_seq: dict[str, int] = {}
    for _channel, _eid, event, data in first:
        if event == "price":
            price = json.loads(data)
            previous = last_seq.get(price["symbol"])
            assert previous is None or price["seq"] == previous + 1, f"price seq jumped in {price}"
            last_seq[price["symbol"]] = price["seq"]


def create_bot(topology: ScaledTopology, name: str) -> str:
    output = manage("createbot", name, env=topology.env()).stdout
    return output.split()[-1]


def place_orders(urls: list[str], token: str, orders: list[dict[str, Any]]) -> list[requests.Response]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    return [
        session.post(urls[i % len(urls)] + "/api/orders", json=order, timeout=30)
        for i, order in enumerate(orders)
    ]


def audit(topology: ScaledTopology) -> list[str]:
    script = "import json; from market.selectors import audit_ledger; print(json.dumps(audit_ledger()))"
    return json.loads(manage("shell", "-c", script, env=topology.env()).stdout.strip().splitlines()[-1])


def test_clients_of_pushpin_and_of_each_worker_receive_every_price_and_trade(
    topology: ScaledTopology,
) -> None:
    token = create_bot(topology, "everywhere")
    cursor = market_cursor(topology)
    workers = [worker.url for worker in topology.workers]
    with clients(
        topology,
        cursor,
        pushpin=[topology.url + STREAM],
        worker1=[workers[0] + STREAM],
        worker2=[workers[1] + STREAM],
    ) as collectors:
        orders = [
            {"symbol": "META", "side": "buy" if i % 2 == 0 else "sell", "quantity": 1} for i in range(10)
        ]
        responses = place_orders(workers, token, orders)
        assert [response.status_code for response in responses] == [201] * len(orders)
        target = market_cursor(topology)
        wait_all(collectors, target)
    assert_same_complete_stream(collectors, cursor, target)
    trade_ids = [
        json.loads(data)["id"]
        for _, _, event, data in accepted_until(collectors["pushpin"], target)
        if event == "trade"
    ]
    assert trade_ids == [response.json()["fills"][0]["trade_id"] for response in responses]


def test_orders_sent_to_both_workers_at_once_keep_the_ledger_exact(topology: ScaledTopology) -> None:
    tokens = [create_bot(topology, f"concurrent{i}") for i in range(4)]
    workers = [worker.url for worker in topology.workers]
    orders = [{"symbol": "TCSG", "side": side, "quantity": 1} for side in ("buy", "buy", "sell") * 8]
    results: dict[int, list[requests.Response]] = {}

    def trade(index: int) -> None:
        # Each bot alternates between the workers, starting on a different one.
        results[index] = place_orders(workers[index % 2 :] + workers[: index % 2], tokens[index], orders)

    threads = [threading.Thread(target=trade, args=(i,)) for i in range(len(tokens))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    statuses: dict[int, int] = defaultdict(int)
    for responses in results.values():
        for response in responses:
            statuses[response.status_code] += 1
    # 409: a sale the position cannot cover (concurrent orders of one bot race).
    assert set(statuses) <= {201, 409}, f"unexpected statuses {dict(statuses)}"
    acknowledged = [
        response.json()["id"]
        for responses in results.values()
        for response in responses
        if response.status_code == 201
    ]
    assert len(acknowledged) == len(set(acknowledged)) == statuses[201] > 0
    assert audit(topology) == []
    for index, token in enumerate(tokens):
        me = requests.get(
            workers[index % 2] + "/api/accounts/me", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        bought = sum(1 for r in results[index] if r.status_code == 201 and r.json()["side"] == "buy")
        sold = sum(1 for r in results[index] if r.status_code == 201 and r.json()["side"] == "sell")
        assert me["positions"].get("TCSG", 0) == bought - sold


def test_a_worker_killed_mid_stream_loses_no_event_for_reconnecting_clients(topology: ScaledTopology) -> None:
    victim, survivor = topology.workers[1], topology.workers[0]
    cursor = market_cursor(topology)
    try:
        with clients(
            topology,
            cursor,
            pushpin=[topology.url + STREAM],
            # Connected to the victim only (a first attempt that fails is retried there, not
            # taken elsewhere); after the kill it reconnects to the survivor.
            direct=[victim.url + STREAM],
        ) as collectors:
            wait_all(collectors, market_cursor(topology), timeout=30)
            # Reaching the cursor proves nothing when no event came meanwhile: the victim must
            # have served the direct client before it dies, or its one connection is the survivor's.
            wait_until(
                lambda: collectors["direct"].connections >= 1,
                timeout=30,
                what="the direct client on the victim",
            )
            victim.kill()
            # Its next attempts go to the worker that is left, as a load balancer's would.
            collectors["direct"].urls = [survivor.url + STREAM]
            time.sleep(SETTLE)
            with clients(topology, cursor, late_pushpin=[topology.url + STREAM]) as late:
                target = market_cursor(topology)
                wait_all({**collectors, **late}, target)
            assert collectors["direct"].connections >= 2
            assert_same_complete_stream({**collectors, **late}, cursor, target)
    finally:
        if victim.process is not None and victim.process.poll() is not None:
            victim.start()


def test_a_redis_restart_loses_nothing_for_good(topology: ScaledTopology) -> None:
    cursor = market_cursor(topology)
    workers = [worker.url for worker in topology.workers]
    with clients(
        topology,
        cursor,
        pushpin=[topology.url + STREAM],
        worker1=[workers[0] + STREAM],
        worker2=[workers[1] + STREAM],
    ) as collectors:
        wait_all(collectors, market_cursor(topology), timeout=30)
        topology.redis.restart(down_for=REDIS_DOWN)
        # Live again: what is published after the restart arrives without any
        # client reconnecting, and what was missed meanwhile is filled in.
        time.sleep(SETTLE)
        target = market_cursor(topology)
        wait_all(collectors, target)
    assert_same_complete_stream(collectors, cursor, target)


def test_the_engine_runs_once_and_not_in_the_workers(topology: ScaledTopology) -> None:
    assert topology.engine is not None
    wait_until(
        lambda: "engine started" in topology.engine.log(), timeout=10, what="engine did not log its start"
    )
    assert topology.engine.log().count("engine started") == 1
    for worker in topology.workers:
        assert "engine started" not in worker.log()
    # One ticker per source: the source's own stream carries each seq once.
    ticks = read_events(
        topology.url + "/sources/BTC/stream/",
        count=20,
        types=("tick",),
        headers={"Last-Event-ID": "source-BTC:0"},
    )
    seqs = [event["data"]["seq"] for event in ticks]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_a_bot_s_private_stream_through_pushpin_replays_then_follows_its_orders(
    topology: ScaledTopology,
) -> None:
    # A token reader has no Django user: Pushpin's held stream must still carry its account's channel.
    import sseclient

    token = create_bot(topology, "private-reader")
    headers = {"Authorization": f"Bearer {token}"}
    me = requests.get(topology.url + "/api/accounts/me", headers=headers, timeout=10).json()
    urls = [worker.url for worker in topology.workers]
    order = {"symbol": "META", "side": "buy", "quantity": 1}
    # 55 orders make 110 stored events, more than one read returns (100): Pushpin must follow the
    # library's next link, a request of its own that carries the bot's token but no Django user.
    before = place_orders(urls, token, [order] * 55)
    assert {r.status_code for r in before} == {201}, [r.text for r in before if r.status_code != 201]
    seen: list[dict[str, Any]] = []
    with requests.get(
        topology.url + "/api/accounts/me/stream/",
        headers={**headers, "Accept": "text/event-stream", "Last-Event-ID": str(me["cursor"])},
        stream=True,
        timeout=(5, 60),
    ) as response:
        assert response.status_code == 200, response.text
        for event in sseclient.SSEClient(response.iter_content(chunk_size=None)).events():
            if event.event != "order":
                continue
            seen.append(json.loads(event.data))
            if len(seen) == len(before):
                # The stored ones arrived: the next two can only come live, published through Pushpin.
                after = place_orders(urls, token, [order, order])
                assert [r.status_code for r in after] == [201, 201], [r.text for r in after]
            if len(seen) == len(before) + 2:
                break
    ids = [r.json()["id"] for r in (*before, *after)]
    assert [event["id"] for event in seen] == ids
    assert {event["account"] for event in seen} == {"private-reader"}
