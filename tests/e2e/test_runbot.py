"""``manage.py runbot`` as a real process against a real exchange server."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bots.backtest import price_path
from sources.catalog import source_specs
from tests.servers import PYTHON, ROOT, ServerProcess, wait_for_prices

pytestmark = pytest.mark.e2e

DECISION = re.compile(r"(Buying|Selling) <(\w+)>(?: x(\d+))? for ([\d.]+)")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path_factory.mktemp("runbot-server"))
    process.start()
    wait_for_prices(process)
    yield process
    process.kill()


class Bot:
    """One ``runbot`` process; its output goes to a file the test reads."""

    def __init__(self, server: ServerProcess, directory: Path, *args: str, **env: str) -> None:
        self.log_path = directory / f"bot-{time.monotonic_ns()}.log"
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "runbot", *args],
            cwd=ROOT,
            env={**server.env, **env},
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self, timeout: float = 10) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.log_file.close()


def wait_for(what: str, check: Callable[[], Any], bot: Bot, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if bot.process.poll() is not None:
            raise AssertionError(f"runbot exited with {bot.process.returncode} before {what}:\n{bot.log()}")
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout}s:\n{bot.log()[-3000:]}")


def trades_of(server: ServerProcess, name: str) -> list[dict[str, Any]]:
    trades = server.get("/api/trades", params={"account": name, "limit": 500}).json()["trades"]
    # Each trade as the bot made it: its own side of it.
    mine = [{**trade, "side": "buy" if trade["buyer"] == name else "sell"} for trade in trades]
    return list(reversed(mine))  # oldest first


def history(server: ServerProcess, symbol: str) -> list[Decimal]:
    prices = server.get(f"/api/prices/{symbol}/history", params={"limit": 5000}).json()["prices"]
    return [Decimal(p["price"]) for p in prices]


def triples(prices: list[Decimal]) -> list[tuple[Decimal, Decimal, Decimal]]:
    return list(zip(prices, prices[1:], prices[2:], strict=False))


def assert_whole_position_sells(trades: list[dict[str, Any]], lot: int) -> None:
    held: dict[str, int] = {}
    for trade in trades:
        symbol = trade["symbol"]
        if trade["side"] == "buy":
            assert trade["quantity"] == lot
            held[symbol] = held.get(symbol, 0) + lot
        else:
            assert trade["quantity"] == held.get(symbol), f"a sell of part of the position: {trades}"
            held[symbol] = 0


def test_the_investor_trades_by_its_rules_only_in_the_assets_of_interested_in(
    server: ServerProcess, tmp_path: Path
) -> None:
    # No token: it provisions its own account in the server's database.
    bot = Bot(
        server, tmp_path, "investor", "--url", server.url, "--name", "investor-e2e", INTERESTED_IN="META"
    )
    try:
        trades = wait_for(
            "two buys",
            lambda: len(trades_of(server, "investor-e2e")) >= 2 and trades_of(server, "investor-e2e"),
            bot,
        )
        returncode = bot.terminate()
    finally:
        bot.kill()
    log = bot.log()
    assert returncode == 0, log
    assert "Traceback" not in log
    assert {trade["symbol"] for trade in trades_of(server, "investor-e2e")} == {"META"}
    assert trades[0]["side"] == "buy"
    assert_whole_position_sells(trades_of(server, "investor-e2e"), lot=1)
    # Every decision it logged is the rule's: a buy ends a dip, a sell ends a peak.
    shapes = triples(history(server, "META"))
    decisions = DECISION.findall(log)
    assert decisions, log
    for verb, symbol, _, seen in decisions:
        assert symbol == "META"
        price = Decimal(seen)
        if verb == "Buying":
            assert any(p0 > p1 < p2 == price for p0, p1, p2 in shapes), f"no dip ends at {price}"
        else:
            assert any(p0 < p1 > p2 == price for p0, p1, p2 in shapes), f"no peak ends at {price}"
    assert "P&L" in log


def test_the_hamster_trades_with_a_token_from_the_environment_and_stops_on_sigterm(
    server: ServerProcess, tmp_path: Path
) -> None:
    token = server.manage("createbot", "hamster-e2e").stdout.split()[-1]
    bot = Bot(
        server,
        tmp_path,
        "hamster",
        "--symbols",
        "TCSG,META",
        "--quantity",
        "2",
        EXCHANGE_URL=server.url,
        EXCHANGE_TOKEN=token,
        INTERESTED_IN="BTC",  # --symbols wins
    )
    try:
        wait_for(
            "a buy and a sell",
            lambda: {t["side"] for t in trades_of(server, "hamster-e2e")} == {"buy", "sell"},
            bot,
        )
        started = time.monotonic()
        returncode = bot.terminate()
        stopped_in = time.monotonic() - started
    finally:
        bot.kill()
    log = bot.log()
    assert returncode == 0, log
    assert "Traceback" not in log
    assert "SIGTERM received" in log
    assert stopped_in < 10
    trades = trades_of(server, "hamster-e2e")
    assert {trade["symbol"] for trade in trades} <= {"TCSG", "META"}
    assert_whole_position_sells(trades, lot=2)


FILLS = re.compile(r": (Bought|Sold) <")


def test_a_bot_started_by_hand_reuses_the_token_and_never_breaks_the_running_bot(
    server: ServerProcess, tmp_path: Path
) -> None:
    """As with ``runbot hamster`` typed while ``make run`` runs its own hamster."""
    args = ("hamster", "--url", server.url, "--name", "shared-e2e", "--symbols", "META")
    running = Bot(server, tmp_path, *args)
    by_hand = None
    try:
        wait_for("a fill of the running bot", lambda: FILLS.search(running.log()), running)
        by_hand = Bot(server, tmp_path, *args)
        wait_for("a fill of the second bot", lambda: FILLS.search(by_hand.log()), by_hand)
        fills_before = len(FILLS.findall(running.log()))
        wait_for(
            "a fill of the running bot after the second one traded",
            lambda: len(FILLS.findall(running.log())) > fills_before,
            running,
        )
        assert "reusing the token kept" in by_hand.log()
        assert running.terminate() == 0
        assert by_hand.terminate() == 0
    finally:
        running.kill()
        if by_hand is not None:
            by_hand.kill()
    assert "unauthorized" not in running.log()
    assert "unauthorized" not in by_hand.log()


def test_runbot_refuses_to_take_over_an_account_whose_token_it_does_not_hold(
    server: ServerProcess,
) -> None:
    token = server.manage("createbot", "held-elsewhere").stdout.split()[-1]
    # The token createbot printed went elsewhere: this machine's kept copy is gone.
    for kept in Path(server.env["EXCHANGE_STATE_DIR"]).rglob("held-elsewhere"):
        kept.unlink()
    result = subprocess.run(
        [PYTHON, "manage.py", "runbot", "hamster", "--url", server.url, "--name", "held-elsewhere"],
        cwd=ROOT,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "is in use" in result.stderr
    assert server.get("/api/accounts/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_the_backtest_replays_the_prices_the_live_sources_stream(server: ServerProcess) -> None:
    """The server runs with EXCHANGE_SEED=7: the backtest's path for seed 7 is the same, tick for tick."""
    specs = source_specs()
    # Every asset's first 20 ticks, not only BTC's: on a fresh, loaded server one may lag.
    deadline = time.monotonic() + 30
    while min(len(history(server, symbol)) for symbol in specs) < 20 and time.monotonic() < deadline:
        time.sleep(0.2)
    path = price_path({symbol: spec.new_walk for symbol, spec in specs.items()}, seed="7", ticks=20)
    for symbol in specs:
        response = server.get(f"/api/prices/{symbol}/history", params={"limit": 5000}).json()["prices"]
        live = {p["seq"]: Decimal(p["price"]) for p in response}
        replayed = [price for s, price, _ in path if s == symbol]
        assert [live[seq] for seq in range(1, 21)] == replayed


def test_a_bot_started_before_the_server_waits_for_it_then_trades(tmp_path: Path) -> None:
    """As with ``make run``, which starts the server and the bots together."""
    late = ServerProcess(tmp_path / "late-server")
    token = late.manage("createbot", "early-bird").stdout.split()[-1]
    bot = Bot(late, tmp_path, "hamster", "--url", late.url, "--token", token, "--symbols", "META")
    try:
        wait_for("a warning that it waits", lambda: "waiting for the exchange" in bot.log(), bot, timeout=30)
        late.start()
        wait_for("a trade", lambda: trades_of(late, "early-bird"), bot)
        assert bot.terminate() == 0
    finally:
        bot.kill()
        late.kill()
    assert "Traceback" not in bot.log()


def test_the_bots_client_gets_the_original_trade_when_it_retries_an_order_with_its_key(
    server: ServerProcess,
) -> None:
    from bots.client import ExchangeClient, OrderRefused

    token = server.manage("createbot", "retrier-e2e").stdout.split()[-1]
    client = ExchangeClient(server.url, token)
    first = client.place_order(symbol="META", side="buy", quantity=1, key="retry-me")
    again = client.place_order(symbol="META", side="buy", quantity=1, key="retry-me")
    assert again == first
    account = client.account()
    assert (account["positions"], account["trades"]) == ({"META": 1}, 1)
    with pytest.raises(OrderRefused) as refused:
        client.place_order(symbol="META", side="sell", quantity=5, key="too-many")
    assert refused.value.code == "insufficient_position"


def test_a_bot_rides_out_a_server_restart_and_resumes_from_its_cursor(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "restarted").start()
    wait_for_prices(first)
    token = first.manage("createbot", "survivor").stdout.split()[-1]
    bot = Bot(first, tmp_path, "hamster", "--url", first.url, "--token", token, "--symbols", "META")
    second = ServerProcess(tmp_path / "restarted", database_url=first.database_url, port=first.port)
    try:
        wait_for("a trade", lambda: trades_of(first, "survivor"), bot)
        first.stop()
        before = len(trades_of_db(first, "survivor"))
        second.start()
        wait_for("a reconnection", lambda: "reconnecting from market-META:" in bot.log(), bot)
        wait_for("a trade after the restart", lambda: len(trades_of(second, "survivor")) > before, bot)
        assert bot.terminate() == 0
    finally:
        bot.kill()
        first.kill()
        second.kill()
    assert "Traceback" not in bot.log()


def trades_of_db(server: ServerProcess, name: str) -> list[str]:
    """The account's trades while its server is down, through a management command."""
    script = (
        "from django.db.models import Q; from market.models import Trade;"
        f"rows = Trade.objects.filter(Q(buyer__name={name!r}) | Q(seller__name={name!r})).order_by('id');"
        "print('\\n'.join(str(t.pk) for t in rows))"
    )
    return server.manage("shell", "-c", script).stdout.split()
