/*
 * The book of one asset, beside its chart: the accounts' resting orders as a
 * price ladder (asks above, bids below, best prices nearest the middle, a bar
 * for the units at each price) and, between them, the house's quote.
 *
 * The levels come from `/api/book/<SYMBOL>` on load and from each `book`
 * event after (the exchange sends one after a tick that changed them); the
 * house's quote follows every price from the spread the book reports.
 */

import { element, money, whole } from "../format.js";

export const BOOK_DEPTH = 10;
const ROWS_PER_SIDE = 6;

/** The house's quote around a source price, in cents: bid rounded down, ask rounded up (the exchange's rule). */
export function houseQuote(price, spreadBps) {
  const cents = Math.round(Number(price) * 100);
  const bid = Math.floor((cents * (20000 - spreadBps)) / 20000);
  const ask = Math.ceil((cents * (20000 + spreadBps)) / 20000);
  return { bid: bid / 100, ask: ask / 100 };
}

export class BookLadder {
  /** `root`: the asset's `.book` element. */
  constructor(root, symbol) {
    this.root = root;
    this.symbol = symbol;
    this.asksEl = root.querySelector(".book-asks");
    this.bidsEl = root.querySelector(".book-bids");
    this.houseEl = root.querySelector(".book-house");
    this.bids = [];
    this.asks = [];
    this.spreadBps = 0;
    this.sourcePrice = null;
    // Book events of ticks at or before the snapshot are older than it: a
    // replay from the stream's cursor must not take the ladder back.
    this.seq = 0;
    this.dirty = true;
  }

  /** The `/api/book` snapshot, read after the price history up to `seq`. */
  applySnapshot(book, seq) {
    this.bids = book.bids;
    this.asks = book.asks;
    this.spreadBps = book.house.spread_bps || 0;
    if (book.source_price !== null) this.sourcePrice = Number(book.source_price);
    this.seq = Math.max(this.seq, seq || 0);
    this.dirty = true;
  }

  /** A `book` event: the levels after tick `seq`. */
  update(book) {
    if (book.seq <= this.seq) return;
    this.seq = book.seq;
    this.bids = book.bids;
    this.asks = book.asks;
    this.dirty = true;
  }

  setPrice(price) {
    if (this.sourcePrice === price) return;
    this.sourcePrice = price;
    this.dirty = true;
  }

  /** Units resting at a price on one side (0 when none): for the tests and the console. */
  levels() {
    return { bids: this.bids.map((level) => ({ ...level })), asks: this.asks.map((level) => ({ ...level })) };
  }

  render() {
    if (!this.dirty) return;
    this.dirty = false;
    const asks = this.asks.slice(0, ROWS_PER_SIDE);
    const bids = this.bids.slice(0, ROWS_PER_SIDE);
    const largest = Math.max(1, ...asks.map((l) => l.quantity), ...bids.map((l) => l.quantity));
    const row = (side, level) => {
      const line = element("li", `level ${side}`);
      line.dataset.side = side;
      line.dataset.price = level.price;
      line.title = `${whole(level.quantity)} ${this.symbol} at ${money(Number(level.price))} in ${level.orders} order${
        level.orders === 1 ? "" : "s"
      }`;
      const bar = element("span", "depth-bar");
      bar.style.width = `${Math.round((level.quantity / largest) * 100)}%`;
      line.append(bar, element("span", "num level-price", money(Number(level.price))), element("span", "num", whole(level.quantity)));
      return line;
    };
    // Asks read downwards to the best one, so the best prices meet in the middle.
    this.asksEl.replaceChildren(...asks.slice().reverse().map((level) => row("ask", level)));
    this.bidsEl.replaceChildren(...bids.map((level) => row("bid", level)));
    if (!asks.length) this.asksEl.append(element("li", "level-empty muted", "no asks"));
    if (!bids.length) this.bidsEl.append(element("li", "level-empty muted", "no bids"));
    if (this.sourcePrice === null) {
      this.houseEl.textContent = "\u2014";
    } else {
      const quote = houseQuote(this.sourcePrice, this.spreadBps);
      this.houseEl.textContent =
        quote.bid === quote.ask ? `house ${money(quote.bid)}` : `house ${money(quote.bid)} \u00d7 ${money(quote.ask)}`;
      this.houseEl.title = "The house's quote: it buys at the first price and sells at the second, every tick";
    }
  }
}
