"""The tick: the wire format shared by the sources (which emit it) and the market
(which consumes and re-broadcasts it). Pure logic, no Django."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


def format_money(value: Decimal) -> str:
    """Money and prices on the wire: a decimal string with two places."""
    return str(value.quantize(CENT))


def format_ts(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``; microseconds so latency can be measured."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class MalformedTick(ValueError):
    """A tick event whose data is not ``{"symbol","price","seq","ts"}``."""


@dataclass(frozen=True)
class Tick:
    """One price from one source; ``seq`` counts from 1, consecutive per source."""

    symbol: str
    price: Decimal
    seq: int
    ts: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "symbol": self.symbol,
            "price": format_money(self.price),
            "seq": self.seq,
            "ts": format_ts(self.ts),
        }

    @classmethod
    def from_json(cls, data: Any) -> Tick:
        try:
            symbol, price, seq, ts = data["symbol"], data["price"], data["seq"], data["ts"]
            if not isinstance(symbol, str) or not isinstance(seq, int) or isinstance(seq, bool):
                raise TypeError("symbol must be a string and seq an integer")
            value = Decimal(str(price))
            if not value.is_finite() or value <= 0 or seq < 1:
                raise ValueError("price must be positive and seq at least 1")
            return cls(symbol=symbol, price=value.quantize(CENT), seq=seq, ts=parse_ts(ts))
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise MalformedTick(f"malformed tick {data!r}: {exc}") from exc
