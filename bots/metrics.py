"""Summaries of backtest runs per strategy, and the table ``manage.py backtest`` prints.

Pure logic, no Django and no I/O. All arithmetic is ``Decimal`` so the same
runs always print the same digits.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from bots.backtest import CENT, RunResult, money


@dataclass(frozen=True)
class Summary:
    """One strategy over many seeds."""

    strategy: str
    runs: int
    mean_equity: Decimal
    mean_pnl: Decimal
    stdev_pnl: Decimal
    min_pnl: Decimal
    max_pnl: Decimal
    in_profit: int
    mean_return_pct: Decimal
    mean_drawdown_pct: Decimal
    worst_drawdown_pct: Decimal
    mean_trades: Decimal
    win_rate: Decimal | None
    mean_fees: Decimal = Decimal("0.00")
    maker_share: Decimal | None = None
    fill_ratio: Decimal | None = None

    @property
    def in_profit_pct(self) -> Decimal:
        return (Decimal(self.in_profit) * 100 / self.runs).quantize(Decimal("0.1"))


def summarize(results: Sequence[RunResult]) -> list[Summary]:
    """One ``Summary`` per strategy, in the order the strategies first appear."""
    by_strategy: dict[str, list[RunResult]] = {}
    for result in results:
        by_strategy.setdefault(result.strategy, []).append(result)
    summaries = []
    for name, runs in by_strategy.items():
        pnls = [run.pnl for run in runs]
        sells = sum(run.sells for run in runs)
        summaries.append(
            Summary(
                strategy=name,
                runs=len(runs),
                mean_equity=statistics.mean(run.final_equity for run in runs).quantize(CENT),
                mean_pnl=statistics.mean(pnls).quantize(CENT),
                stdev_pnl=(statistics.stdev(pnls) if len(pnls) > 1 else Decimal(0)).quantize(CENT),
                min_pnl=min(pnls),
                max_pnl=max(pnls),
                in_profit=sum(1 for pnl in pnls if pnl > 0),
                mean_return_pct=statistics.mean(run.return_pct for run in runs).quantize(CENT),
                mean_drawdown_pct=statistics.mean(run.max_drawdown_pct for run in runs).quantize(CENT),
                worst_drawdown_pct=max(run.max_drawdown_pct for run in runs),
                mean_trades=statistics.mean(Decimal(run.trades) for run in runs).quantize(Decimal("0.1")),
                win_rate=(
                    (Decimal(sum(run.wins for run in runs)) * 100 / sells).quantize(Decimal("0.1"))
                    if sells
                    else None
                ),
                mean_fees=statistics.mean(run.fees for run in runs).quantize(CENT),
                maker_share=_share(sum(r.maker_units for r in runs), sum(r.filled_units for r in runs)),
                fill_ratio=_share(sum(r.filled_units for r in runs), sum(r.placed_units for r in runs)),
            )
        )
    return summaries


def _share(part: int, whole: int) -> Decimal | None:
    """``part`` of ``whole`` in percent, one place; None for nothing."""
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(Decimal("0.1"))


COLUMNS = (
    "strategy",
    "seeds",
    "mean equity",
    "mean P&L",
    "stdev P&L",
    "min P&L",
    "max P&L",
    "in profit",
    "mean return",
    "mean max DD",
    "worst DD",
    "trades/seed",
    "win rate",
    "fees/seed",
    "maker",
    "fill ratio",
)


def summary_row(summary: Summary) -> list[str]:
    return [
        summary.strategy,
        str(summary.runs),
        money(summary.mean_equity),
        money(summary.mean_pnl),
        money(summary.stdev_pnl),
        money(summary.min_pnl),
        money(summary.max_pnl),
        f"{summary.in_profit_pct}%",
        f"{summary.mean_return_pct}%",
        f"{summary.mean_drawdown_pct}%",
        f"{summary.worst_drawdown_pct}%",
        str(summary.mean_trades),
        "-" if summary.win_rate is None else f"{summary.win_rate}%",
        money(summary.mean_fees),
        "-" if summary.maker_share is None else f"{summary.maker_share}%",
        "-" if summary.fill_ratio is None else f"{summary.fill_ratio}%",
    ]


def render_table(summaries: Sequence[Summary]) -> str:
    """A plain-text table, numbers right-aligned, one line per strategy."""
    rows = [list(COLUMNS), *(summary_row(summary) for summary in summaries)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = []
    for n, row in enumerate(rows):
        cells = [cell.ljust(widths[0]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)
