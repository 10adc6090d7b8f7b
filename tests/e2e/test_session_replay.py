"""A session recorded on a real server with a bot trading, exported, and replayed offline with the same
strategy: the replay makes the same orders, order for order."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.test_runbot import Bot, wait_for
from tests.servers import ServerProcess, wait_for_prices

pytestmark = pytest.mark.e2e

FILL = re.compile(r": (Bought|Sold) <")


def test_a_session_exported_from_a_live_bot_replays_order_for_order(tmp_path: Path) -> None:
    # Ticks slow enough that each order reaches the exchange on the tick it was decided on.
    server = ServerProcess(tmp_path / "server", EXCHANGE_TICK_INTERVAL="0.5").start()
    try:
        wait_for_prices(server)
        bot = Bot(
            server, tmp_path, "investor", "--url", server.url, "--name", "live-investor", "--symbols", "META"
        )
        try:
            wait_for("three fills", lambda: len(FILL.findall(bot.log())) >= 3, bot, timeout=100)
            assert bot.terminate() == 0
        finally:
            bot.kill()
        # The session ends with the bot's last order: after it the bot stopped, the replay would not.
        trades = server.get("/api/trades", params={"account": "live-investor"}).json()["trades"]
        last = datetime.fromisoformat(trades[0]["ts"]) + timedelta(milliseconds=1)
        session = tmp_path / "session.jsonl"
        server.manage("session", "export", "--until", last.isoformat(), "--output", str(session))
        compared = server.manage(
            "backtest",
            "investor",
            "--replay",
            str(session),
            "--compare",
            "live-investor",
            "--symbols",
            "META",
        )
        plain = server.manage("backtest", "investor", "--replay", str(session), "--json", "--symbols", "META")
    finally:
        server.kill()
    records = [json.loads(line) for line in session.read_text().splitlines()]
    assert (records[0]["type"], records[0]["version"]) == ("session", 1)
    kinds = {record["type"] for record in records}
    assert {"session", "account", "price", "order", "trade"} <= kinds
    orders = [r for r in records if r["type"] == "order" and r["account"] == "live-investor"]
    assert len(orders) >= 3
    out = compared.stdout
    assert f"live live-investor: {len(orders)} orders" in out, out
    assert f"replay investor: {len(orders)} orders" in out, out
    assert "the orders match, order for order" in out, out + bot.log()
    pnl = re.findall(r"P&L (-?[\d.]+)", out)
    if "later tick" not in out:
        assert pnl[0] == pnl[1], out
    assert json.loads(plain.stdout.splitlines()[-1])["strategy"] == "investor"
