import { card, facts, h } from "./dom.js";
import { PolledView } from "./polledView.js";
import { clockTime, durationSeconds, enumLabel, formatBytes, formatDuration, maskAccount } from "./format.js";
import { parseMetrics, samplesOf, total, totalsBy } from "./prometheusText.js";

const POLL_MS = 3_000;

/**
 * The IB line each kind of shared subscription holds, as the adapter charges them (src/ib/feeds/feedRegistry.ts;
 * docs/configuration.md#ib-lines-per-client): account updates hold none.
 * @type {Record<string, string | undefined>}
 */
const LINE_OF_KIND = { candle: "market data", tick: "market data", trade: "tick-by-tick", orderBook: "depth" };

/**
 * Which Gateway is live and what the service spends of IB's limits: GetRuntimeProof and /api/metrics,
 * shown as the service states them. What the service does not expose (e.g. IB's line limit itself) is not
 * shown rather than guessed.
 */
export class OverviewView extends PolledView {
  /**
   * @param {import("./api.js").ApiClient} api
   * @param {(text: string) => void} setConnection the header's one-line status
   */
  constructor(api, setConnection) {
    super(h("div", { class: "view overview", "data-view": "overview" }), POLL_MS);
    this.api = api;
    this.setConnection = setConnection;
  }

  /** @param {AbortSignal} signal */
  async refresh(signal) {
    const [proof, metrics] = await Promise.allSettled([
      this.api.json("/api/exchanges/runtime-proof", signal),
      this.api.text("/api/metrics", signal),
    ]);
    if (signal.aborted) return false;
    this.#render(proof, metrics);
    return true;
  }

  /**
   * @param {PromiseSettledResult<any>} proofResult
   * @param {PromiseSettledResult<string>} metricsResult
   */
  #render(proofResult, metricsResult) {
    if (proofResult.status === "rejected" && proofResult.reason?.name === "Unauthorized") return;
    const cards = [];
    if (proofResult.status === "fulfilled") {
      const proof = proofResult.value;
      const simulator = proof.gatewayMode === "GATEWAY_MODE_SIMULATOR";
      const mode = simulator ? "simulator" : proof.gatewayMode === "GATEWAY_MODE_REAL" ? "real Gateway" : "unknown";
      const state = enumLabel(proof.connectionState ?? "", "CONNECTION_STATE_");
      this.setConnection(`${mode} · ${state}`);
      cards.push(
        card(
          "Gateway",
          facts([
            ["mode", h("span", { class: simulator ? "badge sim" : "badge real" }, mode), "gateway-mode"],
            ["address", proof.gatewayAddress ?? "", "gateway-address"],
            ["state", state, "connection-state"],
            ["server version", String(proof.serverVersion ?? 0), "server-version"],
            ["account", `${maskAccount(proof.activeAccount ?? "")}${proof.isPaper ? " (paper)" : ""}`, "account"],
            ["client id", String(proof.clientId ?? 0)],
            ["connected since", clockTime(proof.connectedSince)],
            ["reconnects", String(proof.reconnectCount ?? 0)],
            ["service", `ib-provider ${proof.serviceVersion ?? ""}`],
            ["uptime", formatDuration(durationSeconds(proof.uptime) ?? 0), "uptime"],
          ]),
        ),
      );
      if (proof.lastError) cards.push(card("Last connection error", h("p", { class: "error", "data-field": "last-error" }, proof.lastError)));
    } else {
      this.setConnection("service unreachable");
      cards.push(card("Gateway", h("p", { class: "error" }, `runtime proof unavailable: ${proofResult.reason?.message ?? proofResult.reason}`)));
    }
    if (metricsResult.status === "fulfilled") cards.push(...metricCards(parseMetrics(metricsResult.value)));
    else cards.push(card("Metrics", h("p", { class: "error" }, `metrics unavailable: ${metricsResult.reason?.message ?? metricsResult.reason}`)));
    this.element.replaceChildren(h("div", { class: "cards" }, cards));
  }
}

/** @param {Map<string, number>} values @param {string} [field] */
function table(values, field) {
  if (values.size === 0) return h("p", { class: "muted" }, "none");
  return h("table", { class: "small", "data-field": field }, h("tbody", {}, [...values].map(([key, value]) => h("tr", {}, h("th", {}, key || "—"), h("td", { class: "num" }, String(value))))));
}

/** @param {import("./prometheusText.js").Sample[]} samples */
function metricCards(samples) {
  const cards = [];
  // IB lines in use: one per shared subscription requested at IB, of the kind of line that subscription
  // holds. What IB allows per kind is not exposed by the service, so it is not shown.
  const requestedAtIb = totalsBy(samples, "ibprovider_ib_subscriptions_requested", "kind");
  if (requestedAtIb.size > 0) {
    /** @type {Map<string, number>} */
    const byLine = new Map();
    for (const [kind, n] of requestedAtIb) {
      const line = LINE_OF_KIND[kind];
      if (line !== undefined) byLine.set(line, (byLine.get(line) ?? 0) + n);
    }
    cards.push(
      card(
        "IB lines in use",
        h("p", { class: "big" }, h("span", { "data-field": "lines-total" }, String([...byLine.values()].reduce((a, b) => a + b, 0))), " lines"),
        h("h3", {}, "by kind of line"),
        table(byLine, "lines-by-kind"),
        h("h3", {}, "charged per client"),
        h("p", { class: "muted" }, "A line shared by several clients counts once for each."),
        table(totalsBy(samples, "ibprovider_ib_lines_held", "client"), "lines-by-client"),
      ),
    );
  }
  const subscriptions = totalsBy(samples, "ibprovider_ib_subscriptions", "kind");
  if (subscriptions.size > 0) {
    const requested = totalsBy(samples, "ibprovider_ib_subscriptions_requested", "kind");
    const waiting = totalsBy(samples, "ibprovider_ib_subscriptions_waiting", "kind");
    const consumers = totalsBy(samples, "ibprovider_ib_subscription_consumers", "kind");
    cards.push(
      card(
        "Shared subscriptions",
        h(
          "table",
          { class: "small" },
          h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "open"), h("th", {}, "at IB"), h("th", {}, "waiting"), h("th", {}, "consumers"))),
          h("tbody", {}, [...subscriptions].map(([kind, open]) => h("tr", {}, h("th", {}, kind), ...[open, requested.get(kind), waiting.get(kind), consumers.get(kind)].map((v) => h("td", { class: "num" }, v === undefined ? "—" : String(v)))))),
        ),
      ),
    );
  }
  const budget = total(samples, "ibprovider_ib_historical_budget");
  if (budget !== undefined) {
    const used = total(samples, "ibprovider_ib_historical_budget_used") ?? 0;
    const wait = total(samples, "ibprovider_ib_historical_wait_seconds");
    cards.push(
      card(
        "History pacing (IB: 60 per 10 minutes)",
        facts([
          ["budget used", `${used} / ${budget}`, "history-budget"],
          ["queued", [...totalsBy(samples, "ibprovider_ib_historical_queued", "priority")].map(([p, n]) => `${p} ${n}`).join(", ") || "0"],
          ["in flight", String(total(samples, "ibprovider_ib_historical_in_flight") ?? "—")],
          ["next user request in", wait === undefined ? "—" : wait === 0 ? "now" : formatDuration(wait)],
          ["settling", `${total(samples, "ibprovider_ib_historical_settling_seconds") ?? 0} s`],
        ]),
      ),
    );
  }
  const streams = totalsBy(samples, "ibprovider_active_streams", "kind");
  cards.push(
    card(
      "Open streams",
      h("p", { class: "big" }, h("span", { "data-field": "streams-total" }, String([...streams.values()].reduce((a, b) => a + b, 0))), " streams"),
      h("h3", {}, "by kind"),
      table(streams),
      h("h3", {}, "by client"),
      table(totalsBy(samples, "ibprovider_active_streams", "client")),
      h("h3", {}, "REST streams by framing"),
      table(totalsBy(samples, "ibprovider_http_open_streams", "framing")),
    ),
  );
  const storeBytes = total(samples, "ibprovider_store_size_bytes");
  if (storeBytes !== undefined) {
    cards.push(
      card(
        "Store",
        facts([
          ["file size", formatBytes(storeBytes), "store-size"],
          ...[...totalsBy(samples, "ibprovider_store_rows", "table")].map(([t, n]) => /** @type {[string, string]} */ ([`${t} rows`, String(n)])),
          ["pending writes", String(total(samples, "ibprovider_store_pending_writes") ?? "—")],
          ["failed writes", String(total(samples, "ibprovider_store_failed_writes_total") ?? "—")],
        ]),
      ),
    );
  }
  // Errors as the service counts them: calls that ended with another code than OK, IB history requests
  // that failed, events dropped for slow consumers. Their reasons are in the service's log.
  /** @type {Map<string, number>} */
  const failedCalls = new Map();
  for (const s of samplesOf(samples, "ibprovider_grpc_request_duration_seconds_count")) {
    if (s.labels.code === "OK" || s.value === 0) continue;
    const key = `${(s.labels.method ?? "").replace(/^ibprovider\.v1\./, "")} ${s.labels.code}`;
    failedCalls.set(key, (failedCalls.get(key) ?? 0) + s.value);
  }
  /** @type {Map<string, number>} */
  const failedHistory = new Map();
  for (const s of samplesOf(samples, "ibprovider_ib_history_requests_total", { outcome: "error" })) if (s.value > 0) failedHistory.set(s.labels.kind ?? "", s.value);
  cards.push(
    card(
      "Errors since start",
      h("h3", {}, "failed calls (method, code)"),
      table(failedCalls, "failed-calls"),
      h("h3", {}, "failed IB history requests"),
      table(failedHistory),
      facts([
        ["IB requests dropped", String(total(samples, "ibprovider_ib_outbound_dropped_total") ?? "—")],
        ["stream events dropped", String(total(samples, "ibprovider_stream_events_dropped_total") ?? "—")],
        ["reconnects", String(total(samples, "ibprovider_ib_reconnects_total") ?? "—")],
      ]),
    ),
  );
  return cards;
}
