/*
 * The exchange's HTTP endpoints as the page reads them: the public REST API
 * (JSON over GET, one method per resource), and the signed-in person's own
 * endpoints under /trade/, which use the session and, for every change,
 * Django's CSRF token (see dashboard/views.py).
 */

/** An answer that is not 2xx: its status and the exchange's error code and message, when it sent them. */
export class HttpError extends Error {
  constructor(url, status, error) {
    super(error ? error.message : `${url}: HTTP ${status}`);
    this.status = status;
    this.code = error ? error.code : null;
  }
}

async function readJson(url, response) {
  const isJSON = (response.headers.get("Content-Type") || "").includes("application/json");
  const data = isJSON ? await response.json() : null;
  if (!response.ok) throw new HttpError(url, response.status, data && data.error);
  return data;
}

export class ExchangeApi {
  /** `base` is the API's root path, ending in a slash (`config.urls.api`). */
  constructor(base) {
    this.base = base;
  }

  async get(path) {
    const url = `${this.base}${path}`;
    return readJson(url, await fetch(url, { headers: { Accept: "application/json" } }));
  }

  /** The latest trades, newest first, and the market stream's cursor at that moment. */
  trades(limit) {
    return this.get(`trades?limit=${limit}`);
  }

  history(symbol, limit) {
    return this.get(`prices/${encodeURIComponent(symbol)}/history?limit=${limit}`);
  }

  accounts() {
    return this.get("accounts");
  }

  /** One asset's book: the accounts' levels, the house's quote and spread. */
  book(symbol, depth) {
    return this.get(`book/${encodeURIComponent(symbol)}?depth=${depth}`);
  }
}

/** The signed-in person's endpoints (`config.urls`), with the page's CSRF token for changes. */
export class PersonApi {
  constructor(urls, csrfToken) {
    this.urls = urls;
    this.csrfToken = csrfToken;
  }

  async get(url) {
    return readJson(url, await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }));
  }

  async post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      body,
      headers: { Accept: "application/json", "X-CSRFToken": this.csrfToken },
      credentials: "same-origin",
    });
    return readJson(url, response);
  }

  /** The account with what open orders leave available, and the private stream's cursor. */
  account() {
    return this.get(this.urls.account);
  }

  /** The person's orders, newest first: `open`, `closed` or `all`. */
  orders(status) {
    return this.get(`${this.urls.orders}?status=${status}`);
  }

  equityHistory(limit) {
    return this.get(`${this.urls.history}?limit=${limit}`);
  }

  cancel(orderId) {
    return this.post(`${this.urls.orders}/${encodeURIComponent(orderId)}/cancel`);
  }

  /** A new API token for the person's account (the old one stops working); shown once. */
  rotateToken() {
    return this.post(this.urls.token);
  }
}
