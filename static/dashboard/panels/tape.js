/*
 * The trades tape: the newest trades first, and the page's record of the
 * trades it knows (deduplicated by id, bounded in number), which the charts
 * place their markers from.
 */

import { accountCell, clockFormat, element, money, whole } from "../format.js";

const TAPE_ROWS = 60;
const TRADES_KEPT = 2000;

/** The house's account name on the tape. */
export const HOUSE = "exchange";

/**
 * Whose trade the page shows it as: the account that is not the house, or, when two
 * accounts met, the one whose order took the other's (the taker).
 */
export function actor(trade) {
  if (trade.seller === HOUSE) return { account: trade.buyer, side: "buy" };
  if (trade.buyer === HOUSE) return { account: trade.seller, side: "sell" };
  return trade.taker_side === "buy"
    ? { account: trade.buyer, side: "buy" }
    : { account: trade.seller, side: "sell" };
}

export class Tape {
  /** `root`: the tape's `<table>`; `empty`: the line shown once loaded while there are no trades. */
  constructor(root, empty) {
    this.body = root.querySelector("tbody");
    this.empty = empty;
    this.loaded = false;
    this.trades = new Map();
    // Trades below this id were let go to bound memory on a page left open
    // for days; one arriving again is a repeat, not news.
    this.oldestKept = 0;
  }

  /** Record a trade; false when it was seen before. A trade from the stream is highlighted once. */
  add(trade, { fromSnapshot = false } = {}) {
    if (this.trades.has(trade.id) || trade.id < this.oldestKept) return false;
    Object.assign(trade, actor(trade));
    this.trades.set(trade.id, trade);
    if (this.trades.size > TRADES_KEPT * 1.25) this.forgetOld();
    if (!fromSnapshot) trade.fresh = true;
    return true;
  }

  forgetOld() {
    const ids = Array.from(this.trades.keys()).sort((a, b) => a - b);
    this.oldestKept = ids[ids.length - TRADES_KEPT];
    for (const id of ids) {
      if (id >= this.oldestKept) break;
      this.trades.delete(id);
    }
  }

  /** The known trades of one asset, oldest first. */
  tradesOf(symbol) {
    return Array.from(this.trades.values())
      .filter((t) => t.symbol === symbol)
      .sort((a, b) => a.id - b.id);
  }

  /** The trading account, and the account on the other side when two accounts met. */
  accountsCell(trade) {
    const cell = accountCell(trade.account);
    const other = trade.side === "buy" ? trade.seller : trade.buyer;
    if (other !== HOUSE) {
      cell.append(element("span", "muted small", trade.side === "buy" ? " from " : " to "));
      cell.append(element("span", "account-name counterparty", other));
    }
    return cell;
  }

  render() {
    const newest = Array.from(this.trades.values())
      .sort((a, b) => b.id - a.id)
      .slice(0, TAPE_ROWS);
    this.empty.hidden = !this.loaded || newest.length > 0;
    this.body.replaceChildren(
      ...newest.map((trade) => {
        const row = element("tr", trade.fresh ? "fresh" : "");
        trade.fresh = false;
        row.dataset.tradeId = trade.id;
        row.append(
          element("td", "num muted", clockFormat.format(new Date(trade.ts))),
          this.accountsCell(trade),
          element("td", `side ${trade.side === "buy" ? "up" : "down"}`, trade.side.toUpperCase()),
          element("td", "", trade.symbol),
          element("td", "num r", whole(trade.quantity)),
          element("td", "num r", money(Number(trade.price))),
        );
        return row;
      }),
    );
  }
}
