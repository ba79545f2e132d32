/**
 * The samples of /api/metrics (Prometheus text format 0.0.4): enough of it for the console's overview,
 * which shows what the service measures and nothing it would have to guess.
 */

/**
 * @typedef {{ name: string, labels: Record<string, string>, value: number }} Sample
 */

/**
 * @param {string} text
 * @returns {Sample[]}
 */
export function parseMetrics(text) {
  /** @type {Sample[]} */
  const samples = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match === null) continue;
    /** @type {Record<string, string>} */
    const labels = {};
    for (const label of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label[1]] = label[2].replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    }
    const raw = match[3];
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    samples.push({ name: match[1], labels, value });
  }
  return samples;
}

/**
 * The samples of one metric, optionally only those whose labels match.
 * @param {Sample[]} samples
 * @param {string} name
 * @param {Record<string, string>} [match]
 */
export function samplesOf(samples, name, match = {}) {
  return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v));
}

/**
 * One metric summed, or undefined when the service does not export it (never shown as 0).
 * @param {Sample[]} samples
 * @param {string} name
 * @param {Record<string, string>} [match]
 */
export function total(samples, name, match) {
  const found = samplesOf(samples, name, match);
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

/**
 * One metric summed by the value of a label, in first-seen order.
 * @param {Sample[]} samples
 * @param {string} name
 * @param {string} label
 * @returns {Map<string, number>}
 */
export function totalsBy(samples, name, label) {
  /** @type {Map<string, number>} */
  const out = new Map();
  for (const s of samplesOf(samples, name)) {
    const key = s.labels[label] ?? "";
    out.set(key, (out.get(key) ?? 0) + s.value);
  }
  return out;
}
