"""The README's example strategy is real code: it loads by its path and trades in a backtest."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from bots.backtest import price_path, simulate
from bots.strategies import load_strategy
from sources.catalog import source_specs

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLE = re.compile(r"```python\n# mybots/momentum\.py\n(.*?)```", re.DOTALL)


@pytest.fixture
def example_package(tmp_path: Path) -> Iterator[Path]:
    match = EXAMPLE.search(README.read_text())
    assert match, "the README's example strategy (# mybots/momentum.py) is missing"
    package = tmp_path / "mybots"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "momentum.py").write_text(match.group(1))
    sys.path.insert(0, str(tmp_path))
    try:
        yield package
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name == "mybots" or name.startswith("mybots.")]:
            del sys.modules[name]


@pytest.mark.usefixtures("example_package")
def test_the_readme_example_strategy_loads_by_its_path_and_trades() -> None:
    momentum = load_strategy("mybots.momentum:Momentum")(quantity=1)
    walks = {symbol: spec.new_walk for symbol, spec in source_specs().items()}
    result = simulate(momentum, price_path(walks, seed="1", ticks=300), cash=Decimal("100000.00"))
    assert result.buys > 0
    assert result.sells > 0
