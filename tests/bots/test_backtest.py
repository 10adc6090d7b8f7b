"""The backtest: exact accounting, metrics, determinism, and agreement with live trading."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from bots.backtest import PricePoint, VenueSettings, cents, parse_seeds, price_path, run_backtest, simulate
from bots.metrics import render_table, summarize
from bots.runner import Runner
from bots.strategies import BUY, SELL, Hamster, Investor, Order, Strategy, Trade
from sources.catalog import source_specs
from sources.scenarios import scenario_named
from streams.client import Backoff, StreamEvent
from tests.bots.fakes import FakeExchange, price_event

CASH = Decimal("100000.00")


def path_of(symbol: str, *prices: str) -> list[PricePoint]:
    return [(symbol, Decimal(p), cents(Decimal(p))) for p in prices]


def walks() -> dict:
    return {symbol: spec.new_walk for symbol, spec in source_specs().items()}


def test_a_round_trip_books_the_exact_profit_and_a_win() -> None:
    result = simulate(Investor(), path_of("BTC", "10.00", "9.00", "10.00", "12.00", "11.00"), cash=CASH)
    assert (result.buys, result.sells, result.wins) == (1, 1, 1)
    assert result.pnl == Decimal("1.00")
    assert result.final_cash == CASH + Decimal("1.00")
    assert result.win_rate == Decimal("1.0000")
    assert result.positions == {}


def test_open_positions_count_at_their_last_price() -> None:
    # The hamster buys on the peak at 9.00 and still holds one at 15.50.
    result = simulate(Hamster(), path_of("BTC", "5.00", "10.00", "9.00", "15.50"), cash=CASH)
    assert result.positions == {"BTC": 1}
    assert result.final_cash == CASH - Decimal("9.00")
    assert result.final_equity == CASH + Decimal("6.50")
    assert result.win_rate is None


def test_the_drawdown_is_the_largest_fall_of_equity_from_a_peak() -> None:
    # Bought at 20.00 (equity unchanged), up to 25.00 (peak +5), down to 12.00 (-8): a fall of 13.
    result = simulate(Investor(), path_of("BTC", "30.00", "10.00", "20.00", "25.00", "12.00"), cash=CASH)
    assert result.max_drawdown == Decimal("13.00")
    assert result.max_drawdown_pct == (Decimal(13) * 100 / (CASH + 5)).quantize(Decimal("0.01"))


def test_orders_the_exchange_would_refuse_are_refused_and_counted() -> None:
    # 25.00 in cash buys two lots of 10.00 but not a third.
    prices = ("12.00", "10.00", "11.00", "10.00", "11.00", "10.00", "11.00")
    result = simulate(Investor(quantity=1), path_of("X", *prices), cash=Decimal("25.00"))
    assert (result.buys, result.rejections) == (2, 1)
    assert result.final_cash == Decimal("3.00")


def test_the_price_path_is_the_sources_walk_interleaved_tick_by_tick() -> None:
    path = price_path(walks(), seed="7", ticks=50)
    specs = source_specs()
    assert [symbol for symbol, _, _ in path[:3]] == list(specs)
    for symbol, spec in specs.items():
        assert [p for s, p, _ in path if s == symbol] == spec.new_walk("7").prices(50)
    assert all(c == int(p * 100) for _, p, c in path)


def test_the_same_seeds_give_the_same_results_and_other_seeds_differ() -> None:
    def run(seeds: list[str]) -> list[dict]:
        results = run_backtest(
            strategies={"investor": Investor, "hamster": Hamster},
            walks=walks(),
            seeds=seeds,
            ticks=300,
            cash=CASH,
        )
        return [result.to_json() for result in results]

    assert run(["1", "2"]) == run(["1", "2"])
    assert run(["1"]) != run(["2"])


@pytest.mark.parametrize(
    ("text", "seeds"), [("1-3", ["1", "2", "3"]), ("3,1,3", ["3", "1"]), ("1-2,x", ["1", "2", "x"])]
)
def test_seeds_parse_from_ranges_and_lists(text: str, seeds: list[str]) -> None:
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["5-1", "1,,2", "1-9999999"])
def test_bad_seed_lists_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="seed"):
        parse_seeds(text)


def test_the_summary_aggregates_per_strategy() -> None:
    results = run_backtest(
        strategies={"investor": Investor, "hamster": Hamster},
        walks=walks(),
        seeds=["1", "2", "3"],
        ticks=500,
        cash=CASH,
    )
    investor, hamster = summarize(results)
    assert (investor.strategy, investor.runs, hamster.strategy) == ("investor", 3, "hamster")
    pnls = [r.pnl for r in results if r.strategy == "investor"]
    assert investor.min_pnl == min(pnls)
    assert investor.max_pnl == max(pnls)
    assert investor.in_profit == sum(1 for pnl in pnls if pnl > 0)
    table = render_table([investor, hamster])
    assert table.splitlines()[0].startswith("strategy")
    assert len(table.splitlines()) == 4


def backtest_output(*args: str) -> str:
    out = io.StringIO()
    call_command("backtest", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_the_command_prints_the_same_bytes_for_the_same_seeds() -> None:
    args = ("investor", "hamster", "--ticks", "300", "--seeds", "1-3")
    table = backtest_output(*args)
    assert table == backtest_output(*args)
    assert "investor" in table
    assert "hamster" in table
    assert backtest_output(*args, "--json") == backtest_output(*args, "--json")


def test_the_command_prints_one_json_object_per_line_one_per_run_with_the_documented_fields() -> None:
    output = backtest_output(
        "investor", "hamster", "--ticks", "200", "--seeds", "4-5", "--symbols", "META", "--json"
    )
    lines = output.splitlines()
    assert len(lines) == 4
    runs = [json.loads(line) for line in lines]
    assert all(isinstance(run, dict) for run in runs)
    assert [(run["strategy"], run["seed"]) for run in runs] == [
        ("investor", 4),
        ("hamster", 4),
        ("investor", 5),
        ("hamster", 5),
    ]
    for run in runs:
        assert {
            "strategy",
            "seed",
            "pnl",
            "trades",
            "final_equity",
            "return_pct",
            "max_drawdown",
            "win_rate",
        } <= set(run)
        assert run["symbols"] == ["META"]
        assert Decimal(run["final_equity"]) - Decimal(run["starting_cash"]) == Decimal(run["pnl"])


@pytest.mark.parametrize(
    "args", [["gambler"], ["investor", "--seeds", "9-1"], ["investor", "--symbols", "DOGE"]]
)
def test_the_command_refuses_bad_arguments(args: list[str]) -> None:
    with pytest.raises(CommandError):
        call_command("backtest", *args, "--no-progress", stdout=io.StringIO())


@pytest.mark.parametrize(("strategy_class", "quantity"), [(Investor, 1), (Hamster, 1), (Investor, 2)])
def test_live_trading_and_the_backtest_make_the_same_trades_on_the_same_prices(
    strategy_class: type[Strategy], quantity: int
) -> None:
    """The runner, fed a recorded stream with an exchange that fills by ``market.fills``
    at the price of the moment, trades exactly as the backtest does on those prices."""
    recorded = price_path(walks(), seed="11", ticks=1500)
    backtest = simulate(strategy_class(quantity=quantity), recorded, cash=CASH, keep_trades=True)

    exchange = FakeExchange(cash=str(CASH))
    runner = Runner(
        strategy=strategy_class(quantity=quantity),
        exchange=exchange,
        name="live",
        sleep=lambda seconds: None,
        backoff=lambda: Backoff(initial=0.0, cap=0.0),
    )
    seqs: dict[str, int] = {}
    for symbol, price, _ in recorded:
        seqs[symbol] = seqs.get(symbol, 0) + 1
        exchange.price_now[symbol] = price
        event, event_id, data = price_event(symbol, str(price), seqs[symbol])
        runner.step(StreamEvent(event=event, data=data, id=event_id))

    live = [
        Trade(t["symbol"], t["side"], t["filled_quantity"], Decimal(t["average_price"]))
        for t in exchange.trades
    ]
    assert live == list(backtest.trade_log)
    assert {BUY, SELL} == {trade.side for trade in live}
    assert runner.rejections == backtest.rejections > 0
    assert exchange.cash == backtest.final_cash
    assert {s: q for s, q in exchange.positions.items() if q} == backtest.positions


def test_no_progress_bar_is_drawn_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    call_command("backtest", "hamster", "--ticks", "100", "--seeds", "1-3", stdout=out)
    assert capsys.readouterr().err == ""
    assert "hamster" in out.getvalue()


def test_a_seed_that_is_not_a_plain_integer_stays_a_string_in_json() -> None:
    output = backtest_output("investor", "--ticks", "50", "--seeds", "demo,007", "--json")
    assert [json.loads(line)["seed"] for line in output.splitlines()] == ["demo", "007"]


def test_the_readme_shows_the_real_json_output() -> None:
    from tests.servers import ROOT

    command = "python manage.py backtest investor --seeds 7 --symbols META --quantity 5 --json"
    readme = (ROOT / "README.md").read_text()
    shown = readme.split(f"$ {command}\n", 1)[1].split("\n", 1)[0]
    args = command.split()[3:]
    assert backtest_output(*args).strip() == shown


def test_the_command_takes_the_venue_from_flags_and_reports_fees_maker_share_and_fill_ratio() -> None:
    def run(*flags: str) -> dict:
        args = ("market_maker", "--ticks", "300", "--seeds", "3", "--symbols", "META", "--json", *flags)
        (result,) = [json.loads(line) for line in backtest_output(*args).splitlines()]
        return dict(result)

    free = run()
    costly = run("--spread-bps", "20", "--maker-fee-bps", "10", "--taker-fee-bps", "10", "--house-depth", "5")
    assert free["fees"] == "0.00"
    assert Decimal(costly["fees"]) > 0
    for result in (free, costly):
        assert Decimal(result["maker_share"]) > Decimal("0.5")  # its quotes fill as maker
        assert 0 < Decimal(result["fill_ratio"]) < 1
        assert result["orders"] > result["trades"] / 2
    assert "fees/seed" in backtest_output("market_maker", "--ticks", "100", "--seeds", "1")


def test_orders_beyond_the_open_order_limit_are_refused_as_the_exchange_does() -> None:
    class Ladder(Strategy):
        def on_price(self, symbol: str, price: Decimal) -> list[Order]:
            return [Order(symbol, BUY, 1, type="limit", limit_price=Decimal("1.00"))]

    result = simulate(
        Ladder(),
        path_of("X", *["10.00"] * 5),
        cash=CASH,
        venue_settings=VenueSettings(max_open_orders=3),
    )
    assert (result.orders, result.rejections) == (3, 2)


@pytest.mark.django_db
def test_a_scenario_s_backtest_prices_are_the_live_source_s_under_that_scenario_from_its_start() -> None:
    from sources.clock import start_scenario
    from sources.services import emit_tick, resume_walk

    spec = source_specs()["META"]
    assert start_scenario(symbol="META", name="crash")  # as EXCHANGE_SCENARIO does at start-up
    walk, seq = resume_walk(spec=spec, seed="11")
    live = []
    for _ in range(120):
        tick = emit_tick(symbol="META", walk=walk, seq=seq).tick
        assert tick is not None
        live.append(tick.price)
        seq = tick.seq
    path = price_path({"META": spec.new_walk}, seed="11", ticks=120, scenario=scenario_named("crash"))
    assert [price for _, price, _ in path] == live
    plain = price_path({"META": spec.new_walk}, seed="11", ticks=120)
    assert [price for _, price, _ in plain] != live
    assert min(live) <= live[0] * Decimal("0.9")


def test_the_command_trades_a_scenario_and_says_so() -> None:
    args = ("investor", "--ticks", "200", "--seeds", "1-2", "--symbols", "META")
    crash = backtest_output(*args, "--scenario", "crash")
    assert "under the scenario crash" in crash.splitlines()[0]
    assert backtest_output(*args, "--scenario", "crash", "--json") != backtest_output(*args, "--json")
    assert backtest_output(*args, "--scenario", "default") == backtest_output(*args)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scenario", "meltdown"], "unknown scenario 'meltdown'"),
        (["--scenario", "crash", "--replay", "session.jsonl"], "recorded prices"),
    ],
)
def test_a_wrong_scenario_is_refused(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("backtest", "investor", *args, "--no-progress", stdout=io.StringIO())
