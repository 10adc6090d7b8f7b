/*
 * How values look on the page: money, quantities, signs and trends, clock
 * times, the colour of each account, and the small element builder every
 * panel draws its rows with. Nothing here touches the network or page state.
 */

const moneyFormat = new Intl.NumberFormat("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const wholeFormat = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
export const clockFormat = new Intl.DateTimeFormat("en-GB", {
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

export const money = (value) => moneyFormat.format(value);
export const whole = (value) => wholeFormat.format(value);
const sign = (value) => (value > 0 ? "+" : value < 0 ? "\u2212" : "");
export const signedMoney = (value) => sign(value) + moneyFormat.format(Math.abs(value));
export const signedPercent = (value) => sign(value) + moneyFormat.format(Math.abs(value)) + "%";
export const trend = (value) => (value > 0 ? "up" : value < 0 ? "down" : "flat");
/** An ISO timestamp as seconds since the epoch, the chart's time unit. */
export const seconds = (ts) => Date.parse(ts) / 1000;

// Distinct colours that are neither the up green nor the down red.
const PALETTE = ["#f0b90b", "#3b82f6", "#c084fc", "#22d3ee", "#fb923c", "#f472b6", "#e5e7eb", "#c08457"];
const accountColors = new Map();

function nameHash(name) {
  let hash = 2166136261;
  for (let i = 0; i < name.length; i += 1) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return hash;
}

/**
 * One colour per account, kept for the life of the page: the name's own
 * palette slot, or the next free one, so the accounts on screen differ.
 */
export function colorFor(name) {
  let color = accountColors.get(name);
  if (color === undefined) {
    const taken = new Set(accountColors.values());
    const start = nameHash(name) % PALETTE.length;
    color = PALETTE[start];
    for (let i = 0; i < PALETTE.length; i += 1) {
      const candidate = PALETTE[(start + i) % PALETTE.length];
      if (!taken.has(candidate)) {
        color = candidate;
        break;
      }
    }
    accountColors.set(name, color);
  }
  return color;
}

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** A table cell naming an account: its colour dot, its name, and "you" on the person's own. */
export function accountCell(name, isYou) {
  const cell = element("td", "account");
  const dot = element("span", "dot");
  dot.style.background = colorFor(name);
  cell.append(dot, element("span", "account-name", name));
  if (isYou) cell.append(element("span", "badge", "you"));
  return cell;
}

function heldPositions(positions) {
  return Object.entries(positions || {}).filter(([, quantity]) => quantity > 0);
}

/** Positions as one line of text ("2 BTC · 3 META"), a dash when there are none. */
export function holdingsText(positions) {
  const held = heldPositions(positions);
  return held.length ? held.map(([symbol, quantity]) => `${whole(quantity)} ${symbol}`).join(" · ") : "\u2014";
}

/** Positions as a table cell of chips, a dash when there are none. */
export function holdingsCell(positions) {
  const cell = element("td", "holdings");
  const held = heldPositions(positions);
  if (!held.length) cell.textContent = "\u2014";
  for (const [symbol, quantity] of held) {
    const chip = element("span", "holding");
    chip.append(element("b", "", whole(quantity)), document.createTextNode(` ${symbol}`));
    cell.append(chip);
  }
  return cell;
}
