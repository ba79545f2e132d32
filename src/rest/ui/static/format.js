/** How the console writes values: short, and never a whole account id. */

/**
 * "DU1234567" → "DU•••567": enough to tell accounts apart on one screen, not enough to copy one.
 * @param {string} account
 */
export function maskAccount(account) {
  if (account === "") return "";
  if (account.length <= 5) return "•••";
  return `${account.slice(0, 2)}•••${account.slice(-3)}`;
}

/**
 * A proto Duration in canonical JSON ("3.878s") → seconds, or undefined.
 * @param {string | undefined} text
 */
export function durationSeconds(text) {
  const match = /^(-?\d+(?:\.\d+)?)s$/.exec(text ?? "");
  return match === null ? undefined : Number(match[1]);
}

/**
 * 93784 → "1 d 02:03:04", 125 → "2 m 05 s", 4.2 → "4 s".
 * @param {number} seconds
 */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (/** @type {number} */ n) => String(n).padStart(2, "0");
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3_600);
  const minutes = Math.floor((s % 3_600) / 60);
  const secs = s % 60;
  if (days > 0) return `${days} d ${pad(hours)}:${pad(minutes)}:${pad(secs)}`;
  if (hours > 0) return `${hours} h ${pad(minutes)} m`;
  if (minutes > 0) return `${minutes} m ${pad(secs)} s`;
  return `${secs} s`;
}

/**
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * An RFC 3339 time → "17:23:35" UTC (the service's clock, whatever the browser's zone).
 * @param {string | undefined} iso
 */
export function clockTime(iso) {
  if (iso === undefined || iso === "") return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "—" : date.toISOString().slice(11, 19);
}

/**
 * "SUBSCRIPTION_KIND_ORDER_BOOK" → "order book", "CONNECTION_STATE_CONNECTED" → "connected".
 * @param {string} value
 * @param {string} prefix
 */
export function enumLabel(value, prefix) {
  return (value.startsWith(prefix) ? value.slice(prefix.length) : value).toLowerCase().replaceAll("_", " ");
}
