/*
 * The signed-in person's orders: the open ones (resting, or stops waiting),
 * each with a cancel button, and the fills of all of them, newest first.
 *
 * It keeps the newest state of every order it is told about, from the
 * snapshot or an `order` event of the private stream: an order event is the
 * whole order with all its fills, so a repeated or late event changes nothing.
 */

import { clockFormat, element, money, whole } from "../format.js";

const LIVE = new Set(["open", "partially_filled"]);
const FILLS_SHOWN = 50;
const ORDERS_KEPT = 500;

const TYPE_LABELS = { market: "market", limit: "limit", stop: "stop", stop_limit: "stop limit" };

/** How an order's price reads: "limit 100.00", "stop 90.00 → 89.50", "market". */
function priceText(order) {
  if (order.type === "limit") return money(Number(order.limit_price));
  if (order.type === "stop") return `stop ${money(Number(order.stop_price))}`;
  if (order.type === "stop_limit") return `${money(Number(order.stop_price))} \u2192 ${money(Number(order.limit_price))}`;
  return "market";
}

export class MyOrders {
  /**
   * `openRoot`, `fillsRoot`: the two tables; `openEmpty`, `fillsEmpty`: their
   * empty lines; `cancel(id)`: resolves with the canceled order or throws the
   * exchange's refusal; `onError(message)`: shows a refusal.
   */
  constructor({ openRoot, openEmpty, fillsRoot, fillsEmpty, cancel, onError }) {
    this.openBody = openRoot.querySelector("tbody");
    this.openEmpty = openEmpty;
    this.fillsBody = fillsRoot.querySelector("tbody");
    this.fillsEmpty = fillsEmpty;
    this.cancel = cancel;
    this.onError = onError;
    this.orders = new Map();
    this.loaded = false;
    openRoot.addEventListener("click", (event) => this.onClick(event));
  }

  /** Record an order's state; false when what we have is as new. */
  add(order) {
    const known = this.orders.get(order.id);
    if (known && known.updated_at > order.updated_at) return false;
    if (known && known.updated_at === order.updated_at && known.status === order.status && known.filled_quantity === order.filled_quantity)
      return false;
    this.orders.set(order.id, order);
    if (this.orders.size > ORDERS_KEPT) this.forgetClosed();
    return true;
  }

  replaceAll(orders) {
    for (const order of orders) this.add(order);
    this.loaded = true;
  }

  forgetClosed() {
    const closed = Array.from(this.orders.values())
      .filter((order) => !LIVE.has(order.status))
      .sort((a, b) => a.id - b.id);
    for (const order of closed.slice(0, this.orders.size - ORDERS_KEPT)) this.orders.delete(order.id);
  }

  open() {
    return Array.from(this.orders.values())
      .filter((order) => LIVE.has(order.status))
      .sort((a, b) => b.id - a.id);
  }

  /** Every fill of the known orders, newest first, each with its order's symbol and side. */
  fills() {
    return Array.from(this.orders.values())
      .flatMap((order) => order.fills.map((fill) => ({ ...fill, order: order.id, symbol: order.symbol, side: order.side })))
      .sort((a, b) => b.trade_id - a.trade_id);
  }

  async onClick(event) {
    const button = event.target.closest("button[data-cancel]");
    if (!button) return;
    button.disabled = true;
    button.textContent = "Canceling\u2026";
    try {
      const order = await this.cancel(Number(button.dataset.cancel));
      // The stream reports it too; whichever comes first shows it.
      if (this.add(order)) this.render();
    } catch (error) {
      button.disabled = false;
      button.textContent = "Cancel";
      this.onError(error.message);
    }
  }

  render() {
    const open = this.open();
    this.openEmpty.hidden = !this.loaded || open.length > 0;
    this.openBody.replaceChildren(
      ...open.map((order) => {
        const row = element("tr");
        row.dataset.orderId = order.id;
        row.dataset.status = order.status;
        const cancel = element("button", "link-button cancel", "Cancel");
        cancel.type = "button";
        cancel.dataset.cancel = order.id;
        cancel.setAttribute("aria-label", `Cancel order ${order.id}`);
        const action = element("td", "r");
        action.append(cancel);
        row.append(
          element("td", `side ${order.side === "buy" ? "up" : "down"}`, order.side.toUpperCase()),
          element("td", "", order.symbol),
          element("td", "muted", TYPE_LABELS[order.type]),
          element("td", "num r", `${whole(order.filled_quantity)}/${whole(order.quantity)}`),
          element("td", "num r", priceText(order)),
          action,
        );
        return row;
      }),
    );
    const fills = this.fills().slice(0, FILLS_SHOWN);
    this.fillsEmpty.hidden = !this.loaded || fills.length > 0;
    this.fillsBody.replaceChildren(
      ...fills.map((fill) => {
        const row = element("tr");
        row.dataset.tradeId = fill.trade_id;
        row.dataset.orderId = fill.order;
        row.append(
          element("td", "num muted", clockFormat.format(new Date(fill.ts))),
          element("td", `side ${fill.side === "buy" ? "up" : "down"}`, fill.side.toUpperCase()),
          element("td", "", fill.symbol),
          element("td", "num r", whole(fill.quantity)),
          element("td", "num r", money(Number(fill.price))),
          element("td", "muted small", fill.liquidity),
        );
        return row;
      }),
    );
  }
}
