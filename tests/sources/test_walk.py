from decimal import Decimal

import pytest

from sources.walk import RandomWalk, WalkParams, seeded_rng


def walk(seed: object = 1, **kwargs: object) -> RandomWalk:
    params = {"price": Decimal("100.00"), "rng": seeded_rng(seed, "T"), **kwargs}  # type: ignore[dict-item]
    return RandomWalk(**params)  # type: ignore[arg-type]


def test_it_gives_the_same_path_for_the_same_seed() -> None:
    assert walk(42).prices(2000) == walk(42).prices(2000)


def test_it_gives_a_different_path_per_seed_and_per_symbol() -> None:
    assert walk(1).prices(200) != walk(2).prices(200)
    other = RandomWalk(price=Decimal("100.00"), rng=seeded_rng(1, "U"))
    assert walk(1).prices(200) != other.prices(200)


def test_it_moves_in_whole_steps_between_zero_and_max_step() -> None:
    w = walk(3, max_step=4)
    previous = w.price
    for price in w.prices(5000):
        step = abs(price - previous)
        assert step == step.to_integral_value()
        assert 0 <= step <= 4
        previous = price


def test_it_first_moves_downward() -> None:
    # Direction +1 subtracts: the first non-zero move of every seed is a fall,
    # unless a reversal came first, which with probability 0 never does.
    for seed in range(50):
        w = walk(seed, reversal_probability=0.0)
        moves = [p for p in w.prices(5) if p != Decimal("100.00")]
        assert moves
        assert moves[0] < Decimal("100.00")


def test_it_never_reaches_zero_even_when_it_falls_for_long() -> None:
    w = RandomWalk(price=Decimal("5.00"), max_step=10, reversal_probability=0.0, rng=seeded_rng(9, "T"))
    prices = w.prices(20_000)
    assert min(prices) >= Decimal("1.00")


def test_it_bounces_off_the_floor() -> None:
    w = RandomWalk(
        price=Decimal("3.00"),
        max_step=10,
        reversal_probability=0.0,
        floor=Decimal("2.00"),
        rng=seeded_rng(1, "T"),
    )
    prices = w.prices(500)
    assert min(prices) >= Decimal("2.00")
    assert max(prices) > Decimal("3.00")


def test_it_reverses_about_fifteen_percent_of_the_time() -> None:
    w = walk(11, price=Decimal("1000000.00"))
    reversals = 0
    ticks = 100_000
    for _ in range(ticks):
        before = w.direction
        w.step()
        reversals += w.direction != before
    assert 0.14 < reversals / ticks < 0.16


def test_it_keeps_two_decimal_places() -> None:
    w = RandomWalk(price=Decimal("64210.5"), rng=seeded_rng(1, "T"))
    assert all(p.as_tuple().exponent == -2 for p in w.prices(100))


def test_a_restored_snapshot_continues_the_exact_path() -> None:
    original = walk(5)
    original.prices(37)
    state = original.snapshot()
    expected = original.prices(100)
    resumed = walk(999)
    resumed.restore(state)
    assert resumed.prices(100) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"price": Decimal("0.50")},
        {"max_step": -1},
        {"reversal_probability": 1.5},
        {"direction": 0},
    ],
)
def test_it_refuses_impossible_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        walk(**kwargs)


def test_the_default_walk_is_the_seeds_absolute_walk_unchanged() -> None:
    # The first prices of seed 7's META, as the first stage's walk made them.
    w = RandomWalk(price=Decimal("500.00"), rng=seeded_rng("7", "META"))
    assert [str(p) for p in w.prices(12)] == [
        "497.00", "487.00", "479.00", "488.00", "496.00", "496.00",
        "491.00", "490.00", "483.00", "481.00", "471.00", "467.00",
    ]  # fmt: skip
    w = RandomWalk(price=Decimal("500.00"), rng=seeded_rng("7", "META"))
    assert w.prices(1000)[-1] == Decimal("857.00")


def test_relative_steps_move_every_asset_by_the_same_share_of_its_price() -> None:
    for price in ("30000.00", "500.00"):
        w = RandomWalk(price=Decimal(price), relative=True, max_step_bps=20, rng=seeded_rng(5, "T"))
        previous, shares = w.price, []
        for current in w.prices(2000):
            # Up to 0.2% of the price a step, and half a cent of rounding.
            assert abs(current - previous) <= previous * Decimal("0.002") + Decimal("0.005")
            shares.append(abs(current - previous) / previous)
            previous = current
        assert max(shares) > Decimal("0.0018")


def test_a_relative_walk_does_not_lose_99_percent_where_the_absolute_one_could() -> None:
    w = RandomWalk(price=Decimal("500.00"), relative=True, max_step_bps=10, rng=seeded_rng(1, "META"))
    # 1,500 ticks: 25 minutes at one a second.
    assert min(w.prices(1500)) > Decimal("250.00")


def test_a_drift_moves_the_price_its_way_at_every_step_when_it_exceeds_the_noise() -> None:
    w = RandomWalk(price=Decimal("1000.00"), rng=seeded_rng(2, "T"))
    params = WalkParams(relative=True, max_step_bps=10, drift_bps=-30)
    prices = [w.step(params) for _ in range(50)]
    assert all(later < earlier for earlier, later in zip([Decimal("1000.00"), *prices], prices, strict=False))


def test_both_step_modes_draw_the_same_numbers_so_the_generator_stays_in_step() -> None:
    a = RandomWalk(price=Decimal("100.00"), rng=seeded_rng(3, "T"))
    b = RandomWalk(price=Decimal("100.00"), rng=seeded_rng(3, "T"))
    a.prices(10)
    for _ in range(10):
        b.step(WalkParams(relative=True, max_step_bps=50))
    assert a.rng.getstate() == b.rng.getstate()


def test_walk_params_refuse_impossible_values() -> None:
    with pytest.raises(ValueError, match="negative"):
        WalkParams(max_step_bps=-1)
    with pytest.raises(ValueError, match="drift"):
        WalkParams(drift_bps=10_000)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"price": Decimal("3.00"), "floor": Decimal("1.00"), "max_step": 4},  # bounces off the floor
        {"price": Decimal("1.00"), "floor": Decimal("1.00"), "max_step": 0},
        {"price": Decimal("30000.00"), "max_step": 37, "reversal_probability": 0.5, "direction": -1},
        {"reversal_probability": 0.0},
        {"reversal_probability": 1.0},
    ],
)
def test_prices_are_exactly_the_steps_one_at_a_time(kwargs: dict[str, object]) -> None:
    for seed in range(5):
        batch, single = walk(seed, **kwargs), walk(seed, **kwargs)
        prices = batch.prices(3000)
        steps = [single.step() for _ in range(3000)]
        assert [repr(p) for p in prices] == [repr(p) for p in steps]
        assert (batch.price, batch.direction) == (single.price, single.direction)
        assert batch.rng.getstate() == single.rng.getstate()
        # And they go on alike from there.
        assert batch.prices(10) == [single.step() for _ in range(10)]
