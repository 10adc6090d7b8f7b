/*
 * The trade panel of a logged-in person: the order form (type, limit and stop
 * prices, time in force, an estimate, the exchange's answer or refusal) and
 * the person's own cash, equity, P&L and holdings. Orders go to the
 * dashboard's session-authenticated endpoint with the page's CSRF token and a
 * fresh idempotency key.
 */

import { holdingsText, money, signedMoney, trend, whole } from "../format.js";

function randomKey() {
  // crypto.getRandomValues works outside secure contexts too (plain http on a LAN).
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export class OrderForm {
  /**
   * `form`: the order `<form>`; `mine`: the person's figures (`<dl>`);
   * `url`: where orders are posted; `latestPrice(symbol)`: a price or null;
   * `onOrder(order)`: the exchange accepted an order from this form (its trades arrive on the stream).
   */
  constructor(form, mine, { url, latestPrice, onOrder }) {
    this.form = form;
    this.mine = mine;
    this.url = url;
    this.latestPrice = latestPrice;
    this.onOrder = onOrder;
    this.estimate = form.querySelector("[data-testid=order-estimate]");
    this.result = form.querySelector("[data-testid=order-result]");
    this.buttons = form.querySelectorAll("button[type=submit]");
    form.addEventListener("input", () => this.updateEstimate());
    form.addEventListener("change", () => {
      this.showPriceFields();
      this.updateEstimate();
    });
    form.addEventListener("submit", (event) => this.submit(event));
    this.showPriceFields();
  }

  /** Only the prices the chosen type needs; a market order never rests, so it has no time in force. */
  showPriceFields() {
    const type = this.form.elements.type.value;
    const needs = { limit_price: type === "limit" || type === "stop_limit", stop_price: type.startsWith("stop") };
    for (const [name, shown] of Object.entries(needs)) {
      const input = this.form.elements[name];
      input.closest(".field").hidden = !shown;
      input.disabled = !shown;
    }
    const tif = this.form.elements.time_in_force;
    tif.closest(".field").hidden = type === "market";
    tif.disabled = type === "market";
  }

  updateEstimate() {
    const data = new FormData(this.form);
    const quantity = Number(data.get("quantity"));
    const limit = Number(data.get("limit_price") || NaN);
    const price = Number.isFinite(limit) && limit > 0 ? limit : this.latestPrice(data.get("symbol"));
    this.estimate.textContent =
      price !== null && Number.isInteger(quantity) && quantity > 0
        ? `\u2248 ${money(price * quantity)} at ${money(price)}`
        : "";
  }

  async submit(event) {
    event.preventDefault();
    const { form, result, buttons } = this;
    const side = event.submitter ? event.submitter.value : "buy";
    const body = new FormData(form);
    body.set("side", side);
    body.set("idempotency_key", randomKey());
    buttons.forEach((button) => (button.disabled = true));
    result.textContent = "Sending\u2026";
    result.dataset.state = "pending";
    try {
      const response = await fetch(this.url, {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRFToken": body.get("csrfmiddlewaretoken") },
        credentials: "same-origin",
      });
      const isJSON = (response.headers.get("Content-Type") || "").includes("application/json");
      const data = isJSON ? await response.json() : null;
      if (response.ok && data) {
        this.onOrder(data);
        result.dataset.state = "ok";
        result.textContent = data.filled_quantity
          ? `${data.side === "buy" ? "Bought" : "Sold"} ${whole(data.filled_quantity)} ${
              data.symbol
            } at ${money(Number(data.average_price))}`
          : `Order #${data.id} is ${data.status.replace("_", " ")}`;
        if (data.filled_quantity && data.filled_quantity < data.quantity && data.status !== "canceled")
          result.textContent += `; ${whole(data.quantity - data.filled_quantity)} rest in the book`;
      } else {
        result.dataset.state = "error";
        result.textContent =
          data && data.error
            ? data.error.message
            : response.status === 403
              ? "Your session has expired: reload the page and log in again."
              : `The exchange answered HTTP ${response.status}.`;
      }
    } catch (error) {
      result.dataset.state = "error";
      result.textContent = "The exchange is not reachable. Try again in a moment.";
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
  }

  /**
   * The person's own figures (nothing changes while they are unknown):
   * `cash`, `available_cash` (strings), `positions`, `equity`, `pnl` (numbers).
   */
  showAccount(me) {
    if (!this.mine || !me) return;
    this.mine.querySelector("[data-field=cash]").textContent = money(Number(me.cash));
    this.mine.querySelector("[data-field=available]").textContent = money(Number(me.available_cash));
    this.mine.querySelector("[data-field=equity]").textContent = money(me.equity);
    const pnl = this.mine.querySelector("[data-field=pnl]");
    pnl.textContent = signedMoney(me.pnl);
    pnl.dataset.trend = trend(me.pnl);
    this.mine.querySelector("[data-field=holdings]").textContent = holdingsText(me.positions);
  }
}
